"""The dossier's HTML in headless Chromium at a phone's width (390 px) and a laptop's (1280 px): the page
never scrolls sideways (document.documentElement.scrollWidth at most the window's width).

The dossier has no script and its Content-Security-Policy forbids one, so the test measures a copy: the
policy removed and one inline script added that measures the page. Headless Chromium will not make a window
narrower than 500 px, so the copy is opened in an iframe exactly `width` px wide inside an outer page (the
iframe is the copy's viewport, so its media queries see 390 px); the copy posts its measurements to the
outer page, which writes them into its title for `--dump-dom` to print. Everything else is the file
`auditor report` wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.render.dossier.conftest import Rendered
from tests.render.dossier.test_hostile_dossier import chromium

MEASURE = """<script>
window.addEventListener("load", () => {
  const root = document.documentElement, wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.ownerSVGElement) continue;  // inside a drawing: the <svg> itself is measured
    const box = el.getBoundingClientRect(), visible = getComputedStyle(el).overflowX == "visible";
    const past = box.right > root.clientWidth + 1 || (visible && box.left + el.scrollWidth > root.clientWidth + 1);
    if (past && !el.closest("figure.diagram")) wide.push(el.tagName + "." + el.className);
  }
  const seen = {
    scroll: root.scrollWidth, client: root.clientWidth, viewport: window.innerWidth, wide: wide.slice(0, 10)
  };
  parent.postMessage(JSON.stringify(seen), "*");
});
</script>"""
OUTER = """<!DOCTYPE html><html><head><title>waiting</title></head><body style="margin:0">
<script>window.addEventListener("message", (event) => { document.title = event.data; });</script>
<iframe src="{src}" width="{width}" height="1500" style="border:0"></iframe></body></html>"""


def measured(html: Path, workdir: Path, width: int) -> dict[str, object]:
    page = html.read_text()
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page, count=1)
    page = page.replace("</body>", MEASURE + "</body>", 1)
    copy = workdir / f"measured-{width}.html"
    copy.write_text(page)
    outer = workdir / f"outer-{width}.html"
    outer.write_text(OUTER.replace("{src}", copy.name).replace("{width}", str(width)))
    dom, _ = chromium(workdir, "--window-size=1400,1600", "--virtual-time-budget=10000", "--dump-dom", outer.as_uri())
    found = re.search(r"<title>(\{.*?\})</title>", dom)
    assert found, dom[:500]
    result: dict[str, object] = json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&"))
    return result


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("which", ["demo_dossier", "wide_dossier"])
def test_the_html_never_scrolls_sideways(
    which: str, width: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    seen = measured(rendered.html, tmp_path, width)
    assert seen["viewport"] == width, seen  # the page is laid out at the width asked for
    assert isinstance(seen["scroll"], int) and isinstance(seen["client"], int), seen
    assert seen["scroll"] <= seen["client"] <= width, seen  # no horizontal scrolling
    assert seen["wide"] == [], seen


def test_the_measurement_sees_a_page_that_scrolls_sideways(demo_dossier: Rendered, tmp_path: Path) -> None:
    """The control: the same dossier with one 600 px box is caught at 390 px."""
    wide = tmp_path / "wide.html"
    wide.write_text(demo_dossier.html.read_text().replace("</body>", '<div style="width:600px">x</div></body>'))
    seen = measured(wide, tmp_path, 390)
    assert isinstance(seen["scroll"], int) and seen["scroll"] > 390 and seen["wide"], seen
