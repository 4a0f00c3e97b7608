"""Checks on fairness evidence: disparity thresholds and group sizes."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import model_validator

from auditor.check.checks.interface import CheckContext, CheckDef, NoParams, cannot, missing
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.fairness import NO_FAVOURABLE, Fairness
from auditor.record.findings import Verdict

Metric = Literal[
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "disparate_impact_ratio",
]


class ThresholdParams(Frozen):
    metric: Metric
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> ThresholdParams:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' or 'min'")
        return self


def _fairness(record: RunRecord) -> Fairness | Verdict:
    if isinstance(record.fairness, Fairness):
        return record.fairness
    return missing("fairness", "fairness evidence", record.fairness if isinstance(record.fairness, Missing) else None)


def _threshold(record: RunRecord, params: ThresholdParams, _ctx: CheckContext) -> list[Verdict]:
    fairness = _fairness(record)
    if isinstance(fairness, Verdict):
        return [fairness]
    fatal = [issue for issue in fairness.issues if NO_FAVOURABLE in issue]
    if fatal:  # every rate is 0 or undefined, so every gap "passes": that is not evidence
        return [cannot("fairness", f"the predictions cannot be scored: {fatal[0]}")]
    out = []
    for block in fairness.by_attributes:
        subject = "attribute:" + "&".join(block.attributes)
        found = next((d for d in block.disparities if d.metric == params.metric), None)
        if found is None or found.value is None:
            why = found.note if found is not None and found.note else "no value"
            out.append(Verdict(subject=subject, outcome="could_not_evaluate", message=f"{params.metric}: {why}"))
            continue
        if not math.isfinite(found.value):  # -inf <= max and inf >= min hold: a value that is no number
            out.append(cannot(subject, f"{params.metric} = {found.value}: not a finite number"))
            continue
        ok = found.value <= params.max if params.max is not None else found.value >= (params.min or 0.0)
        bound = f"<= {params.max}" if params.max is not None else f">= {params.min}"
        out.append(
            Verdict(
                subject=subject,
                outcome="pass" if ok else "fail",
                message=f"{params.metric} = {found.value:.3f} (required {bound})",
                evidence={
                    "value": found.value,
                    "ci_low": found.ci_low,
                    "ci_high": found.ci_high,
                    "groups": "; ".join("/".join(g) for g in found.groups),
                },
            )
        )
    return out or [Verdict(subject="fairness", outcome="could_not_evaluate", message="no attribute was analysed")]


def _group_sizes(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    fairness = _fairness(record)
    if isinstance(fairness, Verdict):
        return [fairness]
    out = []
    for block in fairness.by_attributes:
        subject = "attribute:" + "&".join(block.attributes)
        small = [" & ".join(g.group) for g in block.groups if g.small]
        out.append(
            Verdict(
                subject=subject,
                outcome="fail" if small else "pass",
                message=f"below {fairness.min_group_size} rows: {', '.join(small)}"
                if small
                else f"every group has at least {fairness.min_group_size} rows",
            )
        )
    return out


FAIRNESS_THRESHOLD = CheckDef(
    "fairness_threshold", ThresholdParams, _threshold, "a fairness disparity stays within a bound, per attribute"
)
GROUP_SIZES = CheckDef("min_group_size", NoParams, _group_sizes, "every group meets the minimum size")
