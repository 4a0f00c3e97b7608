"""The statistics of one table read by auditor/capture/profile.py: column summaries, the
associations with the sensitive columns, and the label balance per sensitive group.

Definitions (and the association measures) are in auditor/record/profile.py. Every column is
prepared once: which rows hold a value, the values as numbers (integer and decimal columns)
and as category codes (columns with few distinct values); every statistic reads that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.record.profile import (
    CATEGORICAL_MAX_DISTINCT,
    Association,
    ColumnKind,
    ColumnProfile,
    GroupBalance,
    LabelBalance,
    TableProfile,
    ValueCount,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

TOP_VALUES = 5
TOP_MAX_DISTINCT = 50  # text columns with at most this many distinct values get their top values
MAX_CATEGORIES = 50  # a categorical column with more values gets no association (V would mislead)
MAX_GROUPS = 50  # sensitive groups kept in the label balance
MAX_LABELS = 20  # a label with more distinct values is not a class label: no balance
TEXT_CUT = 60


@dataclass(frozen=True)
class Roles:
    """Which columns to look for: the label and the sensitive ones. `declared`: those named for this
    dataset in auditor.yaml (a file that lacks one gets a note), not taken from `predictions`."""

    label: str | None = None
    sensitive: tuple[str, ...] = ()
    favourable: str | None = None
    declared: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # a predictions file's prediction and score columns


@dataclass
class ReadTable:
    """What a reader read: the table (or its first rows) and how it relates to the file."""

    table: pa.Table
    column_count: int
    shown: list[str]  # the columns profiled, in file order
    complete: bool
    limit: str | None
    total_rows: int | None = None
    notes: tuple[str, ...] = ()


def _kind(t: pa.DataType) -> ColumnKind:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "decimal number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_temporal(t):
        return "date/time"
    return "other"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= TEXT_CUT else text[: TEXT_CUT - 1] + "…"


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass
class _Column:
    """One column prepared once: what is present, as numbers or as category codes."""

    name: str
    kind: ColumnKind
    present: np.ndarray  # bool per row
    numbers: np.ndarray | None  # float64 per row (NaN where absent) for integer/decimal columns
    codes: np.ndarray | None  # int per row (-1 where absent) for columns with few enough values
    categories: list[str]
    distinct: int


def _prepare(name: str, column: pa.ChunkedArray) -> _Column:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = _kind(column.type)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    present = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    numbers = None
    if kind in ("integer", "decimal number"):
        numbers = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        present &= ~np.isnan(numbers)
    codes: np.ndarray | None = None
    categories: list[str] = []
    distinct = 0
    if kind != "other":
        if numbers is not None:
            distinct = len(np.unique(numbers[present]))
        else:
            distinct = len(pc.unique(column.filter(pa.array(present))))
        if 0 < distinct <= max(MAX_CATEGORIES, MAX_GROUPS, MAX_LABELS):
            encoded = pc.dictionary_encode(column.combine_chunks())
            idx = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.float64)
            codes = np.where(present, np.nan_to_num(idx, nan=-1), -1).astype(np.int64)
            categories = [_text(v) for v in encoded.dictionary.to_pylist()]
    return _Column(name, kind, present, numbers, codes, categories, distinct)


def _is_categorical(c: _Column) -> bool:
    if c.kind in ("text", "boolean"):
        return c.codes is not None and c.distinct <= MAX_CATEGORIES
    return c.kind == "integer" and c.codes is not None and c.distinct <= CATEGORICAL_MAX_DISTINCT


def _summary(c: _Column, column: pa.ChunkedArray) -> dict[str, Any]:
    import numpy as np
    import pyarrow.compute as pc

    out: dict[str, Any] = {}
    if c.numbers is not None and c.present.any():
        values = c.numbers[c.present]
        out.update(min=_finite(values.min()), median=_finite(float(np.median(values))), max=_finite(values.max()))
    if c.kind == "date/time" and c.present.any():
        bounds = pc.min_max(column).as_py()
        out.update(earliest=_text(bounds["min"]), latest=_text(bounds["max"]))
    few = c.distinct <= (TOP_MAX_DISTINCT if c.kind in ("text", "boolean") else CATEGORICAL_MAX_DISTINCT)
    if c.codes is not None and few and c.kind != "decimal number":
        counts = np.bincount(c.codes[c.codes >= 0], minlength=len(c.categories))
        order = sorted(range(len(counts)), key=lambda i: (-counts[i], c.categories[i]))
        out["top"] = tuple(
            ValueCount(value=c.categories[i], count=int(counts[i])) for i in order[:TOP_VALUES] if counts[i]
        )
    return out


def association(a: _Column, b: _Column) -> Association | None:
    """The association of two columns (see record/profile.py), or None when it is undefined."""
    import numpy as np

    both = a.present & b.present
    for side in (a, b):
        if side.numbers is not None:  # an infinity has no place in a mean or a correlation
            both &= np.isfinite(side.numbers)
    n = int(both.sum())
    if n < 2:
        return None
    cat_a, cat_b = _is_categorical(a), _is_categorical(b)
    if cat_a and cat_b and a.codes is not None and b.codes is not None:
        value = cramers_v(a.codes[both], b.codes[both])
        measure = "cramers_v"
    elif (cat_a or cat_b) and (a.numbers is not None or b.numbers is not None):
        cat, num = (a, b) if cat_a else (b, a)
        if num.numbers is None or cat.codes is None:
            return None
        value = correlation_ratio(cat.codes[both], num.numbers[both])
        measure = "correlation_ratio"
    elif a.numbers is not None and b.numbers is not None:
        x, y = a.numbers[both], b.numbers[both]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            return None
        value = abs(float(np.corrcoef(x, y)[0, 1]))
        measure = "pearson_abs"
    else:
        return None
    if value is None or not math.isfinite(value):
        return None
    return Association(measure=measure, value=round(min(1.0, max(0.0, value)), 6), rows=n)


def cramers_v(x: np.ndarray, y: np.ndarray) -> float | None:
    """Cramér's V of two code arrays (no bias correction); None when either has one value only."""
    import numpy as np

    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    r, c = int(xi.max()) + 1, int(yi.max()) + 1
    if min(r, c) < 2:
        return None
    table = np.bincount(xi * c + yi, minlength=r * c).reshape(r, c).astype(np.float64)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return math.sqrt(chi2 / (n * (min(r, c) - 1)))


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float | None:
    """η: the square root of the share of the values' variance between the categories."""
    import numpy as np

    _, groups = np.unique(codes, return_inverse=True)
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return None
    counts = np.bincount(groups)
    means = np.bincount(groups, weights=values) / counts
    between = float((counts * (means - values.mean()) ** 2).sum())
    return math.sqrt(between / total)


def table_profile(read: ReadTable, display: str, fmt: str, roles: Roles) -> TableProfile:
    table = read.table
    notes = list(read.notes)
    names = table.column_names
    prepared: dict[str, _Column] = {}

    def column(name: str) -> _Column:
        if name not in prepared:
            prepared[name] = _prepare(name, table.column(names.index(name)))
        return prepared[name]

    sensitive = tuple(dict.fromkeys(s for s in roles.sensitive if s in names))
    label = roles.label if roles.label in names else None
    for wanted in roles.declared:
        if wanted not in names:
            notes.append(f"{wanted} (declared in auditor.yaml) is not a column of this file")
    profiles = []
    for name in read.shown:
        c = column(name)
        raw = table.column(names.index(name))
        links = {}
        for s in sensitive:
            if s != name:
                found = association(c, column(s))
                if found is not None:
                    links[s] = found
        profiles.append(
            ColumnProfile(
                name=name,
                kind=c.kind,
                arrow_type=str(raw.type),
                missing=int(len(c.present) - c.present.sum()),
                distinct=c.distinct if c.kind != "other" or str(raw.type) == "null" else None,
                associations=links,
                **_summary(c, raw),
            )
        )
    if read.column_count > len(read.shown):
        notes.append(f"only the first {len(read.shown)} of {read.column_count:,} columns are profiled")
    balance = _balance(column(label), [column(s) for s in sensitive], roles, notes) if label else None
    return TableProfile(
        file=display,
        format=fmt,
        rows=table.num_rows,
        complete=read.complete,
        total_rows=read.total_rows,
        limit=read.limit,
        column_count=read.column_count,
        columns=tuple(profiles),
        sensitive_columns=sensitive,
        model_outputs=tuple(c for c in roles.outputs if c in names),
        balance=balance,
        notes=tuple(notes),
    )


def _counts(codes: np.ndarray, categories: list[str]) -> dict[str, int]:
    import numpy as np

    counts = np.bincount(codes[codes >= 0], minlength=len(categories))
    return {categories[i]: int(counts[i]) for i in sorted(range(len(counts)), key=lambda i: categories[i]) if counts[i]}


def _balance(label: _Column, sensitive: list[_Column], roles: Roles, notes: list[str]) -> LabelBalance | None:
    import numpy as np

    if not label.distinct:
        notes.append(f"{label.name} has no values: no balance computed")
        return None
    if label.codes is None or label.distinct > MAX_LABELS:
        notes.append(f"{label.name} has {label.distinct:,} distinct values: not a class label, no balance computed")
        return None
    overall = _counts(label.codes, label.categories)
    favourable = None
    if roles.favourable is not None:
        favourable = next((v for v in overall if _same(v, roles.favourable)), None)
        if favourable is None:
            notes.append(f"the favourable label {roles.favourable!r} is not among {label.name}'s values")
    groups: list[GroupBalance] = []
    for s in sensitive:
        if s.name == label.name:
            continue
        if s.codes is None:
            why = f"{s.distinct:,} distinct values: too many groups" if s.distinct else "no values: no groups"
            notes.append(f"{s.name} has {why} for a label balance")
            continue
        codes = np.where(s.present, s.codes, len(s.categories))  # absent -> its own group
        names = [*s.categories, "(missing)"]
        sizes = np.bincount(codes, minlength=len(names))
        order = sorted((i for i in range(len(names)) if sizes[i]), key=lambda i: (-sizes[i], names[i]))
        for i in order[:MAX_GROUPS]:
            member = codes == i
            groups.append(
                GroupBalance(
                    attribute=s.name,
                    group=names[i],
                    rows=int(sizes[i]),
                    label_counts=_counts(np.where(member, label.codes, -1), label.categories),
                )
            )
        if len(order) > MAX_GROUPS:
            notes.append(f"{s.name}: only the {MAX_GROUPS} largest of {len(order)} groups are kept")
    return LabelBalance(
        label_column=label.name, favourable_label=favourable, label_counts=overall, groups=tuple(groups)
    )


def _same(value: str, wanted: str) -> bool:
    if value == wanted:
        return True
    try:
        return float(value) == float(wanted)
    except ValueError:
        return value.lower() == wanted.lower() and value.lower() in ("true", "false")
