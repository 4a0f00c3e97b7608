"""Record sections for fairness evidence: group metrics, comparisons with a reference group and
disparities (schema 1.1; per-group intervals, base rates, PPV, FNR and comparisons added in 1.4).

Definitions follow fairlearn's (checked against it to 1e-9 in the tests):
selection rate = P(prediction = favourable); base rate = P(label = favourable); TPR, FPR and FNR
against the label; precision (PPV) = P(label = favourable | prediction = favourable);
demographic parity difference = max - min selection rate, ratio = min / max;
equalized odds difference = max(TPR gap, FPR gap), ratio = min(TPR ratio, FPR ratio).

A rate that is undefined for a group (no favourable labels for TPR and FNR, none unfavourable for FPR,
no favourable predictions for precision) is None; fairlearn (through scikit-learn) would count it as 0.
"""

from typing import Literal

from pydantic import Field

from auditor.record.base import Frozen, Missing

NO_FAVOURABLE = "no value equals the favourable outcome"  # an issue that makes every rate meaningless

Rate = Literal[
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
]


class Interval(Frozen):
    """A bootstrap percentile interval; both ends None when no resample defines the quantity."""

    low: float | None
    high: float | None


class GroupMetrics(Frozen):
    group: tuple[str, ...] = Field(description="One value per attribute, in the attributes' order")
    count: int
    positives: int = Field(description="Rows whose label is the favourable outcome")
    selection_rate: float | None
    true_positive_rate: float | None = Field(description="None when the group has no positives")
    false_positive_rate: float | None = Field(description="None when the group has no negatives")
    accuracy: float | None
    small: bool = Field(description="Below the minimum group size: flagged, compared with its (wide) intervals")
    # 1.4
    base_rate: float | None = Field(None, description="Share of rows whose label is the favourable outcome")
    precision: float | None = Field(None, description="PPV; None when the group has no favourable predictions")
    false_negative_rate: float | None = Field(None, description="None when the group has no positives")
    intervals: dict[Rate, Interval] | None = Field(
        None, description="Bootstrap interval per rate, from the same resamples as the comparisons"
    )


class Estimate(Frozen):
    """A point estimate with its bootstrap interval (None where undefined)."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None


class GroupComparison(Frozen):
    """One group against the attribute's reference group: signed (group minus reference)."""

    group: tuple[str, ...]
    small: bool
    selection_rate_difference: Estimate
    true_positive_rate_difference: Estimate
    false_positive_rate_difference: Estimate
    selection_rate_ratio: Estimate = Field(description="Group's selection rate / the reference's (disparate impact)")


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
    # 1.4
    reference: tuple[str, ...] | None = Field(None, description="The group every other group is compared with")
    reference_basis: Literal["declared", "largest"] | None = Field(
        None, description="declared: the declared reference group(s); largest: the group with the most rows"
    )
    reference_note: str | None = Field(None, description="Why the reference is the largest group, when it is")
    comparisons: tuple[GroupComparison, ...] | None = Field(
        None, description="Every other group (small ones included) against the reference, in the groups' order"
    )


class Bootstrap(Frozen):
    resamples: int
    seed: int
    confidence: float
    # 1.4
    method: str | None = Field(None, description="How rows were resampled and intervals taken")


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
