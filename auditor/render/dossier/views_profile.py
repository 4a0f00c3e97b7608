"""The datasheet's compact profile of a tabular dataset: views and their builder.

Everything shown is read from the record (auditor/record/profile.py); this module only words
and lays it out: one line of size and gaps, one table of columns, the label balance per
sensitive group, and the columns likely to stand in for a sensitive one. The files of a
folder (train/test splits) share one table when they have the same columns, one summary
column per file; otherwise each file gets its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.record.base import Missing
from auditor.record.lineage import ContentHash, Dataset
from auditor.record.profile import (
    MEASURE_SYMBOLS,
    PROXY_THRESHOLD,
    ColumnProfile,
    DataProfile,
    LabelBalance,
    TableProfile,
    UnprofiledFile,
    likely_proxies,
)

COMBINE_MAX = 3  # files shown side by side in one table
TOP_SHOWN = 3
PROXIES_SHOWN = 8
STRONG = 0.5


@dataclass(frozen=True)
class ProfileColumn:
    name: str
    type: str
    missing: str  # "–", or "12 (1.2%)"; per file, " / "-separated
    summaries: tuple[str, ...]  # one per file


@dataclass(frozen=True)
class BalanceRow:
    group: str
    cells: tuple[str, ...]  # per file: rows, then the favourable share (or the label's shares)


@dataclass(frozen=True)
class ProfileTable:
    title: str | None  # the file, when a table shows one file of a folder
    files: tuple[str, ...]  # summary column headings ("Summary" for one file)
    columns: tuple[ProfileColumn, ...]
    balance_head: str | None  # e.g. "risk = 1" (the favourable label's share); None without a label balance
    balance: tuple[BalanceRow, ...]
    notes: tuple[str, ...]
    gaps: bool = True  # whether any column misses values (else the Missing column is left out)


@dataclass(frozen=True)
class ProfileView:
    headline: str
    tables: tuple[ProfileTable, ...] = ()
    proxies: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # files that could not be profiled, or why there is no profile
    same_as: str | None = None  # the dataset whose profile (same bytes) is shown instead


def profiles(datasets: Sequence[Dataset]) -> dict[str, ProfileView]:
    """The profile view of every dataset that has one (or a Missing one), by dataset id."""
    out: dict[str, ProfileView] = {}
    shown: dict[str, str] = {}  # content hash -> first dataset showing that profile
    for d in datasets:
        if d.profile is None:
            continue
        if isinstance(d.profile, Missing):
            out[d.id] = ProfileView(headline="", problems=(d.profile.reason,))
            continue
        digest = _digest(d)
        if digest is not None and digest in shown:
            out[d.id] = ProfileView(headline="", same_as=shown[digest])
            continue
        if digest is not None:
            shown[digest] = d.id
        out[d.id] = profile_view(d.profile)
    return out


def _digest(d: Dataset) -> str | None:
    value = d.before if d.before is not None else d.after
    return value.sha256 if isinstance(value, ContentHash) else None


def profile_view(profile: DataProfile) -> ProfileView:
    tables = [t for t in profile.files if isinstance(t, TableProfile)]
    problems = tuple(
        f"{f.file or 'the file'}: could not profile: {f.reason}" for f in profile.files if isinstance(f, UnprofiledFile)
    ) + tuple(profile.notes)
    if not tables:
        return ProfileView(headline="", problems=problems)
    same_columns = len({tuple(c.name for c in t.columns) for t in tables}) == 1
    if 1 < len(tables) <= COMBINE_MAX and same_columns:
        views: tuple[ProfileTable, ...] = (_table(tables, None),)
    else:
        views = tuple(_table([t], t.file or None if len(tables) > 1 else None) for t in tables)
    return ProfileView(headline=_headline(tables), tables=views, proxies=_proxies(profile), problems=problems)


def _headline(tables: Sequence[TableProfile]) -> str:
    rows = _rows(tables[0]) if len(tables) == 1 else " and ".join(f"{_rows(t)} ({t.file})" for t in tables)
    widths = {t.column_count for t in tables}
    width = f"{widths.pop():,} columns" if len(widths) == 1 else "columns as below"
    gaps = sum(c.missing for t in tables for c in t.columns)
    gappy = len({c.name for t in tables for c in t.columns if c.missing})
    holes = "no missing values" if not gaps else f"{gaps:,} missing values in {gappy} column{'s' * (gappy != 1)}"
    return f"{rows} × {width}, {holes}"


def _rows(t: TableProfile) -> str:
    word = "row" if t.rows == 1 else "rows"
    if t.complete:
        return f"{t.rows:,} {word}"
    total = f" of {t.total_rows:,}" if t.total_rows is not None else ""
    return f"the first {t.rows:,} {word}{total} ({t.limit or 'a prefix'})"


def _table(tables: Sequence[TableProfile], title: str | None) -> ProfileTable:
    first = tables[0]
    combined = len(tables) > 1
    columns = []
    for column in first.columns:
        found = [t.column(column.name) or column for t in tables]
        types = dict.fromkeys(_type(c) for c in found)
        gaps = [_missing(c, t.rows) for c, t in zip(found, tables, strict=True)]
        columns.append(
            ProfileColumn(
                name=column.name,
                type=" / ".join(types),
                missing=" / ".join(gaps) if any(g != "–" for g in gaps) else "–",
                summaries=tuple(_summary(c, TOP_SHOWN - combined) for c in found),
            )
        )
    notes = tuple(dict.fromkeys(n for t in tables for n in t.notes))
    balances = [t.balance for t in tables]
    head, rows = _balance(balances) if all(balances) else (None, ())
    return ProfileTable(
        title=title,
        files=tuple(t.file for t in tables) if combined else ("Summary",),
        columns=tuple(columns),
        balance_head=head,
        balance=rows,
        notes=notes,
        gaps=any(c.missing != "–" for c in columns),
    )


def _type(c: ColumnProfile) -> str:
    return c.kind if c.kind != "other" else ("empty" if c.arrow_type == "null" else c.arrow_type)


def _missing(c: ColumnProfile, rows: int) -> str:
    if not c.missing:
        return "–"
    return f"{c.missing:,} ({c.missing / rows:.1%})" if rows else f"{c.missing:,}"


def _number(value: float | None, integer: bool) -> str:
    if value is None:
        return "?"
    if integer and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.3e}"


def _summary(c: ColumnProfile, top: int = TOP_SHOWN) -> str:
    if c.distinct is None:
        return f"{c.arrow_type}: not summarised"
    if c.distinct == 0:
        return "empty"
    if c.top and (c.kind in ("text", "boolean") or c.distinct <= len(c.top)):
        shown = " · ".join(f"{v.value}: {v.count:,}" for v in c.top[:top])
        more = c.distinct - min(top, len(c.top))
        return shown + (f" · {more} more" if more > 0 else "")
    if c.min is not None or c.max is not None:
        integer = c.kind == "integer"
        middle = f" · median {_number(c.median, False)}" if c.median is not None else ""
        return f"min {_number(c.min, integer)}{middle} · max {_number(c.max, integer)}"
    if c.earliest is not None:
        return f"{c.earliest} to {c.latest}"
    return f"{c.distinct:,} distinct values"


def _balance(balances: Sequence[LabelBalance | None]) -> tuple[str, tuple[BalanceRow, ...]]:
    present = [b for b in balances if b is not None]
    first = present[0]
    favourable = first.favourable_label
    if favourable is not None and all(b.favourable_label == favourable for b in present):
        head = f"{first.label_column} = {favourable}"
    else:
        favourable = None
        head = f"{first.label_column} values"

    def share(counts: dict[str, int]) -> str:
        total = sum(counts.values())
        if not total:
            return "–"
        if favourable is not None:
            return f"{counts.get(favourable, 0) / total:.1%}"
        return " · ".join(f"{k} {v / total:.0%}" for k, v in counts.items())

    keys = list(dict.fromkeys((g.attribute, g.group) for b in present for g in b.groups))
    overall = [x for b in present for x in (f"{sum(b.label_counts.values()):,}", share(b.label_counts))]
    rows = [BalanceRow("all rows", tuple(overall))]
    for attribute, group in keys:
        cells: list[str] = []
        for b in present:
            found = next((g for g in b.groups if (g.attribute, g.group) == (attribute, group)), None)
            cells += [f"{found.rows:,}", share(found.label_counts)] if found else ["0", "–"]
        rows.append(BalanceRow(f"{attribute}: {group}", tuple(cells)))
    return head, tuple(rows)


def _proxies(profile: DataProfile) -> tuple[str, ...]:
    flagged = likely_proxies(profile, PROXY_THRESHOLD)
    lines: list[tuple[float, str]] = []
    for column, strengths in flagged.items():
        for sensitive, value in strengths.items():
            symbol = _symbol(profile, column, sensitive)
            strength = "strongly associated" if value >= STRONG else "associated"
            lines.append((-value, f"{column} is {strength} with {sensitive} ({symbol} = {value:.2f}): a likely proxy"))
    lines.sort()
    out = [text for _, text in lines[:PROXIES_SHOWN]]
    if len(lines) > PROXIES_SHOWN:
        out.append(f"{len(lines) - PROXIES_SHOWN} more associations of at least {PROXY_THRESHOLD} are in the record")
    return tuple(out)


def _symbol(profile: DataProfile, column: str, sensitive: str) -> str:
    for t in profile.files:
        found = t.column(column) if isinstance(t, TableProfile) else None
        if found is not None and sensitive in found.associations:
            return MEASURE_SYMBOLS[found.associations[sensitive].measure]
    return "association"
