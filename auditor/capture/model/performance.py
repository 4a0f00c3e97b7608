"""Model performance computed by auditor from the declared predictions file, with numpy only.

Classifiers (the favourable outcome is the positive class): accuracy, precision, recall, F1 and ROC AUC
(from the score column), each with a percentile-bootstrap 95% interval, the confusion matrix, the ROC
curve (scikit-learn's `roc_curve` with `drop_intermediate`, downsampled to at most 100 points), a
10-bin calibration curve (`sklearn.calibration.calibration_curve`, uniform bins) and the majority-class
baseline. Regressors: MAE, RMSE and R² against the mean predictor, and residuals. The tests check every
number against scikit-learn to 1e-9.

The bootstrap draws row indices with replacement (`numpy.random.default_rng(seed)`, as many resamples
as the fairness section) and evaluates each metric on the resampled rows through per-row weights, so
one sort serves every resample; `bootstrap_weights` is public so the tests can replay it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from auditor.record.model_card import CalibrationBin, ClassifierPerformance, Estimate, RegressionPerformance

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na"})
MAX_ROC_POINTS = 100
MAX_RESIDUALS = 200
CALIBRATION_BINS = 10
CONFIDENCE = 0.95
WORK_CELLS = 4_000_000  # resamples x rows evaluated at once
MAX_BOOTSTRAP_CELLS = 200_000_000  # past this, fewer resamples (noted): bounded time on huge files
Floats = NDArray[np.float64]


class PerformanceError(Exception):
    """The predictions file cannot give performance figures; the message says why."""


@dataclass(frozen=True)
class Columns:
    label: str
    prediction: str
    score: str | None
    favourable: str


def _is_favourable(value: str, favourable: str) -> bool:
    if value == favourable:
        return True
    try:
        return float(value) == float(favourable)
    except ValueError:
        return False


def read_columns(data: bytes, wanted: list[str]) -> tuple[dict[str, list[str]], int, int]:
    """The wanted columns over rows with no missing value in them; (columns, rows in file, rows dropped)."""
    try:
        rows = [r for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True) if r]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PerformanceError(f"not a CSV file: {exc}") from exc
    if len(rows) < 2:
        raise PerformanceError("no data rows")
    header = [name.strip() for name in rows[0]]
    absent = [name for name in wanted if name not in header]
    if absent:
        raise PerformanceError(f"column '{absent[0]}' not found")
    index = [header.index(name) for name in wanted]
    kept = []
    for row in rows[1:]:
        cells = [row[i].strip() if i < len(row) else "" for i in index]
        if not any(c.lower() in MISSING_MARKERS for c in cells):
            kept.append(cells)
    columns = {name: [cells[i] for cells in kept] for i, name in enumerate(wanted)}
    return columns, len(rows) - 1, len(rows) - 1 - len(kept)


def numbers(values: list[str]) -> Floats | None:
    try:
        out = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return None
    return out if np.isfinite(out).all() else None


def infer_task(label: list[str], favourable: str) -> tuple[str, str]:
    """('classification' | 'regression', why) from the label values."""
    distinct = set(label)
    as_numbers = numbers(sorted(distinct))
    if as_numbers is not None and len(distinct) > 2 and not any(_is_favourable(v, favourable) for v in distinct):
        return "regression", f"numeric label with {len(distinct)} distinct values, none the favourable outcome"
    return "classification", f"label with {len(distinct)} distinct value{'s' * (len(distinct) != 1)}"


def bootstrap_weights(rows: int, resamples: int, seed: int) -> Iterator[NDArray[np.int64]]:
    """Per-row counts of each resample (rows drawn with replacement), in chunks of resamples."""
    rng = np.random.default_rng(seed)
    chunk = max(1, WORK_CELLS // max(rows, 1))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        drawn = rng.integers(0, rows, size=(size, rows))
        offsets = (np.arange(size) * rows)[:, None]
        yield np.bincount((drawn + offsets).ravel(), minlength=size * rows).reshape(size, rows)
        done += size


def _interval(values: Floats) -> tuple[float | None, float | None]:
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)


def _ratio(num: Floats, den: Floats) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _classifier_metrics(w: Floats, y: Floats, p: Floats) -> dict[str, Floats]:
    """Accuracy, precision, recall, F1 for each row of weights `w` (resamples x rows)."""
    tp = w @ (y * p)
    fp = w @ ((1 - y) * p)
    fn = w @ (y * (1 - p))
    total = w.sum(-1)
    return {
        "accuracy": _ratio(w @ (y == p).astype(np.float64), total),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


@dataclass(frozen=True)
class _Ranked:
    """Rows sorted by score, with the start of each run of equal scores: one sort for every resample."""

    order: NDArray[np.intp]
    starts: NDArray[np.intp]
    labels: Floats


def _ranked(y: Floats, score: Floats) -> _Ranked:
    order = np.argsort(score, kind="stable")
    sorted_scores = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    return _Ranked(order, starts, y[order])


def _auc(w: Floats, ranked: _Ranked) -> Floats:
    """Weighted ROC AUC (Mann-Whitney with ties counted half) for each row of weights."""
    ws = w[:, ranked.order]
    pos = np.add.reduceat(ws * ranked.labels, ranked.starts, axis=1)
    neg = np.add.reduceat(ws * (1 - ranked.labels), ranked.starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    return _ratio((pos * (below + 0.5 * neg)).sum(-1), pos.sum(-1) * neg.sum(-1))


def _bootstrap(
    rows: int, resamples: int, seed: int, metrics: Callable[[Floats], dict[str, Floats]]
) -> dict[str, Floats]:
    parts: dict[str, list[Floats]] = {}
    for weights in bootstrap_weights(rows, resamples, seed):
        for name, values in metrics(weights.astype(np.float64)).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def _resamples(rows: int, wanted: int, notes: list[str]) -> int:
    if rows * wanted <= MAX_BOOTSTRAP_CELLS:
        return wanted
    fewer = max(1, MAX_BOOTSTRAP_CELLS // rows)
    notes.append(f"{rows} rows: the bootstrap used {fewer} resamples instead of {wanted}")
    return fewer


def roc_points(y: Floats, score: Floats) -> list[tuple[float, float]]:
    """scikit-learn's roc_curve (drop_intermediate=True) as (FPR, TPR) points, from (0, 0)."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s, t = score[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), t.size - 1]
    tps = np.cumsum(t)[ends]
    fps = 1 + ends - tps
    if tps.size > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        tps, fps = tps[keep], fps[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return []
    return list(zip((fps / fps[-1]).tolist(), (tps / tps[-1]).tolist(), strict=True))


def downsample(points: list[tuple[float, float]], limit: int) -> tuple[tuple[float, float], ...]:
    """At most `limit` points, evenly spaced along the list, first and last kept."""
    if len(points) <= limit:
        return tuple(points)
    picks = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(np.intp))
    return tuple(points[i] for i in picks)


def calibration_bins(y: Floats, score: Floats) -> tuple[CalibrationBin, ...]:
    """`calibration_curve(y, score, n_bins=10, strategy='uniform')` with each bin's edges and count."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    ids = np.searchsorted(edges[1:-1], score)
    sums = np.bincount(ids, weights=score, minlength=CALIBRATION_BINS)
    true = np.bincount(ids, weights=y, minlength=CALIBRATION_BINS)
    total = np.bincount(ids, minlength=CALIBRATION_BINS)
    return tuple(
        CalibrationBin(
            low=float(edges[i]),
            high=float(edges[i + 1]),
            count=int(total[i]),
            mean_predicted=float(sums[i] / total[i]),
            observed_rate=float(true[i] / total[i]),
        )
        for i in range(CALIBRATION_BINS)
        if total[i]
    )


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def classifier_performance(
    data: bytes,
    display_path: str,
    columns: Columns,
    *,
    threshold: tuple[float | None, str],
    resamples: int,
    seed: int,
) -> ClassifierPerformance:
    wanted = list(dict.fromkeys([columns.label, columns.prediction, *([columns.score] if columns.score else [])]))
    table, total, dropped = read_columns(data, wanted)
    if not table[columns.label]:
        raise PerformanceError("no rows without missing values")
    notes: list[str] = [f"{dropped} of {total} rows dropped for missing values"] if dropped else []
    fav = columns.favourable.strip()
    y = np.array([_is_favourable(v, fav) for v in table[columns.label]], dtype=np.float64)
    p = np.array([_is_favourable(v, fav) for v in table[columns.prediction]], dtype=np.float64)
    score = numbers(table[columns.score]) if columns.score else None
    if columns.score and score is None:
        notes.append(f"column '{columns.score}' is not all finite numbers: no ROC AUC, ROC or calibration curve")
    elif score is not None and (score.min() < 0 or score.max() > 1):
        notes.append("scores outside [0, 1]: no calibration curve")
    rows = y.size
    boots = _resamples(rows, resamples, notes)
    ranked = _ranked(y, score) if score is not None else None

    def metrics(w: Floats) -> dict[str, Floats]:
        out = _classifier_metrics(w, y, p)
        if ranked is not None:
            out["roc_auc"] = _auc(w, ranked)
        return out

    point = {name: values[0] for name, values in metrics(np.ones((1, rows))).items()}
    boot = _bootstrap(rows, boots, seed, metrics) if boots else {}
    base_rate = float(y.mean())
    majority_favourable = base_rate >= 0.5
    baseline = {
        "accuracy": max(base_rate, 1 - base_rate),
        "precision": base_rate if majority_favourable else None,
        "recall": 1.0 if majority_favourable else 0.0,
        "f1": 2 * base_rate / (1 + base_rate) if majority_favourable else 0.0,
        "roc_auc": 0.5,
    }
    estimates = []
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        if name not in point:
            estimates.append(Estimate(name=name, value=None, note="no usable score column"))
            continue
        low, high = _interval(boot[name]) if boot else (None, None)
        estimates.append(
            Estimate(name=name, value=_number(point[name]), ci_low=low, ci_high=high, baseline=baseline[name])
        )
    value, source = threshold
    if value is not None and score is not None:
        wrong = int(((score >= value).astype(np.float64) != p).sum())
        if wrong:
            notes.append(f"{wrong} predictions do not follow from score >= {value:g}")
    confusion = (
        (int(((1 - y) * (1 - p)).sum()), int(((1 - y) * p).sum())),
        (int((y * (1 - p)).sum()), int((y * p).sum())),
    )
    curve = roc_points(y, score) if score is not None else []
    return ClassifierPerformance(
        predictions_path=display_path,
        predictions_sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
        dropped=dropped,
        favourable_outcome=columns.favourable,
        estimates=tuple(estimates),
        confusion=confusion,
        base_rate=base_rate,
        approval_rate=float(p.mean()),
        majority_class="favourable" if majority_favourable else "unfavourable",
        majority_accuracy=max(base_rate, 1 - base_rate),
        threshold=value,
        threshold_source=source,
        roc=downsample(curve, MAX_ROC_POINTS),
        roc_points=len(curve),
        calibration=calibration_bins(y, score) if score is not None and 0 <= score.min() <= score.max() <= 1 else (),
        bootstrap_resamples=boots,
        bootstrap_seed=seed,
        notes=tuple(notes),
    )


def _regression_metrics(w: Floats, y: Floats, p: Floats) -> dict[str, Floats]:
    total = w.sum(-1)
    residual = y - p
    mean = _ratio(w @ y, total)
    spread = (w * (y[None, :] - mean[:, None]) ** 2).sum(-1)
    squared = w @ residual**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "mae": _ratio(w @ np.abs(residual), total),
            "rmse": np.sqrt(_ratio(squared, total)),
            "r2": np.where(spread > 0, 1 - squared / np.where(spread > 0, spread, 1), np.nan),
        }


def regression_performance(
    data: bytes, display_path: str, columns: Columns, *, resamples: int, seed: int
) -> RegressionPerformance:
    table, total, dropped = read_columns(data, [columns.label, columns.prediction])
    y, p = numbers(table[columns.label]), numbers(table[columns.prediction])
    if y is None or p is None or not y.size:
        raise PerformanceError("the label and prediction columns must be finite numbers for a regressor")
    notes: list[str] = [f"{dropped} of {total} rows dropped for missing values"] if dropped else []
    rows = y.size
    boots = _resamples(rows, resamples, notes)
    point = {name: values[0] for name, values in _regression_metrics(np.ones((1, rows)), y, p).items()}
    boot = _bootstrap(rows, boots, seed, lambda w: _regression_metrics(w, y, p)) if boots else {}
    mean = float(y.mean())
    baseline = {"mae": float(np.abs(y - mean).mean()), "rmse": float(np.sqrt(((y - mean) ** 2).mean())), "r2": 0.0}
    estimates = []
    for name in ("mae", "rmse", "r2"):
        low, high = _interval(boot[name]) if boot else (None, None)
        estimates.append(
            Estimate(name=name, value=_number(point[name]), ci_low=low, ci_high=high, baseline=baseline[name])
        )
    residuals = list(zip(p.tolist(), (y - p).tolist(), strict=True))
    return RegressionPerformance(
        predictions_path=display_path,
        predictions_sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
        dropped=dropped,
        estimates=tuple(estimates),
        label_mean=mean,
        residuals=downsample(residuals, MAX_RESIDUALS),
        bootstrap_resamples=boots,
        bootstrap_seed=seed,
        notes=tuple(notes),
    )
