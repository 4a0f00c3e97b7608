"""The dossier's print layout, read back from the PDF with poppler's `pdftotext -bbox-layout`: every word
inside the page's content box, no heading that is the last text on its page, no page left mostly empty
where the next section could have used it, and lineage labels at least 7 pt at their printed scale.

The page geometry is the print stylesheet's: A4, 20 mm top and bottom and 16 mm side margins. Only the
running header and footer (title, run id, "Page N of M", "auditor dossier") may sit in the margins.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.record.lineage import Dataset, Datasheet, ModelArtifact, Step
from auditor.render.dossier.diagram import LABEL_PT, MIN_LABEL_PT, PAGE_PT, lineage_figure
from tests.render.dossier.conftest import Rendered
from tests.render.dossier.test_diagram import make_lineage, pipeline

MM = 72 / 25.4
SIDE, TOP_BOTTOM = 16 * MM, 20 * MM
EPSILON = 1.0  # pt: glyph boxes may overhang their advance a little
XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[float, float, float, float]  # xMin, yMin, xMax, yMax in pt, from the page's top left


@dataclass(frozen=True)
class Page:
    number: int
    width: float
    height: float
    lines: list[list[Word]]  # in poppler's reading order

    @property
    def body(self) -> list[list[Word]]:
        """Lines inside the top and bottom margins: the page's content, without header and footer."""
        return [line for line in self.lines if TOP_BOTTOM - EPSILON <= line[0].box[1] <= self.height - TOP_BOTTOM]


def pages(pdf: Path) -> list[Page]:
    out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True, timeout=120)
    root = ET.fromstring(out.stdout)  # noqa: S314 - poppler's output for a PDF this test made
    found = []
    for number, page in enumerate(root.iter(f"{XHTML}page"), start=1):
        lines = []
        for line in page.iter(f"{XHTML}line"):
            words = [
                Word(w.text or "", tuple(float(w.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax")))  # type: ignore[arg-type]
                for w in line.iter(f"{XHTML}word")
            ]
            if words:
                lines.append(words)
        lines.sort(key=lambda line: (round(line[0].box[1]), line[0].box[0]))
        found.append(Page(number, float(page.get("width", "0")), float(page.get("height", "0")), lines))
    return found


def margin_words(rendered: Rendered, page: Page, total: int) -> set[str]:
    """The words the running header and footer may put in the margins of this page."""
    title = subprocess.run(["pdfinfo", str(rendered.pdf)], capture_output=True, text=True, check=True, timeout=60)
    found = re.search(r"^Title:\s+(.*)$", title.stdout, re.MULTILINE)
    words = set(found[1].split()) if found else set()
    return words | {"Run", rendered.run_id, "Page", str(page.number), "of", str(total), "auditor", "dossier"}


def headings(html: Path) -> set[str]:
    text = html.read_text()
    return {
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(r"<h[123]\b[^>]*>(.*?)</h[123]>", text, re.DOTALL)
    }


@pytest.mark.parametrize("which", ["demo_dossier", "wide_dossier"])
def test_every_word_lies_inside_the_content_box(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    found = pages(rendered.pdf)
    outside = []
    for page in found:
        allowed = margin_words(rendered, page, len(found))
        left, right = SIDE - EPSILON, page.width - SIDE + EPSILON
        body = {id(line) for line in page.body}
        for line in page.lines:
            for word in line:
                x0, _, x1, _ = word.box
                if x0 < left or x1 > right:
                    outside.append((page.number, word.text[:40], round(x0, 1), round(x1, 1)))
                elif id(line) not in body and word.text not in allowed:
                    outside.append((page.number, word.text[:40], "in the top or bottom margin"))
    assert not outside, outside[:60]


@pytest.mark.parametrize("which", ["demo_dossier", "wide_dossier"])
def test_no_heading_is_the_last_text_on_its_page(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    titles = headings(rendered.html)
    found = pages(rendered.pdf)
    orphans = []
    for page in found[:-1]:
        body = page.body
        tail = [" ".join(w.text for w in line) for line in body[-2:]]
        # A heading that wrapped onto two lines ends the page as both of them.
        if (tail and tail[-1] in titles) or (len(tail) == 2 and " ".join(tail) in titles):
            orphans.append((page.number, tail[-1]))
    assert not orphans, orphans


@pytest.mark.parametrize("which", ["demo_dossier", "wide_dossier"])
def test_sections_flow_without_mostly_empty_pages(which: str, request: pytest.FixtureRequest) -> None:
    """Only the first page (cover and contents, which ends with a forced break) and the last may be short;
    every other page is at least 40 % filled, so no section starts on a fresh page leaving one half empty."""
    rendered: Rendered = request.getfixturevalue(which)
    found = pages(rendered.pdf)
    short = []
    for page in found[1:-1]:
        body = page.body
        used = (body[-1][0].box[3] - TOP_BOTTOM) / (page.height - 2 * TOP_BOTTOM) if body else 0.0
        if used < 0.4:
            short.append((page.number, round(used, 2)))
    assert not short, short
    assert len(found) <= 20, f"the demo-like dossier has {len(found)} pages"


# --- the lineage diagram: sizes from the SVG geometry, which hold whatever fonts dot measured with ---


def printed_svgs(markup: str) -> list[ET.Element]:
    root = ET.fromstring(f"<figure>{markup}</figure>")  # noqa: S314 - auditor's own SVG
    return [svg for svg in root if svg.tag.endswith("svg")]


def label_scale(svg: ET.Element) -> float:
    """Printed pt per SVG unit: the printed width over the viewBox width (and the same for heights)."""
    _, _, width, height = (float(v) for v in (svg.get("viewBox") or "").split())
    printed_w = float((svg.get("width") or "").removesuffix("pt"))
    printed_h = float((svg.get("height") or "").removesuffix("pt"))
    assert abs(printed_w / width - printed_h / height) < 0.02, "the aspect ratio is kept"
    return printed_w / width


def big_lineage() -> object:
    """The benchmark's 200-node lineage (benchmarks/dossier_speed.py): 40 steps, 100 datasets, 5 models."""
    from benchmarks.dossier_speed import big_record

    return big_record().lineage


@pytest.mark.parametrize("lineage", [pipeline, big_lineage], ids=["pipeline", "benchmark-200-nodes"])
def test_lineage_labels_print_at_7_pt_or_more_and_fit_the_page(lineage: object) -> None:
    made = lineage()  # type: ignore[operator]
    svgs = printed_svgs(lineage_figure(made))
    assert svgs[0].get("data-part") == "legend" and len(svgs) >= 2
    for svg in svgs:
        scale = label_scale(svg)
        sizes = {float(t.get("font-size", LABEL_PT)) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
        assert sizes and min(sizes) * scale >= MIN_LABEL_PT - 0.01, (svg.find("{*}title"), scale, sizes)
        assert float((svg.get("width") or "").removesuffix("pt")) <= PAGE_PT[0] + 0.1
        assert float((svg.get("height") or "").removesuffix("pt")) <= PAGE_PT[1] + 0.1
        title = svg.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and title.text and len(title.text) > 20, "each drawing has alternate text"


def test_a_large_lineage_is_split_by_step_and_every_step_is_drawn() -> None:
    made = big_lineage()
    svgs = printed_svgs(lineage_figure(made))  # type: ignore[arg-type]
    titles = [svg.find("{http://www.w3.org/2000/svg}title").text or "" for svg in svgs[1:]]  # type: ignore[union-attr]
    assert len(titles) > 1 and all(re.match(rf"Data lineage, part {i} of {len(titles)}: ", t) for i, t in
                                    enumerate(titles, start=1)), titles  # fmt: skip
    drawn = " ".join(titles)
    for i in range(40):
        assert re.search(rf"\bstep-{i}\b", drawn), f"step-{i} is in no part"


def test_dataset_and_model_nodes_show_a_short_content_hash() -> None:

    lineage = make_lineage(
        (Dataset(id="raw", role="input", path="data/raw.csv", datasheet=Datasheet()),),
        (Step(name="train", command="python train.py", inputs=("raw",), outputs=("model",)),),
        (ModelArtifact(id="model", path="model.bin"),),
    )
    graph = dict(lineage.graph)
    graph["nodes"] = [
        {**node, "sha256": "ab" * 32} if node.get("kind") in ("dataset", "model") else node for node in graph["nodes"]
    ]
    svg = lineage_figure(lineage.model_copy(update={"graph": graph}))
    assert svg.count("sha256 " + "ab" * 6 + "<") == 2 and "ab" * 7 not in svg
