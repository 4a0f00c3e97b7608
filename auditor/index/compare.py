"""`auditor index check`: the index against a full scan of the records, each difference one line.

The index is first brought up to the log, as any reader would; what is then compared is what a
reader would be answered from: every indexed run's row, summary, packages and dataset keys,
against the summary of its verified record, and the set of indexed runs against the set of runs
the store verifies.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from auditor.index import schema as t
from auditor.index.db import IndexUnavailable, shown, unavailable
from auditor.index.scan import scan
from auditor.index.summary import RunSummary
from auditor.index.sync import STAT_COLUMNS, Index, db_text, open_index, rebuild, stat_of, sync
from auditor.store.runs import RunStore


@dataclass(frozen=True)
class Status:
    where: str
    runs: int
    pending: int
    checks: int
    log_size: int
    log_head: int


def _open(store: RunStore) -> Index:
    ix = open_index(store)
    if ix is None:
        raise IndexUnavailable(f"{store.root}: the store has no runs yet: nothing to index")
    return ix


def rebuild_index(store: RunStore) -> tuple[int, str]:
    ix = _open(store)
    return rebuild(ix), shown(ix.url)


def status(store: RunStore) -> Status:
    ix = _open(store)
    sync(ix)
    try:
        with ix.engine.connect() as conn:
            count = {
                table.name: len(conn.execute(select(table.c.run_id).where(ix.where(table))).all())
                for table in (t.runs, t.pending, t.checks)
            }
            meta = conn.execute(select(t.meta).where(ix.where(t.meta))).first()
    except SQLAlchemyError as exc:
        raise unavailable(exc, ix.url) from exc
    return Status(
        shown(ix.url),
        count[t.runs.name],
        count[t.pending.name],
        count[t.checks.name],
        int(meta.log_size) if meta else 0,
        store.head().size,
    )


def differences(store: RunStore) -> list[str]:
    """Every way the index differs from the records, one line each (none: they agree)."""
    ix = _open(store)
    sync(ix)
    scanned = {s.run_id: s for s in scan(store).runs}
    try:
        with ix.engine.connect() as conn:
            rows = {r.run_id: r for r in conn.execute(select(t.runs).where(ix.where(t.runs)))}
            packages: dict[str, set[tuple[str, str]]] = defaultdict(set)
            for p in conn.execute(select(t.packages).where(ix.where(t.packages))):
                packages[p.run_id].add((p.name, p.version))
            keys: dict[str, set[str]] = defaultdict(set)
            for d in conn.execute(select(t.datasets).where(ix.where(t.datasets))):
                keys[d.run_id].add(d.key)
            ingests = {r.run_id: r for r in conn.execute(select(t.ingests).where(ix.where(t.ingests)))}
            meta = conn.execute(select(t.meta).where(ix.where(t.meta))).first()
    except SQLAlchemyError as exc:
        raise unavailable(exc, ix.url) from exc
    lines: list[str] = []
    head = store.head()
    if meta is None or meta.log_size != head.size or meta.log_root != head.root:
        covered = f"{meta.log_size}:{meta.log_root}" if meta else "nothing"
        lines.append(f"index: covers log head {covered}, the log's head is {head.text()}")
    for run_id in sorted(scanned.keys() | rows.keys()):
        if run_id not in rows:
            lines.append(f"run {run_id}: a verified run of the store, not in the index")
            continue
        row = rows[run_id]
        if run_id not in scanned:
            lines.append(f"run {run_id}: in the index, not a verified run of the store")
            continue
        lines.extend(f"run {run_id}: {line}" for line in _row_differences(row, scanned[run_id], packages, keys))
        lines.extend(f"run {run_id}: {line}" for line in _ingest_differences(ingests.get(run_id), scanned[run_id]))
        stat = stat_of(store, run_id)
        if stat is None or any(stat[c] != getattr(row, c) for c in STAT_COLUMNS):
            lines.append(f"run {run_id}: record.json's stat differs from the one indexed (verified again when read)")
    for name, items in (("packages", packages), ("datasets", keys), ("ingests", ingests)):
        for run_id in sorted(items.keys() - rows.keys()):
            lines.append(f"run {run_id}: {name} rows for a run the index does not hold")
    return lines


def _ingest_differences(row: object | None, s: RunSummary) -> list[str]:
    """The run's auditor_ingests row against its record's origin (an edit there would hide an
    earlier ingest from `auditor ingest`, which then writes the run again with no link)."""
    if s.origin != "ingested":
        return [] if row is None else ["an ingests row for a run that was not ingested"]
    if row is None:
        return ["an ingested run without its ingests row"]
    expected = {"tool": s.tool, "source_uri": s.source_uri, "source_run_id": s.source_run_id, "reingests": s.reingests}
    return [
        f"ingests column {column} is {getattr(row, column)!r}, the record says {db_text(value)!r}"
        for column, value in expected.items()
        if getattr(row, column) != db_text(value)
    ]


def _row_differences(
    row: object, s: RunSummary, packages: dict[str, set[tuple[str, str]]], keys: dict[str, set[str]]
) -> list[str]:
    out: list[str] = []
    indexed = json.loads(getattr(row, "summary"))  # noqa: B009 - a Row's column, named like the others
    expected = json.loads(s.to_json())
    for field in sorted(indexed.keys() | expected.keys()):
        if indexed.get(field) != expected.get(field):
            out.append(f"summary field {field} differs from the record's")
    columns = {
        "record_sha256": s.record_sha256,
        "project": s.project,
        "owner": s.owner,
        "status": s.status,
        "started_ts": s.started_at.timestamp(),
        "reproduces": s.reproduces,
    }
    for column, value in columns.items():
        if getattr(row, column) != value:
            out.append(f"column {column} is {getattr(row, column)!r}, the record says {value!r}")
    if packages.get(s.run_id, set()) != set(s.packages):
        out.append("package rows differ from the record's packages")
    wanted = {k for d in s.datasets for k in (d.before, d.after) if k}
    if keys.get(s.run_id, set()) != wanted:
        out.append("dataset rows differ from the record's dataset versions")
    return out
