"""Fairness evidence from a predictions file: per-group metrics with intervals, signed comparisons with
a reference group, and fairlearn's attribute-level disparities.

auditor runs beside arbitrary projects, so it reads the CSV with the standard library and counts with
numpy only (the arithmetic and the bootstrap are in `fairness_stats`); the tests check every number
against fairlearn and scikit-learn to 1e-9. One deliberate difference: a rate a group cannot have (TPR
and FNR without favourable labels, FPR without unfavourable ones, precision without favourable
predictions) is recorded as None and left out of the gaps, where scikit-learn would count it as 0.

Every group is compared with the attribute's reference group, small groups included: they are flagged
and their intervals are wide, never dropped. The reference is the declared group (for an intersection,
the combination of every attribute's declared group) when it has rows, otherwise the largest group;
the record says which. fairlearn's attribute-level values (max - min and the like) are kept over the
groups of at least the minimum size.
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
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from auditor.capture import fairness_stats as stats
from auditor.capture.fairness_stats import Floats
from auditor.errors import UsageError
from auditor.project.spec import PredictionsSpec
from auditor.record.base import Missing
from auditor.record.fairness import (
    NO_FAVOURABLE,
    AttributeFairness,
    Bootstrap,
    Disparity,
    Estimate,
    Fairness,
    GroupComparison,
    GroupMetrics,
    Interval,
)

# pandas' default NA markers (lower-cased), so a file written by pandas reads back with the same gaps.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na"})
FOUR_FIFTHS = "the four-fifths rule compares this ratio with 0.8, a threshold not appropriate in every context"
MAX_GROUPS = 10_000
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


def _number(value: float | np.float64) -> float | None:
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


@dataclass(frozen=True)
class _Boot:
    """The resampled counts, and each rate of every group computed from them when asked.

    Rates are computed one at a time and not kept: with many groups (up to MAX_GROUPS) and 1,000
    resamples one rate is (resamples x groups) floats, and holding all seven at once would need seven."""

    cells: Floats  # (resample, group, label, prediction)
    confidence: float

    def rate(self, name: str, columns: Ints | None = None) -> Floats:
        cells = self.cells if columns is None else self.cells[:, columns]
        return stats.rate(cells, name)

    def rates(self, names: Sequence[str], columns: Ints | None = None) -> dict[str, Floats]:
        return {name: self.rate(name, columns) for name in names}

    def interval(self, values: Floats) -> tuple[Floats, Floats]:
        return stats.percentile_interval(values, self.confidence)


def _group_metrics(
    groups: list[tuple[str, ...]], cells: Floats, observed: dict[str, Floats], boot: _Boot | None, minimum: int
) -> tuple[GroupMetrics, ...]:
    bounds = {name: boot.interval(boot.rate(name)) for name in stats.RATES} if boot else {}
    out = []
    for i, group in enumerate(groups):
        count = int(cells[i].sum())
        value = {name: _number(observed[name][i]) for name in stats.RATES}
        intervals = (
            {name: Interval(low=_number(low[i]), high=_number(high[i])) for name, (low, high) in bounds.items()}
            if boot
            else None
        )
        out.append(
            GroupMetrics(
                group=group,
                count=count,
                positives=int(cells[i, 1].sum()),
                selection_rate=value["selection_rate"],
                true_positive_rate=value["true_positive_rate"],
                false_positive_rate=value["false_positive_rate"],
                accuracy=value["accuracy"],
                small=count < minimum,
                base_rate=value["base_rate"],
                precision=value["precision"],
                false_negative_rate=value["false_negative_rate"],
                intervals=intervals,
            )
        )
    return tuple(out)


def _group_issues(groups: Sequence[GroupMetrics], min_group_size: int) -> list[str]:
    """Say why disparities are missing, or rest on fewer groups or rates than the table shows."""
    if len(groups) < 2:
        return [f"{'only one group' if groups else 'no rows'}: no disparity can be computed"]
    issues = [
        f"group {_show(g.group)} has "
        + (
            f"{g.count} row{'s' * (g.count != 1)}, below the minimum of {min_group_size}: compared with its interval, "
            "left out of the attribute-level disparities"
            if g.count
            else "no rows: nothing to compare"
        )
        for g in groups
        if g.small
    ]
    if sum(not g.small for g in groups) < 2:
        issues.append(
            f"fewer than two groups have at least {min_group_size} rows: no attribute-level disparity can be computed"
        )
    for g in (g for g in groups if g.count):
        if g.true_positive_rate is None:
            issues.append(f"group {_show(g.group)} has no favourable labels: true positive rate undefined")
        if g.false_positive_rate is None:
            issues.append(f"group {_show(g.group)} has no unfavourable labels: false positive rate undefined")
    return issues


def _reference(
    attributes: tuple[str, ...], groups: Sequence[GroupMetrics], declared: Mapping[str, str]
) -> tuple[int, Literal["declared", "largest"], str | None]:
    """The reference group's index, its basis (declared / largest) and, for the largest, why.

    The declared group (for an intersection: the combination of every attribute's declared group) when
    it has rows, even below the minimum size (it is flagged small); otherwise the largest group."""
    wanted = tuple(declared.get(a, "").strip() for a in attributes)
    keys = [g.group for g in groups]
    largest = max(range(len(groups)), key=lambda i: (groups[i].count, -i))
    if all(a in declared for a in attributes):
        if wanted in keys and groups[keys.index(wanted)].count:
            return keys.index(wanted), "declared", None
        return largest, "largest", f"the declared reference {_show(wanted)} has no rows: the largest group instead"
    undeclared = ", ".join(a for a in attributes if a not in declared)
    return largest, "largest", f"no reference group declared for {undeclared}: the largest group"


def _comparisons(
    groups: tuple[GroupMetrics, ...], observed: dict[str, Floats], ref: int, boot: _Boot | None
) -> tuple[GroupComparison, ...]:
    point = stats.differences(observed, ref)
    drawn = stats.differences(boot.rates(stats.COMPARED), ref) if boot else {}
    bounds = {name: boot.interval(values) for name, values in drawn.items()} if boot else {}

    def estimate(name: str, i: int) -> Estimate:
        value = _number(point[name][i])
        if value is None or not bounds:
            return Estimate(value=value)
        low, high = bounds[name]
        return Estimate(value=value, ci_low=_number(low[i]), ci_high=_number(high[i]))

    return tuple(
        GroupComparison(
            group=g.group,
            small=g.small,
            selection_rate_difference=estimate("selection_rate_difference", i),
            true_positive_rate_difference=estimate("true_positive_rate_difference", i),
            false_positive_rate_difference=estimate("false_positive_rate_difference", i),
            selection_rate_ratio=estimate("selection_rate_ratio", i),
        )
        for i, g in enumerate(groups)
        if i != ref
    )


def _impact_reference(
    attributes: tuple[str, ...], large: list[tuple[str, ...]], options: _Options
) -> tuple[int | None, str | None, str]:
    """Index of the declared reference among the large groups, why it is unusable (if so), and the note."""
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
    observed: dict[str, Floats],
    boot: _Boot | None,
    large: list[int],
    keys: list[tuple[str, ...]],
    attributes: tuple[str, ...],
    options: _Options,
) -> tuple[Disparity, ...]:
    """fairlearn's attribute-level values over the large groups; signed fixed-pair intervals (module doc)."""
    if len(large) < 2:
        note = f"fewer than two groups have at least {options.min_group_size} rows"
        return tuple(Disparity(metric=metric, value=None, groups=(), note=note) for metric in _UNDEFINED)
    names = [keys[i] for i in large]
    ref, problem, di_note = _impact_reference(attributes, names, options)
    mine = {name: values[large] for name, values in observed.items()}
    columns = np.array(large, dtype=np.intp)
    drawn = boot.rates(stats.COMPARED, columns) if boot else {}
    records = []
    for metric, pair in stats.disparity_pairs(mine, ref).items():
        impact = metric == "disparate_impact_ratio"
        if pair is None or (impact and problem):
            why = problem if impact and problem else _UNDEFINED[metric]
            records.append(Disparity(metric=metric, value=None, groups=(), note=why))
            continue
        value = float(pair.value(mine))
        low = high = None
        if boot:
            lows, highs = boot.interval(pair.value(drawn)[:, None])
            low, high = _number(lows[0]), _number(highs[0])
        first, second = names[pair.first], names[pair.second]
        records.append(
            Disparity(
                metric=metric,
                value=value,
                groups=(first, second) if pair.ratio else (second, first),
                ci_low=low,
                ci_high=high,
                note=di_note if impact else None,
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
    """Group metrics, comparisons with the reference and disparities, all from one set of resamples."""
    values = list(zip(*(table.sensitive[a] for a in attributes), strict=True))
    ordered = _group_keys(table, attributes, values)
    position = {group: i for i, group in enumerate(ordered)}
    codes = np.array([position[v] for v in values], dtype=np.intp)
    outcome = table.labels * 2 + table.predictions
    cells = np.bincount(codes * 4 + outcome, minlength=len(ordered) * 4).reshape(-1, 2, 2).astype(np.float64)
    observed = stats.rates(cells)
    boot = None
    if options.resamples and codes.size:
        drawn = stats.resample(cells, options.resamples, options.seed)
        boot = _Boot(drawn, options.confidence)
    groups = _group_metrics(ordered, cells, observed, boot, options.min_group_size)
    large = [i for i, g in enumerate(groups) if not g.small]
    disparities = _disparity_records(observed, boot, large, ordered, attributes, options)
    issues = _group_issues(groups, options.min_group_size)
    if len(groups) < 2 or not codes.size:
        return AttributeFairness(attributes=attributes, groups=groups, disparities=disparities, issues=tuple(issues))
    ref, basis, note = _reference(attributes, groups, options.reference_groups)
    return AttributeFairness(
        attributes=attributes,
        groups=groups,
        disparities=disparities,
        issues=tuple(issues),
        reference=groups[ref].group,
        reference_basis=basis,
        reference_note=note,
        comparisons=_comparisons(groups, observed, ref, boot),
    )


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
        bootstrap=Bootstrap(resamples=resamples, seed=seed, confidence=confidence, method=stats.METHOD),
        by_attributes=tuple(_attribute(table, attrs, options) for attrs in attribute_sets),
        issues=tuple(issues),
    )


def fairness_of_bytes(data: bytes, display: str, options: PredictionsSpec) -> Fairness | Missing:
    """The fairness of a predictions file already read (and checked: no link, no FIFO) as `options`
    describe it, or why it cannot be computed. What was checked is what is read: the bytes go to a
    private file, never back to the path."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="auditor-predictions-") as folder:
        copy = Path(folder, "predictions.csv")
        copy.write_bytes(data)
        try:
            return compute_fairness(
                copy,
                display_path=display,
                label_column=options.label_column,
                prediction_column=options.prediction_column,
                score_column=options.score_column,
                sensitive_columns=options.sensitive_columns,
                favourable_outcome=options.favourable_outcome,
                min_group_size=options.min_group_size,
                reference_groups=options.reference_groups,
                resamples=options.bootstrap_resamples,
                seed=options.seed,
            )
        except PredictionsError as exc:
            return Missing(reason=exc.message)
