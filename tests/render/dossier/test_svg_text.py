"""SVG labels drawn a line at a time (auditor.render.dossier.svg_text): the same words in the same places
as WeasyPrint's letter-by-letter path, read back from the PDF with poppler; WeasyPrint is left as it was."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import weasyprint.svg as weasy_svg
from weasyprint import HTML

from auditor.render.dossier.pdf import render_pdf

# 200 x 100 pt, 1 pt a unit, at the page's top-left margin corner (zero margins).
SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="100pt" viewBox="0 0 200 100">
<title>Labels</title>
<text x="100" y="20" text-anchor="middle" font-family="Helvetica,Arial,sans-serif" font-size="10">centred-label</text>
<text x="190" y="40" text-anchor="end" font-size="10">right-label</text>
<text x="10" y="60" font-size="10">left-label</text>
<text x="10" y="80" font-size="10">mixed <tspan font-weight="bold">bold</tspan> tail</text>
</svg>"""
STYLE = "@page { size: 300pt 200pt; margin: 0 } body { margin: 0 }"
PAGE = f"<html><head><style>{STYLE}</style></head><body>{SVG}</body></html>"


def words(pdf: Path) -> dict[str, tuple[float, float]]:
    """Each word's left and right edge, in pt, as poppler reads them."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)</word>', out)
    return {word: (float(left), float(right)) for left, right, word in found}


def test_labels_keep_their_words_and_anchors(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.pdf", tmp_path / "theirs.pdf"
    ours.write_bytes(render_pdf(PAGE).data)
    theirs.write_bytes(HTML(string=PAGE).write_pdf())  # WeasyPrint's own letter-by-letter path: the oracle
    found, expected = words(ours), words(theirs)
    assert set(found) == set(expected) == {"centred-label", "right-label", "left-label", "mixed", "bold", "tail"}
    for word, (left, right) in expected.items():
        assert abs(found[word][0] - left) < 1.5 and abs(found[word][1] - right) < 1.5, (word, found[word], left, right)
    assert abs(sum(found["centred-label"]) / 2 - 100) < 1.5  # text-anchor middle: centred on x=100
    assert abs(found["right-label"][1] - 190) < 1.5  # text-anchor end: ends at x=190
    assert abs(found["left-label"][0] - 10) < 1.5  # start: from x=10


def test_weasyprint_is_left_as_it_was() -> None:
    before = (weasy_svg.text, dict(weasy_svg.TAGS), weasy_svg.SVG.draw_node)
    render_pdf(PAGE)
    assert (weasy_svg.text, dict(weasy_svg.TAGS), weasy_svg.SVG.draw_node) == before
