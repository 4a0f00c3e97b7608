"""Small SVG charts of the model card: the ROC curve, the calibration curve and a residual plot.

House style of chart.py: xml.etree (every text escaped), Okabe-Ito colours, labels in words as well as
colour, a <title> and <desc> for screen readers. 300 x 260 px each, so two sit side by side on an A4
page at full size; no text is smaller than 10 px (7.5 pt in print).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from auditor.record.model_card import CalibrationBin
from auditor.render.dossier.diagram import FONT, SVG_NS

WIDTH, HEIGHT = 300, 216
LEFT, RIGHT, TOP, BOTTOM = 46, 288, 24, 170  # the plot area
BLUE, GREY, ORANGE = "#0072B2", "#7F7F7F", "#E69F00"
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def roc_svg(points: Sequence[tuple[float, float]], auc: float | None) -> str:
    title = "ROC curve" + (f" (AUC {auc:.3f})" if auc is not None else "")
    root, plot = _frame(title, "false positive rate", "true positive rate", (0.0, 1.0), (0.0, 1.0))
    _line(plot, [(0.0, 0.0), (1.0, 1.0)], (0.0, 1.0), (0.0, 1.0), GREY, dashed=True)
    _line(plot, points, (0.0, 1.0), (0.0, 1.0), BLUE)
    _legend(root, [("model", BLUE, False), ("chance", GREY, True)])
    shown = ", ".join(f"({x:.2f}, {y:.2f})" for x, y in points[:: max(1, len(points) // 10)])
    _describe(root, title, f"{title}. {len(points)} points of (false positive rate, true positive rate), e.g. {shown}.")
    return ET.tostring(root, encoding="unicode")


def calibration_svg(bins: Sequence[CalibrationBin]) -> str:
    title = "Calibration (10 bins)"
    root, plot = _frame(title, "mean predicted probability", "observed rate", (0.0, 1.0), (0.0, 1.0))
    _line(plot, [(0.0, 0.0), (1.0, 1.0)], (0.0, 1.0), (0.0, 1.0), GREY, dashed=True)
    points = [(b.mean_predicted, b.observed_rate) for b in bins]
    _line(plot, points, (0.0, 1.0), (0.0, 1.0), ORANGE, dots=True)
    _legend(root, [("model", ORANGE, False), ("perfectly calibrated", GREY, True)])
    shown = "; ".join(
        f"{b.low:.1f}-{b.high:.1f}: predicted {b.mean_predicted:.2f}, observed {b.observed_rate:.2f}, n={b.count}"
        for b in bins
    )
    _describe(root, title, f"Calibration curve by bin of predicted probability: {shown}.")
    return ET.tostring(root, encoding="unicode")


def residual_svg(points: Sequence[tuple[float, float]]) -> str:
    title = "Residuals"
    xs = [x for x, _ in points] or [0.0, 1.0]
    ys = [y for _, y in points] or [-1.0, 1.0]
    span_y = max(abs(min(ys)), abs(max(ys)), 1e-12)
    x_range = (min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1)
    y_range = (-span_y, span_y)
    root, plot = _frame(title, "prediction", "label − prediction", x_range, y_range)
    _line(plot, [(x_range[0], 0.0), (x_range[1], 0.0)], x_range, y_range, GREY, dashed=True)
    for x, y in points:
        cx, cy = _xy(x, y, x_range, y_range)
        ET.SubElement(plot, "circle", {"cx": f"{cx:.1f}", "cy": f"{cy:.1f}", "r": "2", "fill": BLUE})
    _describe(root, title, f"{len(points)} residuals (label minus prediction) against the prediction.")
    return ET.tostring(root, encoding="unicode")


def _frame(
    title: str, x_label: str, y_label: str, x_range: tuple[float, float], y_range: tuple[float, float]
) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": str(WIDTH), "height": str(HEIGHT), "role": "img"})
    root.attrib.update({"viewBox": f"0 0 {WIDTH} {HEIGHT}", "class": "model-chart", "font-family": FONT})
    ET.SubElement(root, "title").text = title
    _text(root, LEFT, 16, title, size=12, weight="bold")
    ET.SubElement(
        root, "rect", {"x": str(LEFT), "y": str(TOP), "width": str(RIGHT - LEFT), "height": str(BOTTOM - TOP)}
    ).attrib.update({"fill": "none", "stroke": "#BFBFBF"})
    for tick in TICKS:
        x = x_range[0] + tick * (x_range[1] - x_range[0])
        y = y_range[0] + tick * (y_range[1] - y_range[0])
        px, _ = _xy(x, y_range[0], x_range, y_range)
        _, py = _xy(x_range[0], y, x_range, y_range)
        ET.SubElement(
            root, "line", {"x1": f"{px:.1f}", "y1": str(TOP), "x2": f"{px:.1f}", "y2": str(BOTTOM), "stroke": "#EDEDED"}
        )
        ET.SubElement(
            root, "line", {"x1": str(LEFT), "y1": f"{py:.1f}", "x2": str(RIGHT), "y2": f"{py:.1f}", "stroke": "#EDEDED"}
        )
        _text(root, px, BOTTOM + 13, f"{x:.3g}", size=10, anchor="middle", fill="#595959")
        _text(root, LEFT - 4, py + 3.5, f"{y:.3g}", size=10, anchor="end", fill="#595959")
    _text(root, (LEFT + RIGHT) / 2, BOTTOM + 28, x_label, size=10, anchor="middle")
    label = _text(root, 11, (TOP + BOTTOM) / 2, y_label, size=10, anchor="middle")
    label.set("transform", f"rotate(-90 11 {(TOP + BOTTOM) / 2:.1f})")
    plot = ET.SubElement(root, "g")
    return root, plot


def _legend(root: ET.Element, entries: list[tuple[str, str, bool]]) -> None:
    x = LEFT + 6
    for label, colour, dashed in entries:
        line = ET.SubElement(
            root, "line", {"x1": str(x), "y1": "206", "x2": str(x + 16), "y2": "206", "stroke": colour}
        )
        line.set("stroke-width", "2")
        if dashed:
            line.set("stroke-dasharray", "4,3")
        _text(root, x + 20, 209.5, label, size=10)
        x += 28 + 6 * len(label)


def _line(
    parent: ET.Element,
    points: Sequence[tuple[float, float]],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    colour: str,
    *,
    dashed: bool = False,
    dots: bool = False,
) -> None:
    if not points:
        return
    coords = [_xy(x, y, x_range, y_range) for x, y in points]
    path = ET.SubElement(parent, "polyline", {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)})
    path.attrib.update({"fill": "none", "stroke": colour, "stroke-width": "1.2" if dashed else "2"})
    if dashed:
        path.set("stroke-dasharray", "4,3")
    if dots:
        for x, y in coords:
            ET.SubElement(parent, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": "3", "fill": colour})


def _xy(x: float, y: float, x_range: tuple[float, float], y_range: tuple[float, float]) -> tuple[float, float]:
    fx = (x - x_range[0]) / (x_range[1] - x_range[0])
    fy = (y - y_range[0]) / (y_range[1] - y_range[0])
    fx, fy = min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0)
    return LEFT + fx * (RIGHT - LEFT), BOTTOM - fy * (BOTTOM - TOP)


def _describe(root: ET.Element, title: str, text: str) -> None:
    ET.SubElement(root, "desc").text = text
    root.set("aria-label", title)
    # <title> and <desc> must come first for assistive technology: move them to the front.
    for tag in ("desc", "title"):
        element = root.find(tag)
        if element is not None:
            root.remove(element)
            root.insert(0, element)


def _text(
    parent: ET.Element,
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    anchor: str = "start",
    weight: str = "",
    fill: str = "#1A1A1A",
) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "font-size": f"{size:g}", "fill": fill})
    if anchor != "start":
        element.set("text-anchor", anchor)
    if weight:
        element.set("font-weight", weight)
    element.text = text
    return element
