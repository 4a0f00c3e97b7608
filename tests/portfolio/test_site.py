"""`auditor portfolio` through the installed CLI on a real store (site_store.py): the pages, what they
say (waiting sign-offs, expiring waivers, duplicates, reproductions, notes), escaping of hostile run
text, dossiers and their cache, safe regeneration, and bad input."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.portfolio.site.model import project_page
from tests.conftest import ADVISORY_SNAPSHOT, CliRunner
from tests.portfolio.site_store import SiteStore, build, options


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteStore, Path, str]:
    import subprocess

    from tests.conftest import AUDITOR, base_env

    folder = tmp_path_factory.mktemp("site")
    made = build(folder)
    out = folder / "site"
    argv = [str(AUDITOR), "portfolio", *options(made.root, made.waivers, folder), "-o", str(out)]
    done = subprocess.run(argv, cwd=folder, env=base_env(), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return made, out, done.stdout


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(out: Path, page: str) -> str:
    return (out / page).read_text(encoding="utf-8")


def test_every_page_is_written(site: tuple[SiteStore, Path, str]) -> None:
    made, out, stdout = site
    assert stdout.startswith(f"wrote {out / 'index.html'}: 5 projects, 8 runs (8 checked now), 4 waiting for sign-off")
    for page in ("index.html", "datasets.html", "models.html", "reproductions.html", "duplicates.html"):
        assert (out / page).is_file(), page
    for project in made.latest:
        assert (out / project_page(project)).is_file()
    assert len(list((out / "runs").glob("*.html"))) == 8
    assert (out / ".auditor-portfolio.json").is_file()


def test_every_link_stays_inside_the_site(site: tuple[SiteStore, Path, str]) -> None:
    """No page names anything outside the site: every href is relative and exists; no src at all."""
    _, out, _ = site
    for path in out.rglob("*.html"):
        if path.parent.name == "dossiers":
            continue
        tags = Tags(path.read_text(encoding="utf-8")).tags
        policy = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert len(policy) == 1 and str(policy[0]).startswith("default-src 'none'; style-src 'sha256-"), policy
        assert "unsafe" not in str(policy[0])
        for tag, attrs in tags:
            assert "src" not in attrs, (path, tag)
            href = attrs.get("href")
            if href is None or href.startswith("#"):
                continue
            assert not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I) and not href.startswith("//"), (path, href)
            assert (path.parent / href.split("#")[0]).resolve().is_file(), (path, href)


def test_hostile_text_is_escaped_everywhere(site: tuple[SiteStore, Path, str]) -> None:
    made, out, _ = site
    for path in out.rglob("*.html"):
        if path.parent.name == "dossiers":
            continue
        html = path.read_text(encoding="utf-8")
        assert html.count("<script") == 1, path  # the page's own script only
        parsed = Tags(html)
        assert [t for t, _ in parsed.tags if t in ("img", "iframe", "object", "embed")] == [], path
        assert [(t, n) for t, a in parsed.tags for n in a if n.startswith("on")] == [], path
    index = read(out, "index.html")
    assert "&lt;script&gt;document.title=" in index
    assert made.hostile_project in "".join(Tags(index).text)  # shown as text, whole
    notes = read(out, f"runs/{made.noted}.html")
    assert "&lt;img src=http://127.0.0.1:9/i&gt;" in notes
    assert "Agreed: retrain on the new data." in notes


def test_signoffs_waiting_are_the_uncovered_latest_runs(site: tuple[SiteStore, Path, str]) -> None:
    made, out, _ = site
    index = read(out, "index.html")
    section = index.split('id="signoffs"')[1].split("</section>")[0]
    waiting = set(re.findall(r"runs/([0-9A-Z]{26})\.html", section))
    assert waiting == {r for p, r in made.latest.items() if p != "weather"}
    assert made.signed not in waiting
    assert "1 sign-off(s), none for its current record and findings under this policy" in section
    assert "no sign-off yet" in section
    assert "none names both its record's SHA-256 and the digest of its findings" in section


def test_waivers_expiring_soon(site: tuple[SiteStore, Path, str]) -> None:
    _, out, _ = site
    section = read(out, "index.html").split('id="waivers"')[1].split("</section>")[0]
    assert "W-SOON" in section and "expires in 5 day(s)" in section
    assert "W-LATER" not in section
    assert "(2 waivers)" in section


def test_duplicates_datasets_models_reproductions(site: tuple[SiteStore, Path, str]) -> None:
    made, out, _ = site
    duplicates = "".join(Tags(read(out, "duplicates.html")).text)
    assert "churn-emea" in duplicates and "attrition-apac" in duplicates
    assert "weather" not in duplicates  # shares only the public reference data
    datasets = read(out, "datasets.html")
    row = next(r for r in datasets.split("<tr>") if "data/reference.csv" in r)
    for project in ("attrition-apac", "churn-emea", "weather"):
        assert f">{project}</a>" in row
    reproductions = read(out, "reproductions.html")
    assert f"runs/{made.reproduction}.html" in reproductions
    assert "model.pkl" in read(out, "models.html")


def test_dossiers_for_latest_runs_and_how_to_get_the_others(site: tuple[SiteStore, Path, str]) -> None:
    made, out, _ = site
    rendered = {p.stem for p in (out / "dossiers").glob("*.html")}
    assert rendered == set(made.latest.values())
    latest = read(out, f"runs/{made.signed}.html")
    assert f'href="../dossiers/{made.signed}.html"' in latest
    older = read(out, f"runs/{made.older}.html")
    assert "dossiers/" not in older
    assert f"auditor report {made.older} -o DIR" in older
    dossier = (
        read(out, f"dossiers/{made.noted}.html")
        if made.noted in rendered
        else read(out, f"dossiers/{made.signed}.html")
    )
    assert "Audit dossier" in dossier


def test_regeneration_reuses_dossiers_and_swaps_the_site(site: tuple[SiteStore, Path, str], cli: CliRunner) -> None:
    made, out, _ = site
    folder = out.parent
    stray = out / "runs" / "stray.html"
    stray.write_text("left from before", encoding="utf-8")
    done = cli("portfolio", *options(made.root, made.waivers, folder), "-o", str(out), cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "8 runs (0 checked now)" in done.stdout  # the run index kept every check
    assert "0 dossiers rendered, 5 reused" in done.stdout
    assert not stray.exists()  # the old site was replaced whole, not written over
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".site")) == []


def test_refuses_a_folder_that_is_not_a_portfolio(tmp_path: Path, cli: CliRunner) -> None:
    made = build(tmp_path)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    done = cli("portfolio", *options(made.root, made.waivers, tmp_path), "-o", str(foreign), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "not empty and not a portfolio auditor wrote" in done.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    done = cli("portfolio", *options(made.root, made.waivers, tmp_path), "-o", str(a_file), cwd=tmp_path)
    assert done.returncode == 2 and "not a folder" in done.stderr
    assert a_file.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dossiers", "some"], "--dossiers: 'some' is not one of latest, all, none"),
        (["--policy", "no-such-pack"], "no-such-pack"),
        (["--fail-on", "nasty"], "--fail-on: 'nasty' is not one of"),
        (["--waivers", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, cli: CliRunner, args: list[str], message: str) -> None:
    store = tmp_path / "store"
    from auditor.store.runs import RunStore

    RunStore.create(store)
    done = cli("portfolio", "--store", str(store), "-o", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "out").exists()


def test_an_empty_store_gives_a_site_that_says_so(tmp_path: Path, cli: CliRunner) -> None:
    from auditor.store.runs import RunStore

    RunStore.create(tmp_path / "store")
    args = ["--store", str(tmp_path / "store"), "--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT)]
    done = cli("portfolio", *args, "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 projects, 0 runs" in done.stdout
    index = read(tmp_path / "out", "index.html")
    assert "This store holds no runs yet: nothing to show." in index


def test_pages_are_plain_words(site: tuple[SiteStore, Path, str]) -> None:
    """No Python value leaks into what a reader reads (None, reprs, empty containers)."""
    _, out, _ = site
    for path in out.rglob("*.html"):
        if path.parent.name == "dossiers":
            continue
        words = " ".join("".join(Tags(path.read_text(encoding="utf-8")).text).split()).split("(function ()")[0]
        for leak in (r"\bNone\b", r"\bTrue\b", r"\bFalse\b", r"\(\)", r"\[\]", r"\{\}", r"Missing\(", r"datetime\."):
            found = re.search(leak, words)
            assert found is None, (path, words[max(0, found.start() - 200) : found.end() + 50])


@pytest.mark.parametrize("rel", ["../escaped.html", "runs/../../escaped.html", "/etc/escaped.html", "runs/a b.html"])
def test_a_page_path_that_climbs_out_is_refused_and_nothing_is_left(tmp_path: Path, rel: str) -> None:
    from auditor.errors import UsageError
    from auditor.portfolio.site.write import write_site

    out = tmp_path / "site"
    with pytest.raises(UsageError, match="not a plain path inside the site"):
        write_site(out, [("index.html", b"ok"), (rel, b"bad")])
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no site, no staging folder, nothing outside
