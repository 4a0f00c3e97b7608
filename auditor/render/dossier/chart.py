"""The fairness chart of a dossier: per-group rates of one attribute as a horizontal bar chart, in SVG.

One row per group with three bars on a shared 0..1 axis: selection rate (SR), true positive rate (TPR)
and false positive rate (FPR), in Okabe-Ito blue, orange and bluish green. Every bar also carries its
short name and value as text, so the chart reads in greyscale and to colour-blind readers. Small groups
(below the minimum size, not used for disparities) are drawn lighter with a dashed outline and marked
"small group"; the reference group has a shaded row and the word "reference".

Each bar carries a whisker: the group's 95% bootstrap interval, where the record has one (1.4).

Threshold lines, only where a bound maps onto the selection-rate axis. With a reference group (the
record's, or the one passed): demographic_parity_difference d -> the reference's selection rate - d
and + d; disparate_impact_ratio r -> r x the reference's selection rate (the four-fifths rule at
r = 0.8). Without one, over the large groups: the highest selection rate - d, r x the highest rate;
demographic_parity_ratio r -> r x the highest selection rate. An SR bar whose whisker crosses a line
is inconclusive for that bound. Equalized-odds bounds mix two rates and get no line.
Built with xml.etree, so every text is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from auditor.record.fairness import AttributeFairness, GroupMetrics
from auditor.render.dossier.diagram import FONT, SVG_NS, plain_text

WIDTH = 640
LABEL_RIGHT = 168  # group names end here
X0, X1 = 176, 560  # the 0..1 axis; value labels fit to the right of 1.0
TOP = 64  # title, legend and tick labels above
BAR, GAP = 8, 3
ROW = 3 * (BAR + GAP) + 10
SERIES = (
    ("selection_rate", "SR", "selection rate", "#0072B2"),
    ("true_positive_rate", "TPR", "true positive rate", "#E69F00"),
    ("false_positive_rate", "FPR", "false positive rate", "#009E73"),
)
LINE = "#D55E00"  # threshold lines: vermillion, dashed
RULES = {
    "disparate_impact_ratio": "disparate impact ratio ≥ {t:g}",
    "demographic_parity_ratio": "demographic parity ratio ≥ {t:g}",
    "demographic_parity_difference": "demographic parity difference ≤ {t:g}",
}


def fairness_chart_svg(
    block: AttributeFairness, thresholds: Mapping[str, float] | None = None, *, reference: str | None = None
) -> str:
    """The chart for one attribute block. thresholds: metric -> bound, as in the policy's fairness rules;
    reference: the attribute's reference group (Fairness.reference_groups), if one was declared."""
    name = plain_text(" & ".join(block.attributes), 60)
    if block.reference is not None:  # the record's reference group: the one the rules compare with
        reference = " & ".join(block.reference)
    lines = _threshold_lines(block, thresholds or {}, reference)
    bottom = TOP + len(block.groups) * ROW + 4
    height = bottom + (24 + 15 * (len(lines) + 1) if lines else 8)
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": str(WIDTH), "height": str(height), "role": "img"})
    root.attrib.update({"viewBox": f"0 0 {WIDTH} {height}", "class": "fairness-chart", "font-family": FONT})
    ET.SubElement(root, "title").text = f"Selection, true positive and false positive rates by {name}"
    ET.SubElement(root, "desc").text = _description(block, lines, reference)
    _frame(root, name, bottom)
    for i, group in enumerate(block.groups):
        _row(root, TOP + i * ROW + 6, group, _is_reference(group, reference))
    _lines(root, lines, bottom, around_reference=block.reference is not None)
    return ET.tostring(root, encoding="unicode")


def _frame(root: ET.Element, name: str, bottom: float) -> None:
    """Heading, legend, the 0..1 axis labels and gridlines every 0.25."""
    _text(root, 8, 18, f"Rates by {name}", size=13, weight="bold")
    for i, (_, short, long, colour) in enumerate(SERIES):
        left = X0 + i * 128
        ET.SubElement(root, "rect", _px(x=left, y=29, width=10, height=10)).set("fill", colour)
        _text(root, left + 14, 38, f"{short}: {long}", size=10)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _x(tick)
        ET.SubElement(root, "line", _px(x1=x, y1=TOP - 2, x2=x, y2=bottom) | {"stroke": "#D9D9D9"})
        _text(root, x, TOP - 6, f"{tick:g}", size=9, anchor="middle", fill="#595959")


def _lines(root: ET.Element, lines: list[tuple[str, float, str]], bottom: float, *, around_reference: bool) -> None:
    """Dashed threshold lines, lettered below the plot and explained underneath."""
    label_x = 0.0
    for letter, value, _ in sorted(lines, key=lambda line: line[1]):
        x = _x(value)
        line = ET.SubElement(root, "line", _px(x1=x, y1=TOP - 2, x2=x, y2=bottom + 4))
        line.attrib.update({"stroke": LINE, "stroke-width": "1.5", "stroke-dasharray": "6,3"})
        label_x = max(x, label_x + 10)  # letters of close lines side by side, not on top of each other
        _text(root, label_x, bottom + 16, letter, size=10, anchor="middle", weight="bold", fill=LINE)
    for i, (letter, _, text) in enumerate(lines):
        _text(root, 8, bottom + 34 + 15 * i, f"{letter}: {text}", size=10)
    if lines:
        note = (
            "Whiskers: 95% intervals. An SR whisker crossing a line is inconclusive for that bound."
            if around_reference
            else "Lines use the large groups only; an SR bar ending left of a line breaks that bound."
        )
        _text(root, 8, bottom + 34 + 15 * len(lines), note, size=10, fill="#595959")


def _row(root: ET.Element, top: float, group: GroupMetrics, reference: bool) -> None:
    if reference:
        ET.SubElement(root, "rect", _px(x=0, y=top - 4, width=WIDTH, height=ROW - 4) | {"fill": "#F0F0F0"})
    weight = "bold" if reference else ""
    _text(root, LABEL_RIGHT, top + 10, _group_name(group.group, 26), size=11, anchor="end", weight=weight)
    marks = [f"n={group.count}", *(["reference"] if reference else []), *(["small group"] if group.small else [])]
    _text(root, LABEL_RIGHT, top + 23, " · ".join(marks), size=9, anchor="end", fill="#595959")
    for j, (field, short, _, colour) in enumerate(SERIES):
        value = getattr(group, field)
        y = top + j * (BAR + GAP)
        if value is None:
            _text(root, X0 + 4, y + BAR - 1, f"{short} n/a", size=9, fill="#595959")
            continue
        bar = ET.SubElement(root, "rect", _px(x=X0, y=y, width=_x(value) - X0, height=BAR) | {"fill": colour})
        if group.small:
            bar.attrib.update({"fill-opacity": "0.35", "stroke": colour, "stroke-dasharray": "3,2"})
        end = _whisker(root, group, field, y + BAR / 2)
        _text(root, max(_x(value), end) + 4, y + BAR - 1, f"{short} {value:.2f}", size=9)


def _whisker(root: ET.Element, group: GroupMetrics, field: str, middle: float) -> float:
    """The interval as a line with end caps; returns where it ends on the right (X0 when none)."""
    interval = (group.intervals or {}).get(field)  # type: ignore[call-overload]
    if interval is None or interval.low is None or interval.high is None:
        return X0
    low, high = _x(interval.low), _x(interval.high)
    style = {"stroke": "#1A1A1A", "stroke-width": "1"}
    ET.SubElement(root, "line", _px(x1=low, y1=middle, x2=high, y2=middle) | style)
    for x in (low, high):
        ET.SubElement(root, "line", _px(x1=x, y1=middle - 3, x2=x, y2=middle + 3) | style)
    return float(high)


def _threshold_lines(
    block: AttributeFairness, thresholds: Mapping[str, float], reference: str | None
) -> list[tuple[str, float, str]]:
    """(letter, position on the SR axis, explanation) per threshold that maps onto the axis."""
    if block.reference is not None:
        return _reference_lines(block, thresholds)
    rates = {g.group: rate for g in block.groups if not g.small and (rate := g.selection_rate) is not None}
    if len(rates) < 2:
        return []
    best = max(rates, key=rates.__getitem__)  # the first such group on a tie
    out: list[tuple[str, float, str]] = []
    for metric in sorted(set(thresholds) & set(RULES)):
        bound = float(thresholds[metric])
        base, whose = rates[best], f"the highest selection rate ({_group_name(best, 24)})"
        if metric == "disparate_impact_ratio" and reference is not None and len(block.attributes) == 1:
            ref = rates.get((reference,))
            if ref is None:
                continue  # the ratio is undefined too: the reference group is absent or small
            base, whose = ref, f"the reference group's selection rate ({plain_text(reference, 24)})"
        value = base - bound if metric == "demographic_parity_difference" else bound * base
        if not 0.0 <= value <= 1.0:
            continue
        how = f"{whose} − {bound:g}" if metric == "demographic_parity_difference" else f"{bound:g} × {whose}"
        out.append((chr(ord("a") + len(out)), value, f"{how} = {value:.2f} ({RULES[metric].format(t=bound)})"))
    return out


def _reference_lines(block: AttributeFairness, thresholds: Mapping[str, float]) -> list[tuple[str, float, str]]:
    """Lines around the record's reference group, which the fairness rules compare every group with."""
    ref = next((g for g in block.groups if g.group == block.reference), None)
    if ref is None or ref.selection_rate is None:
        return []
    base, whose = ref.selection_rate, f"the reference's selection rate ({_group_name(ref.group, 24)})"
    candidates: list[tuple[float, str]] = []
    for metric in sorted(set(thresholds) & {"demographic_parity_difference", "disparate_impact_ratio"}):
        bound = float(thresholds[metric])
        rule = RULES[metric].format(t=bound)
        if metric == "demographic_parity_difference":
            for sign, value in (("−", base - bound), ("+", base + bound)):
                candidates.append((value, f"{whose} {sign} {bound:g} = {value:.2f} ({rule})"))
        else:
            value = bound * base
            candidates.append((value, f"{bound:g} × {whose} = {value:.2f} ({rule})"))
    kept = [(v, text) for v, text in candidates if 0.0 <= v <= 1.0]
    return [(chr(ord("a") + i), v, text) for i, (v, text) in enumerate(kept)]


def _description(block: AttributeFairness, lines: list[tuple[str, float, str]], reference: str | None) -> str:
    parts = []
    for g in block.groups:
        rates = ", ".join(_spoken(g, field, short) for field, short, _, _ in SERIES)
        marks = ["reference"] if _is_reference(g, reference) else []
        marks += ["small group"] if g.small else []
        parts.append(f"{_group_name(g.group, 40)}: {rates}; n={', '.join([str(g.count), *marks])}.")
    parts += [f"Line {letter}: {text}." for letter, _, text in lines]
    return " ".join(parts)


def _spoken(group: GroupMetrics, field: str, short: str) -> str:
    """'SR 0.50 (95% interval 0.36 to 0.64)', or 'TPR n/a'."""
    value = getattr(group, field)
    if value is None:
        return f"{short} n/a"
    interval = (group.intervals or {}).get(field)  # type: ignore[call-overload]
    if interval is None or interval.low is None or interval.high is None:
        return f"{short} {value:.2f}"
    return f"{short} {value:.2f} (95% interval {interval.low:.2f} to {interval.high:.2f})"


def _is_reference(group: GroupMetrics, reference: str | None) -> bool:
    return reference is not None and " & ".join(group.group) == reference


def _group_name(values: tuple[str, ...], limit: int) -> str:
    return plain_text(" & ".join(values), limit)


def _x(value: float) -> float:
    return X0 + (X1 - X0) * min(max(value, 0.0), 1.0)


def _px(**values: float) -> dict[str, str]:
    return {k: f"{v:.1f}".removesuffix(".0") for k, v in values.items()}


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
) -> None:
    element = ET.SubElement(parent, "text", _px(x=x, y=y) | {"font-size": f"{size:g}", "fill": fill})
    if anchor != "start":
        element.set("text-anchor", anchor)
    if weight:
        element.set("font-weight", weight)
    element.text = text
