"""The diff page with hostile run text: escaped by Jinja2's autoescape, inert in headless Chromium
(no request, no script, no console message), and readable (a screenshot is kept and looked at)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from auditor.record.lineage import ProjectInfo
from auditor.record.models import Distribution, Packages
from tests.conftest import ADVISORY_SNAPSHOT, AUDITOR, CliRunner, base_env
from tests.portfolio.diff_records import base, commit, lineage
from tests.render.dossier.test_hostile_dossier import (
    BIDI_CONTROLS,
    FORBIDDEN_TAGS,
    RAW_CONTROLS,
    Page,
    Server,
    chromium,
    console_lines,
    csp_directives,
    server,  # noqa: F401  (the loopback server fixture)
)

A = "01JGZ0000000000000000000BA"
B = "01JGZ0000000000000000000BB"


def hostile(port: int, tag: str) -> str:
    base_url = f"http://127.0.0.1:{port}"
    return (
        f"<script>document.title='pwned';fetch('{base_url}/script/{tag}')</script>"
        f'" onmouseover="alert(1)<img src={base_url}/img/{tag}>\u202eevil\x1b[31m'
    )


@dataclass(frozen=True)
class Diff:
    html: str
    path: Path
    port: int
    store: Path


@pytest.fixture(scope="module")
def diff_page(cli_module: CliRunner, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Diff:  # noqa: F811
    root = tmp_path_factory.mktemp("diffhtml")
    a = base(A)
    evil = lineage(dataset_id=hostile(server.port, "dataset"))
    project = ProjectInfo(name="demo", owner=hostile(server.port, "owner"), intended_use=hostile(server.port, "use"))
    packages = Packages(
        distributions=(
            a.environment.packages.distributions[0].model_copy(update={"version": hostile(server.port, "version")}),  # type: ignore[union-attr]
            Distribution(
                name="evil-pkg",
                version="1.0",
                installer=None,
                requested=None,
                install_kind="index",
                location="/x",
            ),
        )
    )
    b = base(
        B,
        lineage=evil.model_copy(update={"project": project}),
        params={hostile(server.port, "param"): hostile(server.port, "value"), "C": 1.0},
        environment=a.environment.model_copy(update={"packages": packages}),
    )
    commit(root / "store", [a, b])
    out = root / "diff.html"
    done = cli_module(
        "diff", A, B, "--store", str(root / "store"), "--format", "html", "-o", str(out),
        "--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT), cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Diff(out.read_text(encoding="utf-8"), out, server.port, root / "store")


@pytest.fixture(scope="module")
def cli_module() -> CliRunner:
    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AUDITOR), *args], cwd=cwd, env=base_env(), capture_output=True, text=True, timeout=120, check=False
        )

    return run


def test_the_page_escapes_every_hostile_value(diff_page: Diff) -> None:
    page = Page(diff_page.html)
    assert {tag for tag, _ in page.starts} & FORBIDDEN_TAGS == set()
    assert [(t, n) for t, n, _ in page.attributes if n.startswith("on")] == []
    assert not [a for _, n, a in page.attributes if n in ("href", "src")]
    for tag in ("dataset", "use", "param", "value", "version"):
        assert f"<script>document.title='pwned';fetch('http://127.0.0.1:{diff_page.port}/script/{tag}')</script>" in (
            page.text
        ), tag
    assert "&lt;script&gt;" in diff_page.html
    assert not BIDI_CONTROLS.search(diff_page.html) and not RAW_CONTROLS.search(diff_page.html)
    assert "\ufffdevil" in page.text  # the bidi override shown as a replacement character
    meta = page.tags("meta")[1]
    assert meta["http-equiv"] == "Content-Security-Policy"
    directives = csp_directives(meta["content"] or "")
    assert directives["default-src"] == ["'none'"] and "script-src" not in directives


def test_the_page_names_the_planted_changes(diff_page: Diff) -> None:
    text = " ".join(Page(diff_page.html).text.split())
    assert "Project and intended use: changed" in text
    assert "intended purpose indicated" in text
    assert "+ added package evil-pkg" in text
    assert "Hardware: same" in text


def test_chromium_shows_it_with_no_request_and_no_console_message(
    diff_page: Diff,
    server: Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = len(server.seen())
    dom, dom_err = chromium(tmp_path, "--dump-dom", diff_page.path.as_uri())
    shot = tmp_path / "diff.png"
    _, shot_err = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", diff_page.path.as_uri())
    assert server.seen()[before:] == []
    assert console_lines(dom_err) == [] and console_lines(shot_err) == []
    seen = Page(dom)
    assert seen.title is not None and seen.title.startswith("auditor diff ")  # not 'pwned': no script ran
    assert {tag for tag, _ in seen.starts} & FORBIDDEN_TAGS == set()
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    assert len(colours) > 200  # text and coloured states, not a blank page
    if os.environ.get("AUDITOR_KEEP_SCREENSHOTS"):  # a folder, to look at the page after the run
        shutil.copy(shot, Path(os.environ["AUDITOR_KEEP_SCREENSHOTS"]) / "diff-hostile.png")


def test_the_terminal_text_shows_control_and_bidi_characters_as_escapes(diff_page: Diff, cli_module: CliRunner) -> None:
    done = cli_module(
        "diff", A, B, "--store", str(diff_page.store), "--vuln-source", "local", "--advisory-db",
        str(ADVISORY_SNAPSHOT), cwd=diff_page.store.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert RAW_CONTROLS.search(done.stdout.replace("\n", "")) is None
    assert "evil" in done.stdout and "+ added: param <script>" in done.stdout
