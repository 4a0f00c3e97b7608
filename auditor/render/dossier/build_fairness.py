"""The dossier's fairness section from the record's fairness evidence and the check's findings.

Nothing is computed here that the record does not hold: numbers are formatted, and the marks beside
each group's difference come from the fairness check's own per-group judgement (`group_states`), so
they agree with the findings by construction."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import Markup

from auditor.check.checks.fairness import State, ThresholdParams, group_states
from auditor.check.report import CheckReport
from auditor.record.fairness import AttributeFairness, Estimate, Fairness, GroupMetrics
from auditor.render.dossier.views_fairness import Cell, FairGroupRow, FairnessView, RuleLine

Draw = Callable[[AttributeFairness, Mapping[str, float], str | None], str]
MARK: dict[State, str] = {"within": "pass", "breach": "fail", "unsettled": "inconclusive"}
SHORT = {
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "ratio",
    "equalized_odds_difference": "equalized odds difference",
    "equalized_odds_ratio": "ratio",
    "disparate_impact_ratio": "disparate impact ratio",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}".replace("-", "−")


def _span(low: float | None, high: float | None, show: Callable[[float | None], str]) -> str:
    """Compact, for a table cell: "72.6–89.9" for rates and ratios, "−11.8, +7.6" for signed points."""
    if low is None or high is None:
        return ""
    return f"{show(low)}, {show(high)}" if show is _points else f"{show(low)}–{show(high)}"


def _rate_cell(group: GroupMetrics, field: str) -> Cell:
    interval = (group.intervals or {}).get(field)  # type: ignore[call-overload]
    value = getattr(group, field)
    return Cell(_pct(value), _span(interval.low, interval.high, _pct) if interval is not None else "")


def _estimate_cell(e: Estimate | None, show: Callable[[float | None], str], mark: State | None) -> Cell:
    if e is None:
        return Cell("")
    return Cell(show(e.value), _span(e.ci_low, e.ci_high, show), MARK[mark] if mark else "")


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _params(report: CheckReport) -> dict[str, ThresholdParams]:
    """The first threshold rule per metric, as the check read its parameters."""
    out: dict[str, ThresholdParams] = {}
    for rule in report.rules:
        if rule.check == "fairness_threshold":
            params = ThresholdParams.model_validate(rule.params)
            out.setdefault(params.metric, params)
    return out


def fairness_views(fairness: Fairness | object, report: CheckReport, draw: Draw) -> tuple[FairnessView, ...]:
    if not isinstance(fairness, Fairness):
        return ()
    params = _params(report)
    bounds = {metric: p.max if p.max is not None else p.min for metric, p in params.items()}
    lines = {m: float(b) for m, b in bounds.items() if b is not None}
    return tuple(_view(block, report, params, lines, draw) for block in fairness.by_attributes)


def _view(
    block: AttributeFairness,
    report: CheckReport,
    params: Mapping[str, ThresholdParams],
    bounds: Mapping[str, float],
    draw: Draw,
) -> FairnessView:
    name = " & ".join(block.attributes)
    subject = "attribute:" + "&".join(block.attributes)
    states: dict[str, dict[tuple[tuple[str, ...], str], State]] = {
        metric: group_states(block, p) for metric, p in params.items()
    }
    dp = states.get("demographic_parity_difference", {})
    di = states.get("disparate_impact_ratio", {})
    eo = states.get("equalized_odds_difference", {})
    comparisons = {c.group: c for c in block.comparisons or ()}
    rows = []
    for g in block.groups:
        c = comparisons.get(g.group)
        key = g.group
        rows.append(
            FairGroupRow(
                group=" & ".join(g.group),
                count=g.count,
                small=g.small,
                reference=g.group == block.reference,
                base_rate=_pct(g.base_rate),
                selection=_rate_cell(g, "selection_rate"),
                tpr=_rate_cell(g, "true_positive_rate"),
                fpr=_rate_cell(g, "false_positive_rate"),
                precision=_pct(g.precision),
                fnr=_pct(g.false_negative_rate),
                selection_difference=_estimate_cell(
                    c.selection_rate_difference if c else None, _points, dp.get((key, "selection rate"))
                ),
                selection_ratio=_estimate_cell(
                    c.selection_rate_ratio if c else None, _ratio, di.get((key, "selection rate"))
                ),
                tpr_difference=_estimate_cell(
                    c.true_positive_rate_difference if c else None, _points, eo.get((key, "TPR"))
                ),
                fpr_difference=_estimate_cell(
                    c.false_positive_rate_difference if c else None, _points, eo.get((key, "FPR"))
                ),
            )
        )
    mine = [f for f in report.findings if f.subject == subject and f.rule_id in _fairness_rules(report)]
    rules = tuple(RuleLine(f.rule_id, f.outcome, f.message, f.subject) for f in sorted(mine, key=lambda f: f.rule_id))
    reference = "none (fewer than two groups)" if len(block.groups) < 2 else "not recorded (a record before 1.4)"
    if block.reference is not None:
        basis = "declared" if block.reference_basis == "declared" else (block.reference_note or "the largest group")
        reference = f"{' & '.join(block.reference)} ({basis})"
    levels = [
        f"{SHORT[d.metric]} {d.value:.3f}"
        + (f" ({d.ci_low:.3f} to {d.ci_high:.3f})" if d.ci_low is not None and d.ci_high is not None else "")
        for d in block.disparities
        if d.value is not None and d.metric in ("demographic_parity_difference", "equalized_odds_difference")
    ]
    small = sum(g.small for g in block.groups)
    attribute_level = "fairlearn, over the groups of at least the minimum size: " + "; ".join(levels) if levels else ""
    if small and levels:
        attribute_level += f" ({small} small group{'s' * (small != 1)} left out)"
    notes = tuple(i for i in block.issues if "below the minimum" not in i)
    alt = f"Selection, true and false positive rates by {name}, with 95% intervals"
    chart = Markup(draw(block, bounds, None))  # noqa: S704 - auditor's own SVG, labels escaped when built
    return FairnessView(name, reference, chart, alt, tuple(rows), rules, attribute_level, notes)


def _fairness_rules(report: CheckReport) -> set[str]:
    return {r.id for r in report.rules if r.check in ("fairness_threshold", "min_group_size")}
