"""The lineage page in headless Chromium: hostile run names stay text, nothing is requested, no console line."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.conftest import CliRunner
from tests.portfolio.xrun_records import Run, store_of
from tests.render.dossier.test_hostile_dossier import Server, chromium, console_lines, server  # noqa: F401


def test_lineage_page_in_chromium(cli: CliRunner, server: Server, tmp_path: Path) -> None:  # noqa: F811
    base = f"http://127.0.0.1:{server.port}"
    hostile = f"<script>document.title='pwned';fetch('{base}/s')</script><img src={base}/img>"
    runs = [
        Run("01JGZ000000000000000000A01", hostile, hostile, outputs=((f"{hostile}.csv", "features"),)),
        Run("01JGZ000000000000000000B01", "train", inputs=(("features.csv", "features"),), day=1),
        Run("01JGZ000000000000000000B02", "train", inputs=(("features.csv", "features"),), day=2,
            reproduces="01JGZ000000000000000000B01"),
    ]  # fmt: skip
    store_of(tmp_path / "store", runs)
    page = tmp_path / "lineage.html"
    done = cli("lineage", "--store", str(tmp_path / "store"), "--format", "html", "-o", str(page), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;document.title=" in html
    before = len(server.seen())
    dom, dom_stderr = chromium(tmp_path, "--dump-dom", page.as_uri())
    shot = tmp_path / "shot.png"
    _, shot_stderr = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri())
    assert server.seen()[before:] == []
    assert console_lines(dom_stderr) == [] and console_lines(shot_stderr) == []
    assert "<title>Cross-run lineage</title>" in dom  # not 'pwned': no script ran
    assert f"{hostile}.csv" not in dom and "&lt;script&gt;document.title='pwned'" in dom
    assert dom.count("<svg") == 1 and "is a reproduction (a re-execution) of" in dom
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 1600)
    assert len(data) > 30_000  # a page with a drawing, not a blank one
