"""Record sections for fairness evidence: group metrics and disparities (schema 1.1).

Definitions follow fairlearn's (checked against it to 1e-9 in the tests):
selection rate = P(prediction = favourable); TPR and FPR against the label;
demographic parity difference = max - min selection rate, ratio = min / max;
equalized odds difference = max(TPR gap, FPR gap), ratio = min(TPR ratio, FPR ratio).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from auditor.record.base import Frozen, Missing

NO_FAVOURABLE = "no value equals the favourable outcome"  # an issue that makes every rate meaningless


class GroupMetrics(Frozen):
    group: tuple[str, ...] = Field(description="One value per attribute, in the attributes' order")
    count: int
    positives: int = Field(description="Rows whose label is the favourable outcome")
    selection_rate: float | None
    true_positive_rate: float | None = Field(description="None when the group has no positives")
    false_positive_rate: float | None = Field(description="None when the group has no negatives")
    accuracy: float | None
    small: bool = Field(description="Below the minimum group size: shown, not used for disparities")


class Disparity(Frozen):
    metric: Literal[
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "disparate_impact_ratio",
    ]
    value: float | None = Field(description="None when fewer than two groups are large enough")
    groups: tuple[tuple[str, ...], ...] = Field(description="The groups that set the value (e.g. min and max)")
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None


class AttributeFairness(Frozen):
    attributes: tuple[str, ...] = Field(description="One attribute, or several for an intersection")
    groups: tuple[GroupMetrics, ...]
    disparities: tuple[Disparity, ...]
    issues: tuple[str, ...] = Field(description="Single group, empty or small groups, missing values")


class Bootstrap(Frozen):
    resamples: int
    seed: int
    confidence: float


class Fairness(Frozen):
    state: Literal["captured"] = "captured"
    predictions_path: str
    predictions_sha256: str
    rows: int
    label_column: str
    prediction_column: str
    score_column: str | None
    favourable_outcome: str
    min_group_size: int
    reference_groups: dict[str, str] = Field(description="Per attribute, the group disparate impact compares with")
    bootstrap: Bootstrap
    by_attributes: tuple[AttributeFairness, ...]
    issues: tuple[str, ...] = Field(description="Problems with the file as a whole (rows dropped, NaNs)")


FairnessSection = Fairness | Missing
