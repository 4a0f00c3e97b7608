"""Fairness evidence from a predictions file: per-group metrics, disparities and bootstrap intervals.

auditor runs beside arbitrary projects, so it reads the CSV with the standard library and counts with
numpy only; the tests check every number against fairlearn to 1e-9. One deliberate difference: a group
with no favourable (unfavourable) labels has an undefined true (false) positive rate, recorded as None
and left out of the equalized-odds gaps, where fairlearn (through scikit-learn) would count it as 0.
Only a file that cannot be used at all raises; every lesser problem becomes an `issues` line, because an
audit must show what was wrong rather than stop at it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from auditor.errors import UsageError
from auditor.record.fairness import NO_FAVOURABLE, AttributeFairness, Bootstrap, Disparity, Fairness, GroupMetrics

# pandas' default NA markers (lower-cased), so a file written by pandas reads back with the same gaps.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na"})
FOUR_FIFTHS = "the four-fifths rule compares this ratio with 0.8, a threshold not appropriate in every context"
MAX_GROUPS = 10_000
Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


class PredictionsError(UsageError):
    """The predictions file cannot be used at all: missing, not CSV, a named column absent, or no rows."""


@dataclass(frozen=True)
class _Table:
    """The usable rows: 0/1 label and prediction (1 = favourable) and the sensitive values."""

    labels: Ints
    predictions: Ints
    sensitive: dict[str, list[str]]


def _read(path: Path, display_path: str) -> tuple[bytes, list[str], list[list[str]]]:
    """Read header and non-blank rows; any failure here means there is nothing to audit."""
    try:
        data = path.read_bytes()
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True) if row]
    except OSError as exc:
        raise PredictionsError(f"{display_path}: cannot read predictions file: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PredictionsError(f"{display_path}: not a CSV file: {exc}") from exc
    if not rows:
        raise PredictionsError(f"{display_path}: not a CSV file: no header row")
    if len(rows) == 1:
        raise PredictionsError(f"{display_path}: no data rows")
    return data, [name.strip() for name in rows[0]], rows[1:]


def _is_favourable(value: str, favourable: str) -> bool:
    """Exact match, or numeric equality so that '1.0' counts as '1'."""
    if value == favourable:
        return True
    try:
        return float(value) == float(favourable)
    except ValueError:
        return False


def _value_issues(column: str, values: list[str], favourable: str) -> list[str]:
    """Flag outcome columns that cannot mean what the favourable outcome says they mean."""
    others = sorted({v for v in values if not _is_favourable(v, favourable)})
    shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
    if values and len(others) == len(set(values)):
        return [f"column '{column}': {NO_FAVOURABLE} '{favourable}' (values: {shown})"]
    if len(others) > 1:
        return [f"column '{column}' has {len(others)} unfavourable values ({shown}): all count as unfavourable"]
    return []


def _load(
    rows: list[list[str]], columns: dict[str, int], outcomes: tuple[str, str], favourable: str
) -> tuple[_Table, list[str]]:
    """Drop rows with a missing value in any used column, so every attribute describes the same rows."""
    kept: list[list[str]] = []
    gaps: Counter[str] = Counter()
    for row in rows:
        cells = [row[i].strip() if i < len(row) else "" for i in columns.values()]
        absent = [name for name, cell in zip(columns, cells, strict=True) if cell.lower() in MISSING_MARKERS]
        gaps.update(absent)
        if not absent:
            kept.append(cells)
    issues = []
    if gaps:
        detail = ", ".join(f"{name}: {count}" for name, count in gaps.items())
        issues.append(f"{len(rows) - len(kept)} of {len(rows)} rows dropped for missing values ({detail})")
    values = {name: [cells[i] for cells in kept] for i, name in enumerate(columns)}
    for name in dict.fromkeys(outcomes):
        issues += _value_issues(name, values[name], favourable)
    verdicts = {v: _is_favourable(v, favourable) for n in outcomes for v in set(values[n])}
    label, prediction = (np.array([verdicts[v] for v in values[n]], dtype=np.intp) for n in outcomes)
    return _Table(label, prediction, values), issues


def _rates(cells: Floats) -> tuple[Floats, Floats, Floats]:
    """Selection rate, TPR and FPR from counts shaped (..., group, label, prediction); NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        selection = cells[..., :, 1].sum(-1) / cells.sum((-2, -1))
        tpr = cells[..., 1, 1] / cells[..., 1, :].sum(-1)
        fpr = cells[..., 0, 1] / cells[..., 0, :].sum(-1)
    return selection, tpr, fpr


def _spread(rates: Floats) -> tuple[Floats, Floats, Ints]:
    """max - min and min / max over the groups where the rate is defined, with the (argmin, argmax) pair."""
    valid = ~np.isnan(rates)
    low = np.where(valid, rates, np.inf).argmin(-1)
    high = np.where(valid, rates, -np.inf).argmax(-1)
    least = np.take_along_axis(rates, low[..., None], -1)[..., 0]
    most = np.take_along_axis(rates, high[..., None], -1)[..., 0]
    enough = valid.sum(-1) >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(enough & (most > 0), least / most, np.nan)
    return np.where(enough, most - least, np.nan), ratio, np.stack([low, high], -1)


def _reference_ratio(selection: Floats, ref: int) -> tuple[Floats, Ints]:
    """Lowest selection-rate ratio of another group to the reference group, with (that group, reference)."""
    base = selection[..., ref : ref + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(base > 0, selection / base, np.nan)
    ratios[..., ref] = np.nan
    low = np.where(np.isnan(ratios), np.inf, ratios).argmin(-1)
    value = np.take_along_axis(ratios, low[..., None], -1)[..., 0]  # NaN when no ratio is defined
    return value, np.stack([low, np.full_like(low, ref)], -1)


def _disparities(cells: Floats, ref: int | None) -> dict[str, tuple[Floats, Ints]]:
    """Every disparity with the group pair that sets it, vectorised over a leading resample axis."""
    selection, tpr, fpr = _rates(cells)
    dp_diff, dp_ratio, dp_pair = _spread(selection)
    t_diff, t_ratio, t_pair = _spread(tpr)
    f_diff, f_ratio, f_pair = _spread(fpr)
    by_tpr = np.isnan(f_diff) | (t_diff >= f_diff)  # fairlearn's agg="worst_case": the larger gap
    by_tpr_ratio = np.isnan(f_ratio) | (t_ratio <= f_ratio)
    return {
        "demographic_parity_difference": (dp_diff, dp_pair),
        "demographic_parity_ratio": (dp_ratio, dp_pair),
        "equalized_odds_difference": (np.where(by_tpr, t_diff, f_diff), np.where(by_tpr[..., None], t_pair, f_pair)),
        "equalized_odds_ratio": (
            np.where(by_tpr_ratio, t_ratio, f_ratio),
            np.where(by_tpr_ratio[..., None], t_pair, f_pair),
        ),
        "disparate_impact_ratio": (dp_ratio, dp_pair) if ref is None else _reference_ratio(selection, ref),
    }


def _bootstrap(cells: Floats, rows: int, ref: int | None, resamples: int, seed: int) -> dict[str, Floats]:
    """Disparities on `resamples` percentile-bootstrap resamples of the rows.

    Every disparity is a function of the (group, label, prediction) counts, and drawing `rows` rows with
    replacement gives those counts a multinomial law over the cells' observed shares (rows of small
    groups pool in one extra cell). Drawing the counts directly is the same bootstrap at a cost
    independent of the row count.
    """
    observed = np.append(cells.ravel(), rows - cells.sum())
    drawn = np.random.default_rng(seed).multinomial(rows, observed / rows, size=resamples)
    resampled = drawn[:, :-1].reshape(resamples, *cells.shape).astype(np.float64)
    return {metric: value for metric, (value, _) in _disparities(resampled, ref).items()}


def _interval(values: Floats, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval over the resamples where the disparity is defined."""
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)


def _number(value: np.float64) -> float | None:
    return None if np.isnan(value) else float(value)


def _show(group: tuple[str, ...]) -> str:
    return repr(group[0]) if len(group) == 1 else repr(" & ".join(group))


@dataclass(frozen=True)
class _Options:
    min_group_size: int
    reference_groups: Mapping[str, str]
    resamples: int
    seed: int
    confidence: float


def _group_metrics(group: tuple[str, ...], cell: Floats, min_group_size: int) -> GroupMetrics:
    selection, tpr, fpr = _rates(cell[None])
    count = int(cell.sum())
    return GroupMetrics(
        group=group,
        count=count,
        positives=int(cell[1].sum()),
        selection_rate=_number(selection[0]),
        true_positive_rate=_number(tpr[0]),
        false_positive_rate=_number(fpr[0]),
        accuracy=float(cell[0, 0] + cell[1, 1]) / count if count else None,
        small=count < min_group_size,
    )


def _group_issues(groups: Sequence[GroupMetrics], min_group_size: int) -> list[str]:
    """Say why disparities are missing, or rest on fewer groups or rates than the table shows."""
    if len(groups) < 2:
        return [f"{'only one group' if groups else 'no rows'}: no disparity can be computed"]
    issues = [
        f"group {_show(g.group)} has "
        + (f"{g.count} row{'s' * (g.count != 1)}, below the minimum of {min_group_size}" if g.count else "no rows")
        + ": shown but not used for disparities"
        for g in groups
        if g.small
    ]
    if sum(not g.small for g in groups) < 2:
        issues.append(f"fewer than two groups have at least {min_group_size} rows: no disparity can be computed")
    for g in (g for g in groups if g.count):
        if g.true_positive_rate is None:
            issues.append(f"group {_show(g.group)} has no favourable labels: true positive rate undefined")
        if g.false_positive_rate is None:
            issues.append(f"group {_show(g.group)} has no unfavourable labels: false positive rate undefined")
    return issues


def _reference(
    attributes: tuple[str, ...], large: list[tuple[str, ...]], options: _Options
) -> tuple[int | None, str | None, str]:
    """Index of the reference among the large groups, why it is unusable (if so), and the ratio's note."""
    if len(attributes) != 1 or attributes[0] not in options.reference_groups:
        return None, None, f"no reference group declared: min/max selection rate; {FOUR_FIFTHS}"
    value = options.reference_groups[attributes[0]].strip()
    note = f"lowest selection rate relative to reference group '{value}'; {FOUR_FIFTHS}"
    if (value,) not in large:
        return None, f"reference group '{value}' is absent or has fewer than {options.min_group_size} rows", note
    return large.index((value,)), None, note


_UNDEFINED = {
    "demographic_parity_difference": "no selection rate defined",
    "demographic_parity_ratio": "the highest selection rate is 0",
    "equalized_odds_difference": "true and false positive rates are each defined in fewer than two groups",
    "equalized_odds_ratio": "no true or false positive rate ratio is defined (rates missing or all 0)",
    "disparate_impact_ratio": "no selection-rate ratio is defined (rates 0 or no group to compare)",
}


def _disparity_records(
    cells: Floats, rows: int, large: list[tuple[str, ...]], attributes: tuple[str, ...], options: _Options
) -> tuple[Disparity, ...]:
    """Point estimates over the large groups' counts, intervals from resampling the rows behind them."""
    if len(large) < 2:
        note = f"fewer than two groups have at least {options.min_group_size} rows"
        return tuple(Disparity(metric=metric, value=None, groups=(), note=note) for metric in _UNDEFINED)
    ref, problem, di_note = _reference(attributes, large, options)
    boot = _bootstrap(cells, rows, ref, options.resamples, options.seed) if options.resamples else {}
    records = []
    for metric, (values, pairs) in _disparities(cells[None], ref).items():
        impact = metric == "disparate_impact_ratio"
        value = None if impact and problem else _number(values[0])
        if value is None:
            why = problem if impact and problem else _UNDEFINED[metric]
            records.append(Disparity(metric=metric, value=None, groups=(), note=why))
            continue
        low, high = _interval(boot[metric], options.confidence) if boot else (None, None)
        pair = (large[pairs[0, 0]], large[pairs[0, 1]])
        records.append(
            Disparity(
                metric=metric, value=value, groups=pair, ci_low=low, ci_high=high, note=di_note if impact else None
            )
        )
    return tuple(records)


def _group_keys(table: _Table, attributes: tuple[str, ...], values: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Every combination of the attributes' values, as fairlearn lists them, so empty intersections show.

    Past MAX_GROUPS combinations (an identifier passed as an attribute) only the combinations seen are kept.
    """
    levels = [sorted(set(table.sensitive[a])) for a in attributes]
    if math.prod(map(len, levels)) <= MAX_GROUPS:
        return list(itertools.product(*levels))
    return sorted(set(values))


def _attribute(table: _Table, attributes: tuple[str, ...], options: _Options) -> AttributeFairness:
    """Group metrics over all groups; disparities and intervals over the groups that are large enough."""
    values = list(zip(*(table.sensitive[a] for a in attributes), strict=True))
    ordered = _group_keys(table, attributes, values)
    position = {group: i for i, group in enumerate(ordered)}
    codes = np.array([position[v] for v in values], dtype=np.intp)
    outcome = table.labels * 2 + table.predictions
    cells = np.bincount(codes * 4 + outcome, minlength=len(ordered) * 4).reshape(-1, 2, 2).astype(np.float64)
    groups = tuple(_group_metrics(g, c, options.min_group_size) for g, c in zip(ordered, cells, strict=True))
    large = [g.group for g in groups if not g.small]
    disparities = _disparity_records(cells[[not g.small for g in groups]], codes.size, large, attributes, options)
    issues = tuple(_group_issues(groups, options.min_group_size))
    return AttributeFairness(attributes=attributes, groups=groups, disparities=disparities, issues=issues)


def compute_fairness(
    predictions_path: Path,
    *,
    display_path: str,
    label_column: str,
    prediction_column: str,
    score_column: str | None,
    sensitive_columns: Sequence[str],
    favourable_outcome: str,
    min_group_size: int = 30,
    reference_groups: Mapping[str, str] | None = None,
    intersections: bool = True,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Fairness:
    """Fairness evidence for one predictions CSV: each sensitive attribute, then each pair of them.

    Raises PredictionsError only when the file cannot be used at all; `rows` counts the file's data rows,
    and rows dropped for missing values are reported in `issues`.
    """
    if resamples < 0 or not 0 < confidence < 1 or min_group_size < 1:
        raise UsageError("fairness: need resamples >= 0, 0 < confidence < 1 and min_group_size >= 1")
    data, header, rows = _read(predictions_path, display_path)
    used = [label_column, prediction_column, *([score_column] if score_column else []), *sensitive_columns]
    absent = next((name for name in used if name not in header), None)
    if absent is not None:
        raise PredictionsError(f"{display_path}: column '{absent}' not found (columns: {', '.join(header)})")
    wanted = {name: header.index(name) for name in dict.fromkeys([label_column, prediction_column, *sensitive_columns])}
    table, issues = _load(rows, wanted, (label_column, prediction_column), favourable_outcome.strip())
    references = dict(reference_groups or {})
    issues += [
        f"reference group declared for '{a}', which is not a sensitive column"
        for a in references
        if a not in sensitive_columns
    ]
    options = _Options(min_group_size, references, resamples, seed, confidence)
    attribute_sets: list[tuple[str, ...]] = [(a,) for a in dict.fromkeys(sensitive_columns)]
    if intersections:
        attribute_sets += list(itertools.combinations(dict.fromkeys(sensitive_columns), 2))
    return Fairness(
        predictions_path=display_path,
        predictions_sha256=hashlib.sha256(data).hexdigest(),
        rows=len(rows),
        label_column=label_column,
        prediction_column=prediction_column,
        score_column=score_column,
        favourable_outcome=favourable_outcome,
        min_group_size=min_group_size,
        reference_groups=references,
        bootstrap=Bootstrap(resamples=resamples, seed=seed, confidence=confidence),
        by_attributes=tuple(_attribute(table, attrs, options) for attrs in attribute_sets),
        issues=tuple(issues),
    )
