"""Questions across the runs of a store, answered from summaries (the one entry point for them).

Every reader of many runs (`runs` filters, cross-run lineage, duplicate detection, the portfolio,
`show`'s reproductions) asks here, never by loading every record itself. The answers come from
the run index (sync.py: brought up to the store's log first, each run it answers with checked by
its stat and verified again when that changed); when the index cannot be opened they come from
the verified records (scan.py), the same answers, slower, with a note saying so.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import AuditorError, EvidenceError, InvalidRecordError
from auditor.index import schema as t
from auditor.index.db import IndexUnavailable, note, why, writing
from auditor.index.kept import CheckResult as CheckResult  # re-exported: readers of kept checks import it here
from auditor.index.kept import check_row
from auditor.index.scan import scan
from auditor.index.summary import RunSummary, summarize
from auditor.index.sync import (
    STAT_COLUMNS,
    Index,
    RunRows,
    chunks,
    db_text,
    open_index,
    refresh,
    stat_of,
    strays,
    sync,
)
from auditor.record import RunRecord
from auditor.store.runs import RunStore

VERDICTS = ("compliant", "violations", "could_not_evaluate", "unchecked")


@dataclass(frozen=True)
class Filters:
    """Every given field must hold (and): `dataset` is a content key or a hex prefix of a SHA-256
    (at least 8 characters) any dataset of the run had before or after it; `package` is
    (canonical name, version)."""

    project: str | None = None
    owner: str | None = None
    status: str | None = None
    verdict: str | None = None  # compliant | violations | could_not_evaluate | unchecked (the latest check)
    since: datetime | None = None
    until: datetime | None = None
    dataset: str | None = None
    package: tuple[str, str] | None = None


@dataclass(frozen=True)
class Listing:
    runs: list[RunSummary]  # oldest first
    refused: list[AuditorError]  # folders in the store that are not runs auditor committed


def _index(store: RunStore) -> Index | None:
    """The store's index brought up to its log; None when the log is empty or the index cannot be
    used (then the records answer, and a note says why)."""
    try:
        ix = open_index(store)
        if ix is not None:
            sync(ix)
        return ix
    except IndexUnavailable as exc:
        note(f"the run index cannot be used ({exc.message}): answered from the records")
        return None


def listing(store: RunStore, filters: Filters | None = None) -> Listing:
    filters = filters or Filters()
    ix = _index(store)
    if ix is not None:
        try:
            return _indexed_listing(ix, filters)
        except SQLAlchemyError as exc:
            note(f"the run index cannot be used ({why(exc)}): answered from the records")
    scanned = scan(store)
    checks = latest_checks(store) if filters.verdict is not None else {}
    return Listing([s for s in scanned.runs if matches(s, filters, checks.get(s.run_id))], scanned.refused)


def _conditions(ix: Index, f: Filters) -> list[Any]:
    c = t.runs.c
    out: list[Any] = []
    if f.project is not None:
        out.append(c.project == db_text(f.project))
    if f.owner is not None:
        out.append(c.owner == db_text(f.owner))
    if f.status is not None:
        out.append(c.status == f.status)
    if f.since is not None:
        out.append(c.started_ts >= f.since.timestamp())
    if f.until is not None:
        out.append(c.started_ts <= f.until.timestamp())
    if f.package is not None:
        p = t.packages.c
        name, version = f.package
        out.append(
            exists().where(p.store_id == ix.store_id, p.run_id == c.run_id, p.name == name, p.version == version)
        )
    if f.dataset is not None:
        d = t.datasets.c
        wanted = f.dataset.lower()
        key = d.key == wanted
        if len(wanted) >= 8 and all(ch in string.hexdigits for ch in wanted):
            key = or_(key, d.key.startswith(f"sha256:{wanted}", autoescape=True))
        out.append(exists().where(d.store_id == ix.store_id, d.run_id == c.run_id, key))
    return out


def _indexed_listing(ix: Index, filters: Filters) -> Listing:
    store = ix.store
    outside, names = strays(ix)
    columns = [t.runs.c.run_id, t.runs.c.summary, *(t.runs.c[name] for name in STAT_COLUMNS)]
    with ix.engine.connect() as conn:
        # no ORDER BY: SQLite would walk every run in run-id order instead of a filter's index; the
        # listing is sorted below
        query = select(*columns).where(ix.where(t.runs), *_conditions(ix, filters))
        rows = conn.execute(query).all()
    checks = _latest(ix) if filters.verdict is not None else {}
    found: dict[str, RunSummary] = {}
    refused: dict[str, AuditorError] = {}
    for name in outside:  # folders the index does not hold: planted, refused, or committed after the sync
        try:
            record, raw = store.load_with_bytes(name)
        except (InvalidRecordError, EvidenceError) as exc:
            refused[name] = exc
            continue
        s = summarize(record, hashlib.sha256(raw).hexdigest())
        if matches(s, filters, checks.get(s.run_id)):
            found[name] = s
    for row in rows:
        if names is not None and row.run_id not in names:
            continue  # its folder is gone: not a run of this store any more
        fresh = _fresh(ix, row)
        if isinstance(fresh, AuditorError):
            refused[row.run_id] = fresh
        elif fresh is not None and _verdict_holds(filters, checks.get(row.run_id)):
            found[row.run_id] = fresh
    return Listing([found[k] for k in sorted(found)], [refused[k] for k in sorted(refused)])


def _fresh(ix: Index, row: Any) -> RunSummary | AuditorError | None:
    """The row's summary when its record is the one indexed (same stat), else verified again."""
    stat = stat_of(ix.store, row.run_id)
    if stat is not None and all(stat[name] == row._mapping[name] for name in STAT_COLUMNS):
        return RunSummary.from_json(row.summary)
    got = refresh(ix, row.run_id, stat)
    if isinstance(got, RunRows):
        return RunSummary.from_json(got.run["summary"])
    return got


def _verdict_holds(f: Filters, check: CheckResult | None) -> bool:
    return f.verdict is None or (check.verdict if check else "unchecked") == f.verdict


def summaries(store: RunStore, filters: Filters | None = None) -> list[RunSummary]:
    return listing(store, filters).runs


def summary(store: RunStore, run_id: str) -> RunSummary:
    ix = _index(store)
    if ix is not None:
        try:
            with ix.engine.connect() as conn:
                columns = [t.runs.c.run_id, t.runs.c.summary, *(t.runs.c[name] for name in STAT_COLUMNS)]
                row = conn.execute(select(*columns).where(ix.where(t.runs), t.runs.c.run_id == run_id)).first()
        except SQLAlchemyError:
            row = None
        if row is not None:
            stat = stat_of(store, run_id)
            if stat is not None and all(stat[name] == row._mapping[name] for name in STAT_COLUMNS):
                return RunSummary.from_json(row.summary)
    record, raw = store.load_with_bytes(run_id)
    return summarize(record, hashlib.sha256(raw).hexdigest())


def reproductions_of(store: RunStore, run_id: str) -> list[str]:
    """Runs that re-executed `run_id`, oldest first."""
    ix = _index(store)
    if ix is not None:
        try:
            columns = [t.runs.c.run_id, t.runs.c.summary, *(t.runs.c[name] for name in STAT_COLUMNS)]
            with ix.engine.connect() as conn:
                rows = conn.execute(select(*columns).where(ix.where(t.runs), t.runs.c.reproduces == run_id)).all()
            # sorted here, not by ORDER BY: SQLite then walked the whole table in run-id order instead
            # of the `reproduces` index (0.32 s at 100,000 runs, against 1 ms)
            return sorted(row.run_id for row in rows if isinstance(_fresh(ix, row), RunSummary))
        except SQLAlchemyError:
            pass
    return [s.run_id for s in scan(store).runs if s.reproduces == run_id]


def ingested(store: RunStore, keys: Iterable[tuple[str, str, str | None]]) -> list[str] | None:
    """The runs the index holds as ingests of these (tool, source URI, the tool's run id) keys,
    sorted (oldest first); None when the index cannot be used (the caller then reads every record,
    and a note says why). Candidates only: the index is a cache anyone who can write the store
    can edit, so the caller verifies each run and takes its key from the record, never from here."""
    try:
        ix = open_index(store)
        if ix is None:
            return []  # an empty log: no run of this store verifies
        sync(ix)
        by_source: dict[tuple[str, str], set[str | None]] = {}
        for tool, uri, run_id in keys:
            by_source.setdefault((tool, uri), set()).add(run_id)
        c = t.ingests.c
        found: set[str] = set()
        with ix.engine.connect() as conn:
            for (tool, uri), run_ids in by_source.items():
                source = [c.tool == db_text(tool), c.source_uri == db_text(uri)]
                if tool == "":
                    source[0] = or_(source[0], c.tool.is_(None))
                if uri == "":
                    source[1] = or_(source[1], c.source_uri.is_(None))
                named = sorted({db_text(r) for r in run_ids if r is not None})
                wanted = [c.source_run_id.in_(chunk) for chunk in chunks(named, 500)]
                if None in run_ids:
                    wanted.append(c.source_run_id.is_(None))
                for which in wanted:
                    query = select(c.run_id).where(ix.where(t.ingests), which, *source)
                    found.update(conn.execute(query).scalars())
        return sorted(found)
    except (IndexUnavailable, SQLAlchemyError) as exc:
        note(f"the run index cannot be used ({why(exc)}): earlier ingests looked for in every record")
        return None


def reproduction_records(store: RunStore, run_id: str) -> list[RunRecord]:
    records: list[RunRecord] = []
    for found in reproductions_of(store, run_id):
        try:
            records.append(store.load(found))
        except (InvalidRecordError, EvidenceError):
            continue  # changed since it was listed: not a run to show
    return records


def record_check(store: RunStore, result: CheckResult) -> None:
    """Keep a check's outcome in the run index (one per run and context, the latest); when the
    index cannot be written, a note says so and nothing is kept (the check itself stands)."""
    try:
        ix = open_index(store)
        if ix is None:
            return
        row = check_row(ix.store_id, result)
        c = t.checks.c
        with writing(ix.engine, ix.store_id) as conn:
            conn.execute(
                delete(t.checks).where(
                    c.store_id == ix.store_id, c.run_id == result.run_id, c.context == result.context
                )
            )
            conn.execute(insert(t.checks).values(row))
    except (IndexUnavailable, SQLAlchemyError) as exc:
        note(f"the check's outcome was not kept in the run index ({why(exc)})")


def latest_checks(store: RunStore) -> dict[str, CheckResult]:
    """The latest kept check of each run, by run id."""
    try:
        ix = open_index(store)
        return _latest(ix) if ix is not None else {}
    except (IndexUnavailable, SQLAlchemyError) as exc:
        note(f"the run index cannot be used ({why(exc)}): no kept check outcomes")
        return {}


def _latest(ix: Index) -> dict[str, CheckResult]:
    latest: dict[str, tuple[float, str, CheckResult]] = {}
    with ix.engine.connect() as conn:
        for row in conn.execute(select(t.checks).where(ix.where(t.checks))):
            result = CheckResult(
                run_id=row.run_id,
                record_sha256=row.record_sha256,
                context=row.context,
                policy=row.policy,
                verdict=row.verdict,
                failing=json.loads(row.failing),
                could_not=row.could_not,
                waived=row.waived,
                findings_digest=row.findings_digest,
                checked_at=datetime.fromisoformat(row.checked_at) if row.checked_at else None,
            )
            key = (float(row.checked_ts), row.context)
            if row.run_id not in latest or key > latest[row.run_id][:2]:
                latest[row.run_id] = (*key, result)
    return {run_id: entry[2] for run_id, entry in sorted(latest.items())}


def update(store: RunStore) -> str | None:
    """After a command committed runs: index them now. Never raises: a note when it failed (the
    next reader catches up)."""
    try:
        ix = open_index(store)
        if ix is not None:
            sync(ix)
    except (AuditorError, SQLAlchemyError, OSError) as exc:
        return f"the run index was not updated ({why(exc)}); the next command that reads it catches up"
    return None


def matches(s: RunSummary, f: Filters, check: CheckResult | None) -> bool:
    if f.project is not None and s.project != f.project:
        return False
    if f.owner is not None and s.owner != f.owner:
        return False
    if f.status is not None and s.status != f.status:
        return False
    if f.since is not None and s.started_at < f.since:
        return False
    if f.until is not None and s.started_at > f.until:
        return False
    if f.package is not None and f.package not in s.packages:
        return False
    if f.verdict is not None and (check.verdict if check else "unchecked") != f.verdict:
        return False
    if f.dataset is not None:
        keys = {k for d in s.datasets for k in (d.before, d.after) if k}
        wanted = f.dataset.lower()
        if not any(k == wanted or (len(wanted) >= 8 and k.startswith(f"sha256:{wanted}")) for k in keys):
            return False
    return True
