"""Every number of the model card's performance section, checked against scikit-learn to 1e-9: on the
sample's real predictions and on synthetic ones (ties, skewed classes, a regressor)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics
from sklearn.calibration import calibration_curve

from auditor.capture.model.performance import (
    Columns,
    PerformanceError,
    bootstrap_weights,
    classifier_performance,
    infer_task,
    regression_performance,
)
from auditor.record.model_card import ClassifierPerformance

TOL = 1e-9


def _csv(columns: dict[str, list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values(), strict=True))
    return out.getvalue().encode()


def _synthetic(
    rows: int, seed: int, rate: float = 0.7, decimals: int = 2
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < rate).astype(int)
    score = np.clip(rng.normal(0.45 + 0.25 * y, 0.2), 0, 1).round(decimals)  # rounded: many ties
    p = (score >= 0.5).astype(int)
    return _csv({"label": list(y), "prediction": list(p), "score": list(score)}), y, p, score


def _check(perf: ClassifierPerformance, y: np.ndarray, p: np.ndarray, score: np.ndarray) -> None:
    value = {e.name: e.value for e in perf.estimates}
    assert value["accuracy"] == pytest.approx(metrics.accuracy_score(y, p), abs=TOL)
    assert value["precision"] == pytest.approx(metrics.precision_score(y, p), abs=TOL)
    assert value["recall"] == pytest.approx(metrics.recall_score(y, p), abs=TOL)
    assert value["f1"] == pytest.approx(metrics.f1_score(y, p), abs=TOL)
    assert value["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, score), abs=TOL)
    assert [list(row) for row in perf.confusion] == metrics.confusion_matrix(y, p, labels=[0, 1]).tolist()
    fpr, tpr, _ = metrics.roc_curve(y, score)
    assert perf.roc_points == len(fpr)
    if len(fpr) <= 100:
        np.testing.assert_allclose(np.array(perf.roc), np.c_[fpr, tpr], atol=TOL)
    else:
        full = set(zip(fpr.tolist(), tpr.tolist(), strict=True))
        assert (
            len(perf.roc) <= 100 and set(perf.roc) <= full and perf.roc[0] == (0.0, 0.0) and perf.roc[-1] == (1.0, 1.0)
        )
    observed, predicted = calibration_curve(y, score, n_bins=10)
    np.testing.assert_allclose([b.observed_rate for b in perf.calibration], observed, atol=TOL)
    np.testing.assert_allclose([b.mean_predicted for b in perf.calibration], predicted, atol=TOL)
    assert sum(b.count for b in perf.calibration) == len(y)
    assert perf.base_rate == pytest.approx(y.mean(), abs=TOL)
    assert perf.approval_rate == pytest.approx(p.mean(), abs=TOL)
    majority = np.full_like(y, int(y.mean() >= 0.5))
    assert perf.majority_accuracy == pytest.approx(metrics.accuracy_score(y, majority), abs=TOL)
    baseline = {e.name: e.baseline for e in perf.estimates}
    assert baseline["accuracy"] == pytest.approx(metrics.accuracy_score(y, majority), abs=TOL)
    if majority[0] == 1:
        assert baseline["f1"] == pytest.approx(metrics.f1_score(y, majority), abs=TOL)
        assert baseline["precision"] == pytest.approx(metrics.precision_score(y, majority), abs=TOL)


def test_the_sample_predictions_match_scikit_learn_and_the_metrics_file(sample_run: Path) -> None:
    data = (sample_run / "outputs" / "predictions.csv").read_bytes()
    perf = classifier_performance(
        data,
        "outputs/predictions.csv",
        Columns("label", "prediction", "score", "1"),
        threshold=(0.5, "params.yaml: train.decision_threshold"),
        resamples=200,
        seed=0,
    )
    import pandas

    frame = pandas.read_csv(io.BytesIO(data))
    _check(perf, frame["label"].to_numpy(), frame["prediction"].to_numpy(), frame["score"].to_numpy())
    reported = json.loads((sample_run / "outputs" / "metrics.json").read_text())
    value = {e.name: e.value for e in perf.estimates}
    for name in ("accuracy", "roc_auc", "precision", "recall", "f1"):
        assert round(value[name], 4) == reported[name]
    assert round(value["accuracy"], 3) == 0.732 and round(value["roc_auc"], 4) == 0.7666
    assert perf.base_rate == 0.7 and perf.approval_rate == pytest.approx(0.832)  # "70% good; the model approves 83%"
    assert perf.notes == ()  # every prediction follows from score >= 0.5


@pytest.mark.parametrize(("rows", "seed", "rate", "decimals"), [(50, 1, 0.5, 1), (400, 2, 0.7, 2), (3000, 3, 0.2, 3)])
def test_synthetic_predictions_match_scikit_learn(rows: int, seed: int, rate: float, decimals: int) -> None:
    data, y, p, score = _synthetic(rows, seed, rate, decimals)
    perf = classifier_performance(
        data,
        "p.csv",
        Columns("label", "prediction", "score", "1"),
        threshold=(None, "not declared"),
        resamples=50,
        seed=0,
    )
    _check(perf, y, p, score)


def test_bootstrap_intervals_replay_with_scikit_learn_sample_weights() -> None:
    data, y, p, score = _synthetic(120, 5)
    perf = classifier_performance(
        data, "p.csv", Columns("label", "prediction", "score", "1"), threshold=(None, ""), resamples=300, seed=11
    )
    weights = np.concatenate(list(bootstrap_weights(120, 300, 11)))
    assert weights.shape == (300, 120) and (weights.sum(1) == 120).all()
    expected = {
        "accuracy": [metrics.accuracy_score(y, p, sample_weight=w) for w in weights],
        "roc_auc": [metrics.roc_auc_score(y, score, sample_weight=w) for w in weights],
        "f1": [metrics.f1_score(y, p, sample_weight=w) for w in weights],
    }
    for estimate in perf.estimates:
        if estimate.name in expected:
            low, high = np.percentile(expected[estimate.name], [2.5, 97.5])
            assert estimate.ci_low == pytest.approx(low, abs=TOL) and estimate.ci_high == pytest.approx(high, abs=TOL)


def test_a_regressor_matches_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(10, 3, 500)
    p = y + rng.normal(0, 1, 500)
    data = _csv({"target": list(y), "predicted": list(p)})
    columns = Columns("target", "predicted", None, "1")
    assert infer_task([str(v) for v in y], "1")[0] == "regression"
    perf = regression_performance(data, "r.csv", columns, resamples=100, seed=0)
    value = {e.name: e.value for e in perf.estimates}
    assert value["mae"] == pytest.approx(metrics.mean_absolute_error(y, p), abs=TOL)
    assert value["rmse"] == pytest.approx(metrics.root_mean_squared_error(y, p), abs=TOL)
    assert value["r2"] == pytest.approx(metrics.r2_score(y, p), abs=TOL)
    mean = np.full_like(y, y.mean())
    baseline = {e.name: e.baseline for e in perf.estimates}
    assert baseline["mae"] == pytest.approx(metrics.mean_absolute_error(y, mean), abs=TOL)
    assert baseline["rmse"] == pytest.approx(metrics.root_mean_squared_error(y, mean), abs=TOL)
    assert baseline["r2"] == pytest.approx(metrics.r2_score(y, mean), abs=TOL)
    weights = np.concatenate(list(bootstrap_weights(500, 100, 0)))
    r2 = [metrics.r2_score(y, p, sample_weight=w) for w in weights]
    ci = next(e for e in perf.estimates if e.name == "r2")
    assert ci.ci_low == pytest.approx(np.percentile(r2, 2.5), abs=TOL)
    assert len(perf.residuals) == 200


def test_unusable_files_say_why() -> None:
    columns = Columns("label", "prediction", "score", "1")
    for data, why in (
        (b"", "no data rows"),
        (b"label,prediction\n1,1\n", "column 'score' not found"),
        (b"\xff\xfe", "not a CSV"),
    ):
        with pytest.raises(PerformanceError, match=why):
            classifier_performance(data, "p.csv", columns, threshold=(None, ""), resamples=10, seed=0)
    odd = _csv({"label": [1, 0, 1, ""], "prediction": [1, 1, 0, 1], "score": [0.9, "x", 0.2, 0.4]})
    perf = classifier_performance(odd, "p.csv", columns, threshold=(0.5, "t"), resamples=10, seed=0)
    assert perf.rows == 3 and perf.dropped == 1
    assert any("not all finite numbers" in n for n in perf.notes) and perf.roc == ()
