"""The portfolio's charts as inline SVG, built with xml.etree (every text and attribute escaped).

Each chart is an <svg role="img"> with a <title> and a <desc> that say in words what it shows, and
each bar has its own <title> (a tooltip, and what a screen reader reads); the numbers are in the
tables beside the charts too, so a reader who cannot see the chart loses nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
COLOURS = {
    "compliant": "#2e7d32",
    "violations": "#c62828",
    "could_not_evaluate": "#ef8f00",
    "unchecked": "#9e9e9e",
    "critical": "#7b1fa2",
    "high": "#c62828",
    "medium": "#ef8f00",
    "low": "#f9c74f",
}
WORDS = {"could_not_evaluate": "could not evaluate"}


def _svg(width: int, height: int, title: str, desc: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "role": "img",
            "font-family": FONT,
            "font-size": "12",
        },
    )
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = desc
    return root


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    ET.SubElement(parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs}).text = text


def _rect(parent: ET.Element, x: float, y: float, w: float, h: float, colour: str, tip: str) -> None:
    rect = ET.SubElement(
        parent, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{w:.1f}", "height": f"{h:.1f}", "fill": colour}
    )
    ET.SubElement(rect, "title").text = tip


def _done(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def bars(counts: Mapping[str, int], title: str, unit: str) -> str:
    """Horizontal bars, one per key, in the given order."""
    width, row, left = 560, 26, 150
    height = row * len(counts) + 16
    total = sum(counts.values())
    desc = ", ".join(f"{WORDS.get(k, k)}: {n} {unit}" for k, n in counts.items())
    root = _svg(width, height, title, desc or "nothing to show")
    top = max(counts.values(), default=0) or 1
    for i, (key, n) in enumerate(counts.items()):
        y = 8 + i * row
        _text(root, left - 8, y + 15, WORDS.get(key, key), **{"text-anchor": "end"})
        w = (width - left - 70) * n / top
        _rect(root, left, y + 2, max(w, 1 if n else 0), row - 8, COLOURS.get(key, "#455a64"), f"{n} {unit}")
        share = f" ({100 * n / total:.0f}%)" if total else ""
        _text(root, left + w + 6, y + 15, f"{n}{share}")
    return _done(root)


def period(span_days: int) -> str:
    return "day" if span_days <= 31 else "week" if span_days <= 366 else "month"


def _bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _step(day: date, unit: str) -> date:
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=7 if unit == "week" else 1)


def runs_over_time(runs: Sequence[tuple[datetime, str]], title: str = "Runs over time") -> str:
    """Stacked bars: runs started per day, week or month (by the span), coloured by verdict."""
    if not runs:
        return _done(_svg(560, 40, title, "no runs"))
    first = min(t for t, _ in runs).date()
    last = max(t for t, _ in runs).date()
    unit = period((last - first).days)
    counts: Counter[tuple[date, str]] = Counter((_bucket(t.date(), unit), v) for t, v in runs)
    buckets = []
    day = _bucket(first, unit)
    while day <= last:
        buckets.append(day)
        day = _step(day, unit)
    width, height, left, bottom, top_pad = 760, 240, 44, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    per = [sum(counts[(b, v)] for v in COLOURS) for b in buckets]
    peak = max(per) or 1
    verdicts = ("compliant", "violations", "could_not_evaluate", "unchecked")
    total = Counter(v for _, v in runs)
    desc = (
        f"{len(runs)} runs from {first.isoformat()} to {last.isoformat()}, by {unit}; "
        + ", ".join(f"{WORDS.get(v, v)}: {total.get(v, 0)}" for v in verdicts)
        + f"; the busiest {unit} had {peak} runs"
    )
    root = _svg(width, height, f"{title} (by {unit})", desc)
    base = top_pad + plot_h
    ET.SubElement(
        root, "line", {"x1": str(left), "y1": str(base), "x2": str(width - 10), "y2": str(base), "stroke": "#555"}
    )
    for tick in sorted({0, peak // 2, peak}) if peak >= 4 else (0, peak):
        y = base - plot_h * tick / peak
        _text(root, left - 6, y + 4, str(tick), **{"text-anchor": "end", "fill": "#555"})
    slot = plot_w / len(buckets)
    bar = max(min(slot * 0.8, 40), 1)
    label_every = max(1, round(len(buckets) / 8))
    for i, b in enumerate(buckets):
        x = left + i * slot + (slot - bar) / 2
        y = base
        for v in verdicts:
            n = counts[(b, v)]
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            name = b.strftime("%Y-%m") if unit == "month" else b.isoformat()
            _rect(root, x, y, bar, h, COLOURS[v], f"{unit} of {name}: {n} run(s) {WORDS.get(v, v)}")
        if i % label_every == 0:
            day_label = "%m-%d" if first.year == last.year else "%Y-%m-%d"  # a span across years names them
            label = b.strftime("%Y-%m") if unit == "month" else b.strftime(day_label)
            _text(root, x + bar / 2, base + 16, label, **{"text-anchor": "middle", "fill": "#333"})
    legend_x = left
    for v in verdicts:
        ET.SubElement(
            root, "rect", {"x": str(legend_x), "y": str(height - 14), "width": "10", "height": "10", "fill": COLOURS[v]}
        )
        _text(root, legend_x + 14, height - 5, WORDS.get(v, v))
        legend_x += 150
    return _done(root)
