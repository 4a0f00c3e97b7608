"""Per-group numbers, comparisons with the reference group, and every bootstrap interval.

Point estimates are checked against fairlearn and scikit-learn (the reference implementations) to 1e-9;
intervals against an independent computation written here with plain loops over the same resamples
(auditor draws the rows as multinomial cell counts: the same law as resampling rows), and against a
bootstrap that really resamples rows one by one, which must agree up to Monte Carlo noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

from auditor.record.fairness import AttributeFairness, Fairness
from tests.capture.test_fairness import credit, disparity, section, synthetic, write_frame

TOL = 1e-9
RATE_FIELDS = {
    "selection_rate": "selection_rate",
    "true_positive_rate": "true_positive_rate",
    "false_positive_rate": "false_positive_rate",
    "false_negative_rate": "false_negative_rate",
    "precision": "precision",
    "accuracy": "accuracy",
    "base_rate": "base_rate",
}


def _precision(y: pd.Series, p: pd.Series) -> float:
    return float(precision_score(y, p, zero_division=np.nan))


def reference_by_group(frame: pd.DataFrame, attributes: tuple[str, ...]) -> pd.DataFrame:
    """fairlearn's MetricFrame with scikit-learn's precision and accuracy, and the base rate."""
    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": _precision,
        "accuracy": accuracy_score,
        "base_rate": lambda y, p: float(np.mean(y)),
    }
    by_group: pd.DataFrame = MetricFrame(
        metrics=metrics, y_true=frame.label, y_pred=frame.prediction, sensitive_features=frame[list(attributes)]
    ).by_group
    by_group.index = [key if isinstance(key, tuple) else (key,) for key in by_group.index]
    return by_group


def assert_groups_match_references(block: AttributeFairness, frame: pd.DataFrame) -> None:
    """Every group's rates and every signed difference to the reference, against fairlearn / scikit-learn."""
    expected = reference_by_group(frame, block.attributes)
    groups = {g.group: g for g in block.groups}
    for group in block.groups:
        if group.count == 0:
            continue
        row = expected.loc[[group.group]].iloc[0]
        for metric, field in RATE_FIELDS.items():
            mine = getattr(group, field)
            if mine is None:  # undefined: scikit-learn says 0 (or NaN with zero_division=nan)
                assert row[metric] in (0.0,) or np.isnan(row[metric]), (group.group, metric)
                continue
            assert mine == pytest.approx(row[metric], abs=TOL), (group.group, metric)
    assert block.reference is not None and block.comparisons is not None
    ref = expected.loc[[block.reference]].iloc[0]
    assert [c.group for c in block.comparisons] == [g.group for g in block.groups if g.group != block.reference]
    for c in block.comparisons:
        if groups[c.group].count == 0:
            assert c.selection_rate_difference.value is None
            continue
        row = expected.loc[[c.group]].iloc[0]
        for field, metric in (
            ("selection_rate_difference", "selection_rate"),
            ("true_positive_rate_difference", "true_positive_rate"),
            ("false_positive_rate_difference", "false_positive_rate"),
        ):
            value = getattr(c, field).value
            assert value == pytest.approx(row[metric] - ref[metric], abs=TOL), (c.group, field)
        assert c.selection_rate_ratio.value == pytest.approx(row["selection_rate"] / ref["selection_rate"], abs=TOL)
    if not any(g.small for g in block.groups):
        arguments = {
            "y_true": frame.label,
            "y_pred": frame.prediction,
            "sensitive_features": frame[list(block.attributes)],
        }
        dpd = disparity(block, "demographic_parity_difference").value
        eod = disparity(block, "equalized_odds_difference").value
        assert dpd == pytest.approx(demographic_parity_difference(**arguments), abs=TOL)
        assert eod == pytest.approx(equalized_odds_difference(**arguments), abs=TOL)


# --- an independent bootstrap: loops, not auditor's vectorised code -------------------------------------------


def _cells(frame: pd.DataFrame, block: AttributeFairness) -> np.ndarray:
    """Counts per (group, label, prediction) in the order of the record's groups."""
    cells = np.zeros((len(block.groups), 2, 2))
    keys = list(zip(*(frame[a].astype(str) for a in block.attributes), strict=True))
    position = {g.group: i for i, g in enumerate(block.groups)}
    for key, label, prediction in zip(keys, frame.label, frame.prediction, strict=True):
        cells[position[key], int(label), int(prediction)] += 1
    return cells


def _rate(cell: np.ndarray, name: str) -> float:
    (tn, fp), (fn, tp) = cell
    parts = {
        "selection_rate": (fp + tp, tn + fp + fn + tp),
        "base_rate": (fn + tp, tn + fp + fn + tp),
        "true_positive_rate": (tp, fn + tp),
        "false_positive_rate": (fp, tn + fp),
        "false_negative_rate": (fn, fn + tp),
        "precision": (tp, fp + tp),
        "accuracy": (tn + tp, tn + fp + fn + tp),
    }
    top, bottom = parts[name]
    return top / bottom if bottom else float("nan")


def _interval(values: list[float]) -> tuple[float | None, float | None]:
    defined = [v for v in values if not np.isnan(v)]
    if not defined:
        return None, None
    low, high = np.percentile(defined, [2.5, 97.5])
    return float(low), float(high)


def independent_intervals(cells: np.ndarray, resamples: int, seed: int, ref: int) -> dict[str, Any]:
    """The same resamples (rows drawn with replacement, as multinomial cell counts), every number by hand."""
    total = int(cells.sum())
    draws = np.random.default_rng(seed).multinomial(total, cells.ravel() / total, size=resamples)
    per_draw = [d.reshape(cells.shape) for d in draws]
    out: dict[str, Any] = {}
    for g in range(cells.shape[0]):
        for name in RATE_FIELDS:
            out[("rate", g, name)] = _interval([_rate(d[g], name) for d in per_draw])
        for name in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            out[("difference", g, name)] = _interval([_rate(d[g], name) - _rate(d[ref], name) for d in per_draw])
        ratios = []
        for d in per_draw:
            base = _rate(d[ref], "selection_rate")
            ratios.append(_rate(d[g], "selection_rate") / base if base > 0 else float("nan"))
        out[("ratio", g)] = _interval(ratios)
    return out


def _matches(mine: tuple[float | None, float | None], expected: tuple[float | None, float | None]) -> bool:
    if expected == (None, None):
        return mine == (None, None)
    return mine[0] == pytest.approx(expected[0], abs=TOL) and mine[1] == pytest.approx(expected[1], abs=TOL)


def assert_intervals_independent(block: AttributeFairness, frame: pd.DataFrame, resamples: int, seed: int) -> None:
    cells = _cells(frame, block)
    ref = [g.group for g in block.groups].index(block.reference)
    expected = independent_intervals(cells, resamples, seed, ref)
    for g, group in enumerate(block.groups):
        assert group.intervals is not None
        for name in RATE_FIELDS:
            got = (group.intervals[name].low, group.intervals[name].high)  # type: ignore[index]
            assert _matches(got, expected[("rate", g, name)]), (group.group, name)
    assert block.comparisons is not None
    index = {gr.group: i for i, gr in enumerate(block.groups)}
    for c in block.comparisons:
        g = index[c.group]
        for field, name in (
            ("selection_rate_difference", "selection_rate"),
            ("true_positive_rate_difference", "true_positive_rate"),
            ("false_positive_rate_difference", "false_positive_rate"),
        ):
            e = getattr(c, field)
            if e.value is not None:
                assert _matches((e.ci_low, e.ci_high), expected[("difference", g, name)]), (c.group, field)
        if c.selection_rate_ratio.value is not None:
            ratio = c.selection_rate_ratio
            assert _matches((ratio.ci_low, ratio.ci_high), expected[("ratio", g)]), c.group


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic()


def _captured(tmp_path: Path, frame: pd.DataFrame, **overrides: Any) -> Fairness:
    arguments: dict[str, Any] = {"min_group_size": 30, "resamples": 300, "seed": 11}
    return credit(write_frame(frame, tmp_path / "p.csv", "1", "0"), **{**arguments, **overrides})


def test_every_group_number_and_difference_agrees_with_fairlearn_and_sklearn(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    fairness = _captured(tmp_path, frame, reference_groups={"sex": "male", "age_group": "25-40"})
    for block in fairness.by_attributes:
        assert_groups_match_references(block, frame)


def test_intervals_agree_with_an_independent_bootstrap_on_the_same_resamples(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    small = frame.copy()
    small.loc[small.index[:12], "sex"] = "other"  # a small group, and small intersections, get intervals too
    fairness = _captured(tmp_path, small, reference_groups={"sex": "male"})
    for block in fairness.by_attributes:
        assert_intervals_independent(block, small, resamples=300, seed=11)


def test_the_multinomial_draw_is_the_row_bootstrap(tmp_path: Path, frame: pd.DataFrame) -> None:
    """Resampling rows one by one gives the same intervals up to Monte Carlo noise (4,000 resamples each)."""
    fairness = _captured(tmp_path, frame, resamples=4000, seed=5, reference_groups={"sex": "male"})
    sex = section(fairness, "sex")
    rng = np.random.default_rng(99)
    female_rates, differences = [], []
    male, female = frame.sex == "male", frame.sex == "female"
    for _ in range(4000):
        rows = rng.integers(0, len(frame), len(frame))
        chosen, is_male, is_female = frame.prediction.to_numpy()[rows], male.to_numpy()[rows], female.to_numpy()[rows]
        female_rates.append(chosen[is_female].mean())
        differences.append(chosen[is_female].mean() - chosen[is_male].mean())
    female_group = next(g for g in sex.groups if g.group == ("female",))
    assert female_group.intervals is not None
    interval = female_group.intervals["selection_rate"]
    assert (interval.low, interval.high) == pytest.approx(tuple(np.percentile(female_rates, [2.5, 97.5])), abs=0.01)
    assert sex.comparisons is not None
    (comparison,) = sex.comparisons
    difference = comparison.selection_rate_difference
    assert (difference.ci_low, difference.ci_high) == pytest.approx(
        tuple(np.percentile(differences, [2.5, 97.5])), abs=0.01
    )


def test_equal_groups_give_a_signed_interval_around_zero(tmp_path: Path) -> None:
    """Two groups with identical data: the disparity is 0 and its interval must be able to say so."""
    rng = np.random.default_rng(3)
    label = (rng.random(300) < 0.7).astype(int)
    prediction = np.where(rng.random(300) < 0.8, label, 1 - label)
    half = pd.DataFrame({"label": label, "prediction": prediction})
    frame = pd.concat([half.assign(sex="female"), half.assign(sex="male")], ignore_index=True).assign(
        age_group="all", score=0.5
    )
    fairness = _captured(tmp_path, frame, intersections=False)
    sex = section(fairness, "sex")
    for metric in ("demographic_parity_difference", "equalized_odds_difference"):
        d = disparity(sex, metric)
        assert d.value == pytest.approx(0.0, abs=TOL)
        assert d.ci_low is not None and d.ci_high is not None and d.ci_low < 0 < d.ci_high, metric
    assert sex.comparisons is not None
    assert (
        sex.comparisons[0].selection_rate_difference.ci_low < 0 < sex.comparisons[0].selection_rate_difference.ci_high
    )  # type: ignore[operator]


def test_attribute_level_intervals_keep_the_observed_pair(tmp_path: Path, frame: pd.DataFrame) -> None:
    """The interval of max - min is the interval of the signed difference between the observed pair."""
    fairness = _captured(tmp_path, frame, reference_groups={"sex": "male"}, intersections=False)
    sex = section(fairness, "sex")
    d = disparity(sex, "demographic_parity_difference")
    low_group, high_group = d.groups
    assert sex.comparisons is not None and sex.reference == ("male",)
    (c,) = sex.comparisons
    signed = c.selection_rate_difference  # female - male
    if high_group == ("male",):  # max - min = male - female = -(female - male)
        assert (d.ci_low, d.ci_high) == pytest.approx((-signed.ci_high, -signed.ci_low), abs=TOL)  # type: ignore[operator]
    else:
        assert (d.ci_low, d.ci_high) == pytest.approx((signed.ci_low, signed.ci_high), abs=TOL)
    assert low_group != high_group


def test_small_groups_keep_every_number_and_are_compared(tmp_path: Path, frame: pd.DataFrame) -> None:
    fairness = _captured(tmp_path, frame, reference_groups={"sex": "male", "age_group": "25-40"}, min_group_size=250)
    both = section(fairness, "sex", "age_group")
    small = [g for g in both.groups if g.small]
    assert [g.group for g in small] == [("female", "<25"), ("male", "<25")]  # 165 and 222 rows
    assert both.comparisons is not None
    compared = {c.group for c in both.comparisons}
    for group in small:
        assert group.group in compared
        assert group.intervals is not None and group.intervals["selection_rate"].low is not None
        assert group.base_rate is not None and group.false_negative_rate is not None
    assert (both.reference, both.reference_basis, both.reference_note) == (("male", "25-40"), "declared", None)


def test_the_reference_is_the_declared_group_else_the_largest(tmp_path: Path, frame: pd.DataFrame) -> None:
    fairness = _captured(tmp_path, frame, reference_groups={"sex": "female"}, resamples=0)
    assert (section(fairness, "sex").reference, section(fairness, "sex").reference_basis) == (("female",), "declared")
    age = section(fairness, "age_group")
    counts = {g.group: g.count for g in age.groups}
    assert age.reference == max(counts, key=counts.__getitem__) and age.reference_basis == "largest"
    assert age.reference_note == "no reference group declared for age_group: the largest group"
    both = section(fairness, "sex", "age_group")
    assert both.reference_basis == "largest" and both.reference_note is not None and "age_group" in both.reference_note
    assert all(c.selection_rate_difference.ci_low is None for c in both.comparisons or ())  # no bootstrap: no interval
    gone = _captured(tmp_path, frame, reference_groups={"sex": "nobody"}, resamples=0, intersections=False)
    sex = section(gone, "sex")
    assert sex.reference_basis == "largest" and sex.reference_note == (
        "the declared reference 'nobody' has no rows: the largest group instead"
    )
