"""Fairness evidence: hand-computed numbers, agreement with fairlearn to 1e-9, and every degraded input.

fairlearn is the reference implementation; auditor itself must not depend on it, so it is imported here only.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from auditor.capture.fairness import PredictionsError, compute_fairness
from auditor.errors import EXIT_USAGE, UsageError
from auditor.record.fairness import AttributeFairness, Disparity, Fairness

TOL = 1e-9
FOUR_FIFTHS = "the four-fifths rule compares this ratio with 0.8, a threshold not appropriate in every context"
NO_REFERENCE = f"no reference group declared: min/max selection rate; {FOUR_FIFTHS}"

# sex, age, label, prediction: every number in test_hand_computed follows from these eight rows.
TINY = [
    ("a", "y", "1", "1"),
    ("a", "y", "1", "0"),
    ("a", "o", "0", "1"),
    ("a", "o", "0", "0"),
    ("b", "y", "1", "1"),
    ("b", "o", "1", "1"),
    ("b", "o", "0", "1"),
    ("b", "y", "0", "0"),
]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def tiny_csv(tmp_path: Path, rows: Sequence[Sequence[object]] = TINY, name: str = "predictions.csv") -> Path:
    return write_csv(tmp_path / name, ["sex", "age", "label", "prediction"], rows)


def run(path: Path, **overrides: Any) -> Fairness:
    arguments: dict[str, Any] = {
        "display_path": "predictions.csv",
        "label_column": "label",
        "prediction_column": "prediction",
        "score_column": None,
        "sensitive_columns": ["sex", "age"],
        "favourable_outcome": "1",
        "min_group_size": 1,
        "resamples": 0,
    }
    arguments.update(overrides)
    return compute_fairness(path, **arguments)


def section(fairness: Fairness, *attributes: str) -> AttributeFairness:
    return next(a for a in fairness.by_attributes if a.attributes == attributes)


def disparity(attribute: AttributeFairness, metric: str) -> Disparity:
    return next(d for d in attribute.disparities if d.metric == metric)


def values(attribute: AttributeFairness) -> dict[str, float | None]:
    return {d.metric: d.value for d in attribute.disparities}


def rows_of(attribute: AttributeFairness) -> list[tuple[object, ...]]:
    return [
        (g.group, g.count, g.positives, g.selection_rate, g.true_positive_rate, g.false_positive_rate, g.accuracy)
        for g in attribute.groups
    ]


# (1) Hand-computed ------------------------------------------------------------------------------------------


def test_hand_computed(tmp_path: Path) -> None:
    path = tiny_csv(tmp_path)
    fairness = run(path)

    assert fairness.rows == 8
    assert fairness.predictions_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fairness.issues == ()
    assert [a.attributes for a in fairness.by_attributes] == [("sex",), ("age",), ("sex", "age")]

    sex = section(fairness, "sex")
    assert rows_of(sex) == [(("a",), 4, 2, 0.5, 0.5, 0.5, 0.5), (("b",), 4, 2, 0.75, 1.0, 0.5, 0.75)]
    assert values(sex) == {
        "demographic_parity_difference": 0.25,
        "demographic_parity_ratio": 2 / 3,
        "equalized_odds_difference": 0.5,  # TPR gap 0.5 beats FPR gap 0
        "equalized_odds_ratio": 0.5,
        "disparate_impact_ratio": 2 / 3,
    }
    assert all(d.groups == (("a",), ("b",)) for d in sex.disparities)
    assert all(d.ci_low is None and d.ci_high is None for d in sex.disparities)
    assert disparity(sex, "disparate_impact_ratio").note == NO_REFERENCE
    assert sex.issues == ()

    age = section(fairness, "age")
    assert rows_of(age) == [(("o",), 4, 1, 0.75, 1.0, 2 / 3, 0.5), (("y",), 4, 3, 0.5, 2 / 3, 0.0, 0.75)]
    assert values(age) == {
        "demographic_parity_difference": 0.25,
        "demographic_parity_ratio": 2 / 3,
        "equalized_odds_difference": 2 / 3,  # FPR gap 2/3 beats TPR gap 1/3
        "equalized_odds_ratio": 0.0,  # FPR ratio 0 / (2/3)
        "disparate_impact_ratio": 2 / 3,
    }
    assert disparity(age, "equalized_odds_difference").groups == (("y",), ("o",))

    both = section(fairness, "sex", "age")
    assert rows_of(both) == [
        (("a", "o"), 2, 0, 0.5, None, 0.5, 0.5),
        (("a", "y"), 2, 2, 0.5, 0.5, None, 0.5),
        (("b", "o"), 2, 1, 1.0, 1.0, 1.0, 0.5),
        (("b", "y"), 2, 1, 0.5, 1.0, 0.0, 1.0),
    ]
    assert values(both) == {
        "demographic_parity_difference": 0.5,
        "demographic_parity_ratio": 0.5,
        "equalized_odds_difference": 1.0,  # FPR 0 for (b, y) vs 1 for (b, o); undefined rates left out
        "equalized_odds_ratio": 0.0,
        "disparate_impact_ratio": 0.5,
    }
    assert disparity(both, "demographic_parity_difference").groups == (("a", "o"), ("b", "o"))
    assert disparity(both, "equalized_odds_difference").groups == (("b", "y"), ("b", "o"))
    assert both.issues == (
        "group 'a & o' has no favourable labels: true positive rate undefined",
        "group 'a & y' has no unfavourable labels: false positive rate undefined",
    )


def test_values_are_stripped_and_compared_numerically(tmp_path: Path) -> None:
    messy = [(f" {s} ", a, label.replace("1", "1.0"), f"{p} ") for s, a, label, p in TINY]
    plain, spelled = run(tiny_csv(tmp_path)), run(tiny_csv(tmp_path, messy, name="messy.csv"))
    assert [rows_of(a) for a in spelled.by_attributes] == [rows_of(a) for a in plain.by_attributes]
    assert spelled.issues == ()


def test_intersections_off_and_every_pair(tmp_path: Path) -> None:
    rows = [(*row, "z") for row in TINY]
    path = write_csv(tmp_path / "p.csv", ["sex", "age", "label", "prediction", "region"], rows)
    assert [a.attributes for a in run(path, intersections=False).by_attributes] == [("sex",), ("age",)]
    three = run(path, sensitive_columns=["sex", "age", "region"])
    assert [a.attributes for a in three.by_attributes][3:] == [("sex", "age"), ("sex", "region"), ("age", "region")]


# (2) Agreement with fairlearn on realistic data -------------------------------------------------------------

ENCODINGS = {"ints": ("1", "0", "1"), "floats": ("1.0", "0.0", "1"), "words": ("good", "bad", "good")}


def synthetic(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Credit-like data: base rates differ by sex and age, and the classifier favours men and older applicants."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.4, 0.6])
    age = rng.choice(["<25", "25-40", "40+"], n, p=[0.2, 0.45, 0.35])
    base = 0.55 + 0.1 * (sex == "male") - 0.15 * (age == "<25") + 0.05 * (age == "40+")
    label = (rng.random(n) < base).astype(int)
    logit = 2.0 * (label - 0.5) + 0.7 * (sex == "male") - 0.6 * (age == "<25") + rng.normal(0, 1.0, n)
    score = 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"applicant_id": np.arange(n), "sex": sex, "age_group": age, "label": label, "prediction": (score > 0.5) * 1}
    ).assign(score=score.round(6))


def write_frame(frame: pd.DataFrame, path: Path, favourable: str, unfavourable: str) -> Path:
    spelled = frame.assign(
        label=np.where(frame.label == 1, favourable, unfavourable),
        prediction=np.where(frame.prediction == 1, favourable, unfavourable),
    )
    spelled.to_csv(path, index=False)
    return path


def credit(path: Path, **overrides: Any) -> Fairness:
    arguments: dict[str, Any] = {"score_column": "score", "sensitive_columns": ["sex", "age_group"]}
    return run(path, **{**arguments, **overrides})


def fairlearn_groups(frame: pd.DataFrame, attributes: tuple[str, ...]) -> pd.DataFrame:
    metrics = {
        "count": lambda y, p: len(y),
        "positives": lambda y, p: int(np.sum(y)),
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "accuracy": accuracy_score,
    }
    sensitive = frame[list(attributes)]
    by_group: pd.DataFrame = MetricFrame(
        metrics=metrics, y_true=frame.label, y_pred=frame.prediction, sensitive_features=sensitive
    ).by_group
    by_group.index = [key if isinstance(key, tuple) else (key,) for key in by_group.index]
    return by_group


def fairlearn_disparities(frame: pd.DataFrame, attributes: tuple[str, ...]) -> dict[str, float]:
    arguments = {"y_true": frame.label, "y_pred": frame.prediction, "sensitive_features": frame[list(attributes)]}
    ratio = demographic_parity_ratio(**arguments)
    return {
        "demographic_parity_difference": demographic_parity_difference(**arguments),
        "demographic_parity_ratio": ratio,
        "equalized_odds_difference": equalized_odds_difference(**arguments, agg="worst_case"),
        "equalized_odds_ratio": equalized_odds_ratio(**arguments, agg="worst_case"),
        "disparate_impact_ratio": ratio,
    }


def assert_matches_fairlearn(attribute: AttributeFairness, frame: pd.DataFrame) -> None:
    expected = fairlearn_groups(frame, attribute.attributes)
    assert [g.group for g in attribute.groups] == list(expected.index)
    for group in attribute.groups:
        row = expected.loc[[group.group]].iloc[0]
        if group.count == 0:  # an empty intersection: fairlearn lists it with NaN everywhere
            assert row.isna().all() and group.selection_rate is None and group.accuracy is None
            continue
        assert (group.count, group.positives) == (row["count"], row["positives"])
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"):
            assert getattr(group, metric) == pytest.approx(row[metric], abs=TOL), (group.group, metric)
    for metric, value in fairlearn_disparities(frame, attribute.attributes).items():
        assert disparity(attribute, metric).value == pytest.approx(value, abs=TOL), (attribute.attributes, metric)
    low, high = disparity(attribute, "demographic_parity_difference").groups
    assert (low, high) == (expected.selection_rate.idxmin(), expected.selection_rate.idxmax())


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_agrees_with_fairlearn(tmp_path: Path, encoding: str) -> None:
    favourable, unfavourable, declared = ENCODINGS[encoding]
    frame = synthetic()
    fairness = credit(write_frame(frame, tmp_path / "p.csv", favourable, unfavourable), favourable_outcome=declared)
    assert fairness.rows == 2000 and fairness.issues == ()
    assert [a.attributes for a in fairness.by_attributes] == [("sex",), ("age_group",), ("sex", "age_group")]
    assert len(section(fairness, "sex", "age_group").groups) == 6
    for attribute in fairness.by_attributes:
        assert attribute.issues == ()
        assert_matches_fairlearn(attribute, frame)


def test_equalized_odds_groups_set_the_gap(tmp_path: Path) -> None:
    fairness = credit(write_frame(synthetic(), tmp_path / "p.csv", "1", "0"))
    for attribute in fairness.by_attributes:
        rates = {g.group: g for g in attribute.groups}
        difference = disparity(attribute, "equalized_odds_difference")
        low, high = (rates[g] for g in difference.groups)
        gaps = [high.true_positive_rate - low.true_positive_rate, high.false_positive_rate - low.false_positive_rate]  # type: ignore[operator]
        assert difference.value == pytest.approx(max(gaps), abs=TOL)


# (3) Small groups -------------------------------------------------------------------------------------------


def test_small_groups_are_shown_but_excluded(tmp_path: Path) -> None:
    frame = synthetic()
    frame.loc[frame.index[:12], "sex"] = "other"
    fairness = credit(write_frame(frame, tmp_path / "p.csv", "1", "0"), min_group_size=30)
    sex = section(fairness, "sex")
    other = next(g for g in sex.groups if g.group == ("other",))
    assert (other.count, other.small) == (12, True)
    assert sex.issues == (
        "group 'other' has 12 rows, below the minimum of 30: compared with its interval, left out of the "
        "attribute-level disparities",
    )
    assert_matches_fairlearn(section(credit(write_frame(frame, tmp_path / "q.csv", "1", "0")), "sex"), frame)
    large = frame[frame.sex != "other"]
    for metric, value in fairlearn_disparities(large, ("sex",)).items():
        assert disparity(sex, metric).value == pytest.approx(value, abs=TOL)
    both = section(fairness, "sex", "age_group")
    small = [g.group for g in both.groups if g.small]
    assert small == [g.group for g in both.groups if g.group[0] == "other"]
    assert both.issues[:3] == (
        "group 'other & 25-40' has 7 rows, below the minimum of 30: compared with its interval, left out of the "
        "attribute-level disparities",
        "group 'other & 40+' has 4 rows, below the minimum of 30: compared with its interval, left out of the "
        "attribute-level disparities",
        "group 'other & <25' has 1 row, below the minimum of 30: compared with its interval, left out of the "
        "attribute-level disparities",
    )
    for metric, value in fairlearn_disparities(large, ("sex", "age_group")).items():
        assert disparity(both, metric).value == pytest.approx(value, abs=TOL)


def test_too_few_large_groups(tmp_path: Path) -> None:
    fairness = run(tiny_csv(tmp_path), min_group_size=5, intersections=False)
    sex = section(fairness, "sex")
    assert [g.small for g in sex.groups] == [True, True]
    assert sex.issues[-1] == "fewer than two groups have at least 5 rows: no attribute-level disparity can be computed"
    assert all(d.value is None and d.groups == () for d in sex.disparities)
    assert {d.note for d in sex.disparities} == {"fewer than two groups have at least 5 rows"}


def test_empty_intersection_is_listed(tmp_path: Path) -> None:
    frame = synthetic()
    frame = frame[(frame.sex == "male") | (frame.age_group != "<25")]
    fairness = credit(write_frame(frame, tmp_path / "p.csv", "1", "0"), min_group_size=30)
    both = section(fairness, "sex", "age_group")
    empty = next(g for g in both.groups if g.group == ("female", "<25"))
    assert (empty.count, empty.small, empty.true_positive_rate, empty.accuracy) == (0, True, None, None)
    assert both.issues == ("group 'female & <25' has no rows: nothing to compare",)
    assert_matches_fairlearn(both, frame)


# (4) Degraded input -----------------------------------------------------------------------------------------


def test_single_group(tmp_path: Path) -> None:
    rows = [("a", age, label, prediction) for _, age, label, prediction in TINY]
    sex = section(run(tiny_csv(tmp_path, rows)), "sex")
    assert sex.issues == ("only one group: no disparity can be computed",)
    assert len(sex.groups) == 1 and all(d.value is None for d in sex.disparities)


def test_missing_cells_drop_rows(tmp_path: Path) -> None:
    rows = [*TINY, ("", "y", "1", "1"), ("a", "NaN", "1", "1"), ("b", "o", "", "1"), ("a", "y", "1", "nan")]
    fairness = run(tiny_csv(tmp_path, rows))
    assert fairness.rows == 12
    assert fairness.issues == ("4 of 12 rows dropped for missing values (sex: 1, age: 1, label: 1, prediction: 1)",)
    assert [rows_of(a) for a in fairness.by_attributes] == [rows_of(a) for a in run(tiny_csv(tmp_path)).by_attributes]


def test_short_rows_count_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("sex,age,label,prediction\na,y,1,1\nb,o,0\n")
    assert run(path).issues == ("1 of 2 rows dropped for missing values (prediction: 1)",)


def test_every_row_missing(tmp_path: Path) -> None:
    fairness = run(tiny_csv(tmp_path, [("", "y", "1", "1")]))
    assert section(fairness, "sex").issues == ("no rows: no disparity can be computed",)


def test_outcomes_that_never_match_the_favourable_value(tmp_path: Path) -> None:
    rows = [(s, a, "yes" if label == "1" else "no", "maybe" if p == "1" else "no") for s, a, label, p in TINY]
    fairness = run(tiny_csv(tmp_path, [*rows, ("a", "y", "no", "1")]))
    assert fairness.issues == (
        "column 'label': no value equals the favourable outcome '1' (values: no, yes)",
        "column 'prediction' has 2 unfavourable values (maybe, no): all count as unfavourable",
    )
    assert all(g.true_positive_rate is None for g in section(fairness, "sex").groups)


def test_missing_column_message(tmp_path: Path) -> None:
    with pytest.raises(PredictionsError) as raised:
        run(tiny_csv(tmp_path), sensitive_columns=["sex", "foo"])
    assert raised.value.message == "predictions.csv: column 'foo' not found (columns: sex, age, label, prediction)"
    assert isinstance(raised.value, UsageError) and raised.value.exit_code == EXIT_USAGE
    with pytest.raises(PredictionsError, match=r"column 'score' not found"):
        run(tiny_csv(tmp_path), score_column="score")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "predictions.csv: not a CSV file: 'utf-8' codec can't decode"),
        (b"", "predictions.csv: not a CSV file: no header row"),
        (b"sex,age,label,prediction\n\n", "predictions.csv: no data rows"),
        (b'sex,age,label,prediction\n"a,y,1,1\n', "predictions.csv: not a CSV file: unexpected end of data"),
        (b'sex,age,label,prediction\n"a"b,y,1,1\n', "predictions.csv: not a CSV file: ',' expected after '\"'"),
    ],
    ids=["binary", "empty", "header-only", "open-quote", "bad-quote"],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "predictions.csv"
    path.write_bytes(content)
    with pytest.raises(PredictionsError) as raised:
        run(path)
    assert raised.value.message.startswith(message)
    assert "\n" not in raised.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PredictionsError, match=r"^outputs/p\.csv: cannot read predictions file: No such file"):
        run(tmp_path / "absent.csv", display_path="outputs/p.csv")
    with pytest.raises(PredictionsError, match=r"^outputs/p\.csv: cannot read predictions file"):
        run(tmp_path, display_path="outputs/p.csv")


@pytest.mark.parametrize("bad", [{"resamples": -1}, {"confidence": 1.0}, {"min_group_size": 0}])
def test_bad_parameters(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        run(tiny_csv(tmp_path), **bad)


# (5) Bootstrap ----------------------------------------------------------------------------------------------


def intervals(fairness: Fairness) -> list[tuple[float | None, float | None]]:
    return [(d.ci_low, d.ci_high) for a in fairness.by_attributes for d in a.disparities]


def test_bootstrap_is_deterministic(tmp_path: Path) -> None:
    path = write_frame(synthetic(), tmp_path / "p.csv", "1", "0")
    first, again, other = (credit(path, resamples=200, seed=seed) for seed in (3, 3, 4))
    assert intervals(first) == intervals(again)
    assert intervals(first) != intervals(other)
    assert first.bootstrap.model_dump(exclude={"method"}) == {"resamples": 200, "seed": 3, "confidence": 0.95}
    assert "not stratified" in (first.bootstrap.method or "")


def test_interval_contains_the_estimate(tmp_path: Path) -> None:
    fairness = credit(write_frame(synthetic(), tmp_path / "p.csv", "1", "0"), resamples=1000, min_group_size=30)
    for attribute in fairness.by_attributes:
        for d in attribute.disparities:
            assert d.value is not None and d.ci_low is not None and d.ci_high is not None
            assert d.ci_low <= d.value <= d.ci_high, (attribute.attributes, d.metric)
            assert d.ci_high - d.ci_low < 0.5


def test_wider_confidence_gives_wider_intervals(tmp_path: Path) -> None:
    path = write_frame(synthetic(), tmp_path / "p.csv", "1", "0")
    narrow, wide = (credit(path, resamples=300, confidence=c) for c in (0.8, 0.99))
    for (nl, nh), (wl, wh) in zip(intervals(narrow), intervals(wide), strict=True):
        assert wl <= nl and nh <= wh  # type: ignore[operator]


# (6) Reference groups ---------------------------------------------------------------------------------------


def test_reference_group_disparate_impact(tmp_path: Path) -> None:
    frame = synthetic()
    fairness = credit(write_frame(frame, tmp_path / "p.csv", "1", "0"), reference_groups={"age_group": "40+"})
    age = section(fairness, "age_group")
    rates = frame.groupby("age_group").prediction.mean()
    ratios = rates.drop("40+") / rates["40+"]
    impact = disparity(age, "disparate_impact_ratio")
    assert impact.value == pytest.approx(ratios.min(), abs=TOL)
    assert impact.groups == ((ratios.idxmin(),), ("40+",))
    assert impact.note == f"lowest selection rate relative to reference group '40+'; {FOUR_FIFTHS}"
    assert disparity(section(fairness, "sex"), "disparate_impact_ratio").note == NO_REFERENCE
    assert disparity(section(fairness, "sex", "age_group"), "disparate_impact_ratio").note == NO_REFERENCE
    assert fairness.reference_groups == {"age_group": "40+"}


def test_reference_group_by_hand(tmp_path: Path) -> None:
    # a: selection 0.5, b: 0.75; against b the only other group gives 0.5 / 0.75, against a 0.75 / 0.5.
    against_b = section(run(tiny_csv(tmp_path), reference_groups={"sex": "b"}), "sex")
    assert disparity(against_b, "disparate_impact_ratio").value == 0.5 / 0.75
    against_a = section(run(tiny_csv(tmp_path), reference_groups={"sex": "a"}), "sex")
    assert disparity(against_a, "disparate_impact_ratio").value == 1.5
    assert disparity(against_a, "disparate_impact_ratio").groups == (("b",), ("a",))


def test_unusable_reference_groups(tmp_path: Path) -> None:
    fairness = run(tiny_csv(tmp_path), reference_groups={"sex": "c", "region": "north"})
    assert fairness.issues == ("reference group declared for 'region', which is not a sensitive column",)
    impact = disparity(section(fairness, "sex"), "disparate_impact_ratio")
    assert impact.value is None
    assert impact.note == "reference group 'c' is absent or has fewer than 1 rows"
    assert disparity(section(fairness, "sex"), "demographic_parity_ratio").value == 0.5 / 0.75
