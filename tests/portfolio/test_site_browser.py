"""The portfolio site as a reader's browser shows it: headless Chromium (as the dossier's hostile test
runs it) with JavaScript on and off, a loopback server counting every request the hostile run text
tries to make, the console read for errors and CSP violations, and screenshots (looked at by hand
when this was written: overview, a project, a run with its discussion, duplicates)."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from auditor.portfolio.site.model import project_page
from tests.conftest import AUDITOR, base_env
from tests.portfolio.site_store import SiteStore, build, options
from tests.portfolio.test_site import Tags
from tests.render.dossier.test_hostile_dossier import chromium, console_lines


def without_script(page: Path, workdir: Path) -> Path:
    """A copy of `page`, beside it (so its links hold), whose CSP lets no script run: what a reader with
    JavaScript off gets. (Chromium's --blink-settings=scriptEnabled=false also stops --dump-dom.)"""
    html = page.read_text(encoding="utf-8")
    blocked = re.sub(r"script-src &#39;sha256-[^&]+&#39;", "script-src &#39;none&#39;", html)
    assert blocked != html
    copy = page.with_name(f"noscript-{page.name}")
    copy.write_text(blocked, encoding="utf-8")
    return copy


class Counter(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        type(self).seen.append(f"GET {self.path}")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Site:
    made: SiteStore
    out: Path
    seen: list[str]
    workdir: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    handler = type("Handler", (Counter,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        folder = tmp_path_factory.mktemp("browser")
        made = build(folder, port=server.server_address[1])
        out = folder / "site"
        argv = [str(AUDITOR), "portfolio", *options(made.root, made.waivers, folder), "-o", str(out)]
        done = subprocess.run(
            argv, cwd=folder, env=base_env(), capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        yield Site(made, out, handler.seen, tmp_path_factory.mktemp("chromium"))
    finally:
        server.shutdown()


def rows(dom: str, table: str) -> list[str]:
    """The text of each row of the table whose data-search is `table`, in DOM order, hidden ones marked."""
    body = dom.split(f'data-search="{table}"', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr( hidden(?:=\"\")?)?>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row[1])).strip()
        found.append(("HIDDEN " if row[0] else "") + text)
    return found


def test_with_javascript_the_script_runs_and_adds_search_and_sorting(site: Site) -> None:
    dom, stderr = chromium(
        site.workdir, "--enable-logging=stderr", "--v=0", "--dump-dom", (site.out / "index.html").as_uri()
    )
    assert 'data-script="ran"' in dom
    assert dom.count('type="search"') == 3  # the projects, sign-offs and waivers tables
    assert 'class="sort"' in dom
    assert console_lines(stderr) == []


def test_without_javascript_every_table_is_complete(site: Site) -> None:
    index = without_script(site.out / "index.html", site.workdir)
    dom, stderr = chromium(site.workdir, "--enable-logging=stderr", "--v=0", "--dump-dom", index.as_uri())
    assert 'data-script="ran"' not in dom
    assert 'type="search"' not in dom
    projects = rows(dom, "projects")
    assert len(projects) == 5 and not any(r.startswith("HIDDEN") for r in projects)
    assert len(rows(dom, "signoffs")) == 4
    run = without_script(site.out / "runs" / f"{site.made.noted}.html", site.workdir)
    dom, _ = chromium(site.workdir, "--dump-dom", run.as_uri())
    assert "Agreed: retrain on the new data." in dom and 'data-script="ran"' not in dom
    # The only console line is the browser refusing the script (the CSP at work), nothing else.
    assert [line for line in console_lines(stderr) if "Content Security Policy" not in line] == []
    assert len(console_lines(stderr)) == 1


def test_search_from_the_link_filters_rows(site: Site) -> None:
    url = (site.out / "index.html").as_uri() + "#q=alice"
    dom, stderr = chromium(site.workdir, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    projects = rows(dom, "projects")
    shown = [r for r in projects if not r.startswith("HIDDEN")]
    assert len(projects) == 5 and len(shown) == 1 and shown[0].startswith("credit-scoring")
    assert "1 of 5 rows" in dom
    assert console_lines(stderr) == []


def test_sorting_from_the_link_orders_rows(site: Site) -> None:
    """#sort=-2: the projects table by its third column (runs), most first; ties keep their order."""
    url = (site.out / "index.html").as_uri() + "#sort=-2"
    dom, _ = chromium(site.workdir, "--dump-dom", url)
    first = [r.split(" ")[0] for r in rows(dom, "projects")]
    assert first[:2] == ["credit-scoring", "weather"]
    assert 'aria-sort="descending"' in dom
    url = (site.out / "index.html").as_uri() + "#sort=-0"  # by name, descending (the page lists them ascending)
    dom, _ = chromium(site.workdir, "--dump-dom", url)
    names = [r.split(" ")[0] for r in rows(dom, "projects")]
    assert names[:4] == ["weather", "credit-scoring", "churn-emea", "attrition-apac"]
    assert names[4].startswith("&lt;script&gt;")


def test_hostile_run_text_runs_nothing_and_loads_nothing(site: Site) -> None:
    pages = [
        site.out / "index.html",
        site.out / project_page(site.made.hostile_project),
        site.out / "runs" / f"{site.made.noted}.html",
        site.out / "datasets.html",
        site.out / "models.html",
        site.out / "dossiers" / f"{site.made.latest[site.made.hostile_project]}.html",
    ]
    before = len(site.seen)
    for page in pages:
        dom, stderr = chromium(site.workdir, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
        parsed = Tags(dom)
        title = re.findall(r"<title>(.*?)</title>", dom)[0]
        assert title != "pwned" and (title.endswith("auditor portfolio") or title.startswith("Audit dossier")), page
        assert [t for t, _ in parsed.tags if t in ("img", "iframe", "object", "embed")] == [], page
        assert "document.title='pwned'" in "".join(parsed.text), page  # shown, as text
        assert console_lines(stderr) == [], (page, console_lines(stderr))
    assert site.seen[before:] == []


@pytest.mark.parametrize("page", ["index", "project", "run", "duplicates"])
def test_screenshots_show_the_pages(site: Site, page: str) -> None:
    target = {
        "index": site.out / "index.html",
        "project": site.out / project_page("credit-scoring"),
        "run": site.out / "runs" / f"{site.made.noted}.html",
        "duplicates": site.out / "duplicates.html",
    }[page]
    shot = site.workdir / f"{page}.png"
    _, stderr = chromium(
        site.workdir,
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        target.as_uri(),
    )
    assert console_lines(stderr) == []
    with Image.open(shot) as image:
        assert image.size == (1280, 1600)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    assert len(colours) > 200  # text, tables, charts: a blank or unstyled page has far fewer
