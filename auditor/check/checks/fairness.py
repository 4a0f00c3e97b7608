"""Checks on fairness evidence: disparity bounds per group, with their intervals, and group sizes.

A threshold rule compares every group with the attribute's reference group (small groups included),
on the signed quantity its metric names: demographic parity on the selection-rate difference, equalized
odds on the TPR and FPR differences, disparate impact on the selection-rate ratio. A `max` bound d on a
difference allows -d..+d; a ratio's `min` (or `max`) bound is one-sided. Each compared quantity is:

  within       the estimate and the whole 95 % interval inside the bound: compliance shown;
  breach       the estimate and the whole 95 % interval beyond the bound: a breach established;
  unsettled    anything else: the interval straddles the bound (whichever side the estimate is on),
               or there is no interval (bootstrap off), or the quantity is undefined for the group.

The subject FAILS when any quantity is a breach; else it is INCONCLUSIVE when any is unsettled (compliance
is not shown: never a pass, and it gates like "could not evaluate", exit 3); it PASSES only when every
compared quantity of every group is within, intervals included. The rule is symmetric on purpose: an
estimate beyond the bound whose interval reaches back within it (a gap of 15 points among 33 people,
interval -34 to +1 against a bound of 10) is likely but not established, and a failure must be a claim the
evidence supports; the message says on which side the estimate lies. Small groups are compared too: their
wide intervals normally make the subject inconclusive, so a comparison that leaves groups out cannot pass.

Metrics without a per-group form (the demographic parity and equalized odds ratios) and records from
before comparisons were captured fall back to the attribute-level value and its interval, judged the
same way; with small groups left out of that value, it cannot pass either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import model_validator

from auditor.check.checks.interface import CheckContext, CheckDef, NoParams, cannot, missing
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.fairness import NO_FAVOURABLE, AttributeFairness, Estimate, Fairness, GroupMetrics
from auditor.record.findings import JsonScalar, Verdict

Metric = Literal[
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "disparate_impact_ratio",
]
State = Literal["within", "breach", "unsettled"]


class ThresholdParams(Frozen):
    metric: Metric
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> ThresholdParams:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' or 'min'")
        return self


@dataclass(frozen=True)
class Bound:
    low: float  # -inf when open
    high: float  # inf when open
    text: str  # "±10 points", "≥ 0.8"
    points: bool  # the quantity is a difference of rates, shown in percentage points

    def judge(self, q: Estimate) -> tuple[State, str]:
        if q.value is None:
            return "unsettled", "not defined"
        if q.ci_low is None or q.ci_high is None:
            return "unsettled", "no interval"
        inside = self.low <= q.value <= self.high
        if inside and self.low <= q.ci_low and q.ci_high <= self.high:
            return "within", ""
        if not inside and (q.ci_high < self.low or q.ci_low > self.high):
            return "breach", ""
        return "unsettled", "interval reaches within the bound" if not inside else "interval beyond the bound"

    def excess(self, q: Estimate) -> tuple[float, float]:
        """How far the estimate, then its interval, reach beyond the bound: the order of concern."""
        if q.value is None:
            return (-math.inf, -math.inf)
        ends = [v for v in (q.ci_low, q.ci_high) if v is not None]
        return (
            max(self.low - q.value, q.value - self.high),
            max((max(self.low - v, v - self.high) for v in ends), default=-math.inf),
        )

    def show(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        return f"{value * 100:+.1f}".replace("-", "−") if self.points else f"{value:.2f}"


def _bound(params: ThresholdParams) -> Bound:
    points = params.metric.endswith("_difference")
    if params.max is not None and points:
        return Bound(-params.max, params.max, f"±{params.max * 100:g} points", True)
    if params.max is not None:
        return Bound(-math.inf, params.max, f"≤ {params.max:g}", points)
    low = params.min if params.min is not None else 0.0
    return Bound(low, math.inf, f"≥ {low * 100:g} points" if points else f"≥ {low:g}", points)


@dataclass(frozen=True)
class _Quantity:
    """One compared number: a group's difference (or ratio) to the reference, or an attribute-level value."""

    what: str  # "selection rate" / "TPR" / "FPR" / metric name
    group: GroupMetrics | None  # None for an attribute-level value
    estimate: Estimate
    state: State
    why: str
    sentence: str


def _fairness(record: RunRecord) -> Fairness | Verdict:
    if isinstance(record.fairness, Fairness):
        return record.fairness
    return missing("fairness", "fairness evidence", record.fairness if isinstance(record.fairness, Missing) else None)


def _name(attributes: tuple[str, ...], group: tuple[str, ...]) -> str:
    return " & ".join(f"{a} {v}" for a, v in zip(attributes, group, strict=True))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


RATE_WORDS: dict[str, tuple[str, str]] = {  # field of GroupMetrics, how a sentence names the rate
    "selection rate": ("selection_rate", "get the favourable prediction"),
    "TPR": ("true_positive_rate", "with a favourable label get the favourable prediction (TPR)"),
    "FPR": ("false_positive_rate", "with an unfavourable label get the favourable prediction (FPR)"),
}
PER_GROUP: dict[str, tuple[tuple[str, str], ...]] = {  # metric -> (what, GroupComparison field)
    "demographic_parity_difference": (("selection rate", "selection_rate_difference"),),
    "equalized_odds_difference": (("TPR", "true_positive_rate_difference"), ("FPR", "false_positive_rate_difference")),
    "disparate_impact_ratio": (("selection rate", "selection_rate_ratio"),),
}


def _group_quantities(block: AttributeFairness, params: ThresholdParams, bound: Bound) -> list[_Quantity]:
    if block.comparisons is None or block.reference is None:
        return []
    groups = {g.group: g for g in block.groups}
    ref = groups[block.reference]
    ref_name = _name(block.attributes, block.reference)
    out = []
    for comparison in block.comparisons:
        group = groups[comparison.group]
        for what, field in PER_GROUP[params.metric]:
            q: Estimate = getattr(comparison, field)
            state, why = bound.judge(q)
            rate_field, words = RATE_WORDS[what]
            mine, theirs = getattr(group, rate_field), getattr(ref, rate_field)
            interval = f"{bound.show(q.ci_low)} to {bound.show(q.ci_high)}" if q.ci_low is not None else "none"
            if field == "selection_rate_ratio":
                detail = f"ratio {bound.show(q.value)}, 95% interval {interval}"
            else:
                detail = f"difference {bound.show(q.value)} points, 95% interval {interval}"
            sentence = (
                f"People in {_name(block.attributes, group.group)} {words} {_pct(mine)} of the time vs "
                f"{_pct(theirs)} for {ref_name} (n={group.count} vs {ref.count}; {detail}; bound {bound.text})"
            )
            out.append(_Quantity(what, group, q, state, why, sentence))
    return out


def _attribute_quantity(block: AttributeFairness, params: ThresholdParams, bound: Bound) -> list[_Quantity]:
    found = next((d for d in block.disparities if d.metric == params.metric), None)
    if found is None or found.value is None:
        return []
    q = Estimate.model_construct(value=found.value, ci_low=found.ci_low, ci_high=found.ci_high)  # may be unvalidated
    state, why = bound.judge(q)
    small = [g for g in block.groups if g.small]
    if state == "within" and small:
        state, why = "unsettled", f"{len(small)} small group(s) are not in this value"
    between = " vs ".join(" & ".join(g) for g in found.groups)
    interval = f"{bound.show(q.ci_low)} to {bound.show(q.ci_high)}" if q.ci_low is not None else "none"
    sentence = (
        f"{params.metric.replace('_', ' ')} by {' & '.join(block.attributes)} is {bound.show(q.value)}"
        f"{' points' if bound.points else ''} ({between}; 95% interval {interval}; bound {bound.text})"
    )
    return [_Quantity(params.metric, None, q, state, why, sentence)]


ENDING = {
    ("breach", ""): "fails: the estimate and the whole interval lie beyond the bound",
    ("unsettled", "interval reaches within the bound"): (
        "inconclusive: the estimate is beyond the bound, but the interval reaches back within it"
    ),
    ("unsettled", "interval beyond the bound"): "inconclusive: the interval reaches beyond the bound",
    ("unsettled", "no interval"): "inconclusive: no interval was computed (bootstrap off)",
    ("unsettled", "not defined"): "inconclusive: the quantity is not defined for this group",
}


def _ending(q: _Quantity) -> str:
    return ENDING.get((q.state, q.why), f"inconclusive: {q.why}")


def _evidence(q: _Quantity, block: AttributeFairness, bound: Bound, counts: dict[str, int]) -> dict[str, JsonScalar]:
    evidence: dict[str, JsonScalar] = {
        "quantity": q.what,
        "value": q.estimate.value,
        "ci_low": q.estimate.ci_low,
        "ci_high": q.estimate.ci_high,
        "bound_low": bound.low if math.isfinite(bound.low) else None,
        "bound_high": bound.high if math.isfinite(bound.high) else None,
        "breaches": counts["breach"],
        "unsettled": counts["unsettled"],
        "within": counts["within"],
    }
    if q.group is not None:
        evidence |= {"group": " & ".join(q.group.group), "group_rows": q.group.count, "small": q.group.small}
    if block.reference is not None:
        evidence |= {"reference": " & ".join(block.reference), "reference_basis": block.reference_basis}
    return evidence


def _judge_block(block: AttributeFairness, params: ThresholdParams, bound: Bound, subject: str) -> Verdict:
    per_group = block.comparisons is not None and block.reference is not None and params.metric in PER_GROUP
    if per_group and params.metric != "disparate_impact_ratio" and params.max is None:
        per_group = False  # a lower bound on a difference: only the attribute-level value can carry it
    quantities = (_group_quantities if per_group else _attribute_quantity)(block, params, bound)
    if not quantities:
        found = next((d for d in block.disparities if d.metric == params.metric), None)
        why = found.note if found is not None and found.note else "no group to compare"
        return Verdict(subject=subject, outcome="could_not_evaluate", message=f"{params.metric}: {why}")
    if any(q.estimate.value is not None and not math.isfinite(q.estimate.value) for q in quantities):
        return cannot(subject, f"{params.metric}: not a finite number")
    counts = {s: sum(q.state == s for q in quantities) for s in ("breach", "unsettled", "within")}
    worst = "breach" if counts["breach"] else "unsettled" if counts["unsettled"] else "within"
    mine = [q for q in quantities if q.state == worst]

    def key(q: _Quantity) -> tuple[float, float]:
        if worst != "within":
            return bound.excess(q.estimate)
        return (abs(q.estimate.value or 0.0) if bound.points else -(q.estimate.value or 0.0), 0.0)

    decisive = max(mine, key=key)
    if worst == "within":
        scope = f"all {len(quantities)} compared" if len(quantities) > 1 else "the compared"
        message = f"{decisive.sentence}: passes ({scope} quantities lie within the bound, intervals included)."
    else:
        seen = decisive.group.group if decisive.group is not None else None
        others = sorted({" & ".join(q.group.group) for q in mine if q.group is not None and q.group.group != seen})
        label = "beyond the bound" if worst == "breach" else "inconclusive"
        also = f" Also {label}: {', '.join(others)}." if others else ""
        message = f"{decisive.sentence}: {_ending(decisive)}.{also}"
    outcome: Literal["pass", "fail", "inconclusive"] = (
        "fail" if worst == "breach" else "inconclusive" if worst == "unsettled" else "pass"
    )
    return Verdict(
        subject=subject, outcome=outcome, message=message, evidence=_evidence(decisive, block, bound, counts)
    )


def _threshold(record: RunRecord, params: ThresholdParams, _ctx: CheckContext) -> list[Verdict]:
    fairness = _fairness(record)
    if isinstance(fairness, Verdict):
        return [fairness]
    fatal = [issue for issue in fairness.issues if NO_FAVOURABLE in issue]
    if fatal:  # every rate is 0 or undefined, so every gap "passes": that is not evidence
        return [cannot("fairness", f"the predictions cannot be scored: {fatal[0]}")]
    bound = _bound(params)
    out = [
        _judge_block(block, params, bound, "attribute:" + "&".join(block.attributes))
        for block in fairness.by_attributes
    ]
    return out or [Verdict(subject="fairness", outcome="could_not_evaluate", message="no attribute was analysed")]


def _group_sizes(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    fairness = _fairness(record)
    if isinstance(fairness, Verdict):
        return [fairness]
    out = []
    minimum = fairness.min_group_size
    for block in fairness.by_attributes:
        subject = "attribute:" + "&".join(block.attributes)
        small = [g for g in block.groups if g.small]
        named = ", ".join(f"{_name(block.attributes, g.group)} ({g.count} row{'s' * (g.count != 1)})" for g in small)
        message = (
            f"{len(small)} group{'s' * (len(small) != 1)} below {minimum} rows: {named}; their numbers are shown "
            "with their (wide) intervals and compared, but cannot support a conclusion"
            if small
            else f"every group has at least {minimum} rows"
        )
        out.append(
            Verdict(
                subject=subject,
                outcome="fail" if small else "pass",
                message=message,
                evidence={"small_groups": len(small), "smallest": min((g.count for g in block.groups), default=0)},
            )
        )
    return out


FAIRNESS_THRESHOLD = CheckDef(
    "fairness_threshold",
    ThresholdParams,
    _threshold,
    "every group's disparity to the reference stays within a bound, intervals included",
)
GROUP_SIZES = CheckDef("min_group_size", NoParams, _group_sizes, "every group meets the minimum size")


def group_states(block: AttributeFairness, params: ThresholdParams) -> dict[tuple[tuple[str, ...], str], State]:
    """Per (group, compared rate) how the rule judges it: the marks a report shows beside each number.

    The same judgement as the finding (one definition); empty when the rule has no per-group form."""
    if params.metric not in PER_GROUP or (params.metric != "disparate_impact_ratio" and params.max is None):
        return {}
    return {
        (q.group.group, q.what): q.state
        for q in _group_quantities(block, params, _bound(params))
        if q.group is not None
    }
