"""The fairness chart: rows, bars and markers, threshold lines, hostile group names, determinism."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from auditor.capture.fairness import compute_fairness
from auditor.record.fairness import AttributeFairness, GroupMetrics
from auditor.render.dossier.chart import fairness_chart_svg

COLOURS = {"#0072B2", "#E69F00", "#009E73"}


def parse(svg: str) -> ET.Element:
    """The SVG as an element tree, tags without their namespace."""
    root = ET.fromstring(svg)  # noqa: S314 - the SVG under test, which auditor wrote
    for element in root.iter():
        element.tag = element.tag.removeprefix("{http://www.w3.org/2000/svg}")
    return root


def texts(root: ET.Element, **attrs: str) -> list[str]:
    return [t.text or "" for t in root.iter("text") if all(t.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("rect") if r.get("fill") in COLOURS and float(r.get("y", "0")) > 60]


def sex_block(tmp_path: Path, reference: str | None = "a") -> AttributeFairness:
    """Computed by auditor.capture.fairness from a predictions file: a (SR .5, TPR .8, FPR .2), b (SR .25, TPR .4,
    FPR .1), each 40 rows; and a group of 3 negatives all predicted favourable, below the minimum size."""
    rows = ["group,label,prediction"]
    for group, tp, fp in (("a", 16, 4), ("b", 8, 2)):
        rows += [f"{group},1,{int(i < tp)}" for i in range(20)] + [f"{group},0,{int(i < fp)}" for i in range(20)]
    rows += ["\"<script>alert('x')</script>\",0,1"] * 3
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(rows) + "\n")
    fairness = compute_fairness(
        path,
        display_path="scores.csv",
        label_column="label",
        prediction_column="prediction",
        score_column=None,
        sensitive_columns=["group"],
        favourable_outcome="1",
        min_group_size=10,
        reference_groups={"group": reference} if reference else None,
        resamples=50,
    )
    return fairness.by_attributes[0]


def metrics(group: tuple[str, ...], rate: float | None, count: int = 50, small: bool = False) -> GroupMetrics:
    return GroupMetrics(
        group=group,
        count=count,
        positives=count // 2,
        selection_rate=rate,
        true_positive_rate=rate,
        false_positive_rate=None,
        accuracy=None,
        small=small,
    )


def test_one_row_per_group_with_labelled_bars(tmp_path: Path) -> None:
    root = parse(fairness_chart_svg(sex_block(tmp_path)))
    assert texts(root, font_size="11") == ["<script>alert('x')</scrip…", "a", "b"]  # in the record's order
    # the record names the reference group ("a", declared), so the chart marks it without being told
    assert texts(root, font_size="9", text_anchor="end") == ["n=3 · small group", "n=40 · reference", "n=40"]
    assert [(b.get("fill"), b.get("width")) for b in bars(root)] == [
        ("#0072B2", "384"),  # the small group has no positives, so no true positive rate
        ("#009E73", "384"),
        ("#0072B2", "192"),
        ("#E69F00", "307.2"),
        ("#009E73", "76.8"),
        ("#0072B2", "96"),
        ("#E69F00", "153.6"),
        ("#009E73", "38.4"),
    ]
    values = texts(root, font_size="9", fill="#1A1A1A")
    assert values == ["SR 1.00", "FPR 1.00", "SR 0.50", "TPR 0.80", "FPR 0.20", "SR 0.25", "TPR 0.40", "FPR 0.10"]
    assert texts(root, font_size="9", fill="#595959")[5:7] == ["n=3 · small group", "TPR n/a"]
    assert texts(root, font_size="9", fill="#595959")[:5] == ["0", "0.25", "0.5", "0.75", "1"]
    assert (root.get("viewBox"), root.get("width"), root.get("height")) == ("0 0 640 205", "640", "205")
    whiskers = [line for line in root.iter("line") if line.get("stroke") == "#1A1A1A"]
    assert len(whiskers) == 3 * 8  # every bar has its interval: a line and two end caps


def test_whiskers_are_the_recorded_intervals(tmp_path: Path) -> None:
    block = sex_block(tmp_path)
    root = parse(fairness_chart_svg(block))
    a = next(g for g in block.groups if g.group == ("a",))
    assert a.intervals is not None
    low, high = a.intervals["selection_rate"].low, a.intervals["selection_rate"].high
    assert low is not None and high is not None and low < 0.5 < high
    spans = [
        (line.get("x1"), line.get("x2"))
        for line in root.iter("line")
        if line.get("stroke") == "#1A1A1A" and line.get("y1") == line.get("y2")
    ]
    expected = (f"{176 + 384 * low:.1f}".removesuffix(".0"), f"{176 + 384 * high:.1f}".removesuffix(".0"))
    assert expected in spans


def test_small_and_reference_groups_are_marked_beyond_colour(tmp_path: Path) -> None:
    root = parse(fairness_chart_svg(sex_block(tmp_path), reference="a"))
    small = bars(root)[:2]
    assert {(b.get("fill-opacity"), b.get("stroke-dasharray")) for b in small} == {("0.35", "3,2")}
    assert all(b.get("fill-opacity") is None for b in bars(root)[2:])
    assert texts(root, font_size="9", text_anchor="end") == ["n=3 · small group", "n=40 · reference", "n=40"]
    assert texts(root, font_weight="bold", font_size="11") == ["a"]
    shaded = [r for r in root.iter("rect") if r.get("fill") == "#F0F0F0"]
    assert [(r.get("y"), r.get("height"), r.get("width")) for r in shaded] == [("109", "39", "640")]


def test_thresholds_that_map_onto_the_selection_rate_axis_are_drawn(tmp_path: Path) -> None:
    bounds = {"disparate_impact_ratio": 0.8, "demographic_parity_difference": 0.05, "equalized_odds_difference": 0.1}
    root = parse(fairness_chart_svg(sex_block(tmp_path), bounds, reference="a"))
    lines = [line for line in root.iter("line") if line.get("stroke") == "#D55E00"]
    # around the reference's selection rate 0.5: 0.8 x 0.5, 0.5 - 0.05 and 0.5 + 0.05, left to right
    assert [line.get("x1") for line in lines] == ["329.6", "348.8", "387.2"]
    assert {line.get("stroke-dasharray") for line in lines} == {"6,3"}
    assert texts(root, font_size="10", fill="#D55E00") == ["c", "a", "b"]
    assert [t.get("x") for t in root.iter("text") if t.get("fill") == "#D55E00"] == ["329.6", "348.8", "387.2"]
    assert texts(root, font_size="10", fill="#1A1A1A")[3:] == [
        "a: the reference's selection rate (a) − 0.05 = 0.45 (demographic parity difference ≤ 0.05)",
        "b: the reference's selection rate (a) + 0.05 = 0.55 (demographic parity difference ≤ 0.05)",
        "c: 0.8 × the reference's selection rate (a) = 0.40 (disparate impact ratio ≥ 0.8)",
    ]
    assert texts(root, fill="#595959")[-1] == (
        "Whiskers: 95% intervals. An SR whisker crossing a line is inconclusive for that bound."
    )


def test_without_a_usable_reference_the_ratio_uses_the_highest_rate_or_is_not_drawn(tmp_path: Path) -> None:
    # a record from before 1.4 names no reference group for the chart to use
    block = sex_block(tmp_path, reference=None).model_copy(update={"reference": None, "comparisons": None})
    root = parse(fairness_chart_svg(block, {"disparate_impact_ratio": 0.8}))
    assert texts(root, font_size="10", fill="#1A1A1A")[3:] == [
        "a: 0.8 × the highest selection rate (a) = 0.40 (disparate impact ratio ≥ 0.8)"
    ]
    small_reference = fairness_chart_svg(
        block, {"disparate_impact_ratio": 0.8}, reference="<script>alert('x')</script>"
    )
    assert "<line" in small_reference and 'stroke="#D55E00"' not in small_reference
    single = AttributeFairness(attributes=("g",), groups=(metrics(("a",), 0.5),), disparities=(), issues=())
    assert 'stroke="#D55E00"' not in fairness_chart_svg(single, {"demographic_parity_ratio": 0.8})


def test_title_and_description_for_screen_readers(tmp_path: Path) -> None:
    root = parse(fairness_chart_svg(sex_block(tmp_path), {"demographic_parity_difference": 0.1}, reference="a"))
    assert root.findtext("title") == "Selection, true positive and false positive rates by group"
    description = root.findtext("desc") or ""
    assert description.startswith(
        "<script>alert('x')</script>: SR 1.00 (95% interval 1.00 to 1.00), TPR n/a, FPR 1.00 (95% interval 1.00 to "
        "1.00); n=3, small group. a: SR 0.50 (95% interval "
    )
    assert description.endswith(
        "n=40. Line a: the reference's selection rate (a) − 0.1 = 0.40 (demographic parity difference ≤ 0.1). "
        "Line b: the reference's selection rate (a) + 0.1 = 0.60 (demographic parity difference ≤ 0.1)."
    )


def test_hostile_group_names_are_escaped_text() -> None:
    names = [
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        '<a href="javascript:x">y</a>',
        "]]><x/>",
        "nul\x00\x1b[2J\u202eend",
        "w" * 10_000,
        "<b>bold</b>",
    ]
    groups = tuple(metrics((name, "x\ny"), 0.1 * i, count=5 + i) for i, name in enumerate(names))
    block = AttributeFairness(attributes=("<i>race</i>", "sex\x07"), groups=groups, disparities=(), issues=())
    svg = fairness_chart_svg(block, {"demographic_parity_ratio": 0.8})
    root = parse(svg)
    assert {e.tag for e in root.iter()} == {"svg", "title", "desc", "text", "rect", "line"}
    for raw in ("<script", "<a ", "<b>", "<i>", "]]><x/>", "\x00", "\x1b", "\u202e"):
        assert raw not in svg
    for element in root.iter():
        element.text = element.tail = None
    assert not re.search("javascript|href|script|<b|<i|]]", ET.tostring(root, encoding="unicode"))
    labels = texts(parse(svg), font_size="11")
    assert labels == [
        "<script>alert(1)</script>…",
        "javascript:alert(1) & x y",
        '<a href="javascript:x">y<…',
        "]]><x/> & x y",
        "nul[2Jend & x y",
        "w" * 25 + "…",
        "<b>bold</b> & x y",
    ]
    assert texts(parse(svg), font_size="13") == ["Rates by <i>race</i> & sex"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_the_chart_is_deterministic(tmp_path: Path) -> None:
    block = sex_block(tmp_path)
    bounds = {"disparate_impact_ratio": 0.8, "demographic_parity_difference": 0.1}
    first = fairness_chart_svg(block, bounds, reference="a")
    assert fairness_chart_svg(block, dict(reversed(bounds.items())), reference="a") == first
    assert not re.search(r'\sid="|<\?xml|<!--', first)
