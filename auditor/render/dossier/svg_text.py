"""SVG labels laid out and drawn a line at a time while WeasyPrint renders a dossier.

WeasyPrint 70 draws every SVG `<text>` letter by letter: one Pango layout and one PDF text object per
character, so that per-glyph `x`/`dx`/`rotate` lists can place each one. Graphviz writes every label as a
`<text>` with one `x` and one `y` and nothing per glyph; an 800-node lineage has about 2,000 of them, and
laying them out letter by letter was about a third of that dossier's PDF CPU. `fast_svg_text` lays such a
label out once and draws it as one line, with the same font, size, weight, fill, baseline and anchor (the
glyphs keep the font's own spacing, kerning included, where the letter-by-letter path summed each glyph's
advance). Anything else (position lists, `textLength`, letter spacing, tspans, text paths, links) goes to
WeasyPrint's own function unchanged.

`fast_svg_text()` swaps the function in for one rendering only and puts WeasyPrint's back afterwards.
Only the WeasyPrint 70 series, whose internals this follows, gets it (pyproject pins `weasyprint>=70,<71`);
on any other version the context manager changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from math import inf
from typing import Any

import weasyprint
import weasyprint.svg as weasy_svg
from weasyprint.css.properties import INITIAL_VALUES
from weasyprint.draw.text import draw_emojis, draw_first_line
from weasyprint.matrix import Matrix
from weasyprint.svg.bounding_box import extend_bounding_box
from weasyprint.svg.text import Style, TextBox
from weasyprint.svg.utils import normalize, size
from weasyprint.text.line_break import split_first_line

# Attributes that place, space or stretch glyphs one by one: a label with any of them is WeasyPrint's to draw.
_PER_GLYPH = ("dx", "dy", "rotate", "textLength", "letter-spacing", "lengthAdjust", "direction")
_TEXT_TAGS = ("text", "tspan", "textPath", "a")
# Where a plain label's own anchor is kept once WeasyPrint is told it starts at x (see `_anchored`).
_ANCHOR = "data-auditor-anchor"


def _simple(node: Any) -> bool:
    """A lone `<text>` with at most one x and one y: what Graphviz writes for every label line."""
    if node.tag != "text" or len(node._etree_node) or not node.text:  # its sub-elements: tspans, links
        return False
    attrib = node.attrib
    if any(name in attrib for name in _PER_GLYPH):
        return False
    return all(" " not in normalize(attrib.get(axis)) for axis in ("x", "y"))


def _style(svg: Any, node: Any, font_size: float) -> Style:
    """The label's text style, built as WeasyPrint's own `text` builds it."""
    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    if weight == "normal":
        weight = 400
    elif weight == "bold":
        weight = 700
    else:
        try:
            weight = int(weight)
        except ValueError:
            weight = 400
    style["font_weight"] = weight
    style["font_size"] = font_size
    return style


def _y_align(node: Any, font_size: float, height: float) -> float:
    """WeasyPrint's vertical alignment of a text box (its own approximations kept, for the same look)."""
    ascent, descent = font_size * 0.8, font_size * 0.2
    display_anchor = node.get("display-anchor")
    baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if display_anchor == "middle":
        return -height / 2
    if display_anchor == "top":
        return 0.0
    if display_anchor == "bottom":
        return -height
    if baseline in ("central", "middle"):
        return (ascent + descent) / 2 - descent
    if baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        return ascent
    if baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        return -descent
    return 0.0


def _line_text(original: Any) -> Any:
    def text(svg: Any, node: Any, font_size: float) -> None:
        if not _simple(node):
            original(svg, node, font_size)
            return
        style = _style(svg, node, font_size)
        layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)
        x = size(node.attrib["x"], font_size, svg.inner_width) if "x" in node.attrib else svg.cursor_position[0]
        y = size(node.attrib["y"], font_size, svg.inner_height) if "y" in node.attrib else svg.cursor_position[1]
        if "x" in node.attrib:
            svg.cursor_d_position[0] = 0
        if "y" in node.attrib:
            svg.cursor_d_position[1] = 0
        svg.cursor_position = x + width, y
        shift = {"middle": width / 2, "end": width}.get(node.attrib.get(_ANCHOR, ""), 0.0)
        x_position = x + svg.cursor_d_position[0] - shift
        y_position = y + svg.cursor_d_position[1] + _y_align(node, font_size, height)
        points = ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height))
        node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

        svg.stream.push_state()
        fill, stroke = svg.set_graphical_state(node, font_size)
        svg.stream.begin_text()
        layout.reactivate(style)
        svg.fill_stroke(fill, stroke, text=True)
        box = TextBox(layout, style)
        box.baseline = baseline
        emojis = draw_first_line(svg.stream, box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
        svg.stream.end_text()
        svg.stream.pop_state()
        draw_emojis(svg.stream, style, x - shift, y, emojis)

    return text


def _anchored(original: Any) -> Any:
    """WeasyPrint centres (or right-aligns) a text by drawing it into a PDF group of its own and moving the
    group once its width is known: one more PDF object per label. A plain label's width is known before it
    is drawn, so it is drawn where it belongs; WeasyPrint is told it starts at x."""

    def draw_node(self: Any, node: Any, font_size: float, fill_stroke: bool = True, context: Any = None) -> Any:
        anchor = node.get("text-anchor")
        if anchor in ("middle", "end") and node.get("direction", "ltr") == "ltr" and _simple(node):
            node.attrib[_ANCHOR] = anchor
            node.attrib["text-anchor"] = "start"
        return original(self, node, font_size, fill_stroke, context)

    return draw_node


@contextmanager
def fast_svg_text() -> Iterator[None]:
    """Within the block, WeasyPrint draws simple SVG labels a line at a time (see the module's docstring)."""
    if not weasyprint.__version__.startswith("70."):
        yield
        return
    original = weasy_svg.text
    faster = _line_text(original)
    tags = weasy_svg.TAGS
    swapped = [tag for tag in _TEXT_TAGS if tags.get(tag) is original]
    draw_node = weasy_svg.SVG.draw_node
    weasy_svg.text = faster  # draw_node tells text nodes apart by comparing with this name
    for tag in swapped:
        tags[tag] = faster
    weasy_svg.SVG.draw_node = _anchored(draw_node)
    try:
        yield
    finally:
        weasy_svg.SVG.draw_node = draw_node
        weasy_svg.text = original
        for tag in swapped:
            tags[tag] = original
