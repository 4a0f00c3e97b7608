"""A check's outcome as the run index keeps it, and the quick way to keep it in a store's own SQLite index.

`auditor check` of a store run keeps its outcome (`runs --verdict`, the portfolio). Through the index
layer (query.record_check) that costs importing SQLAlchemy and making its engine, about a fifth of a
warm check of a large record; when the index is the store's SQLite file and already holds the table,
sqlite3 alone writes the same row in the same kind of transaction (BEGIN IMMEDIATE: one writer per
file). Anything else (another database, no index yet, a table of another shape, any SQLite error)
is left to the index layer, which creates, rebuilds or notes as it always does.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.index import BUSY_TIMEOUT_S, INDEX_ENV, INDEX_FILE, SQLITE_PRAGMAS

if TYPE_CHECKING:
    from auditor.store.runs import RunStore

# As auditor/index/schema.py declares them (tests/check/test_kept_check.py checks that they agree).
TABLE = "auditor_checks"
COLUMNS = (
    "store_id",
    "run_id",
    "context",
    "record_sha256",
    "policy",
    "verdict",
    "failing",
    "could_not",
    "waived",
    "findings_digest",
    "checked_at",
    "checked_ts",
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one `auditor check` of a run, kept so the portfolio and `runs --verdict` need
    not check again: which record and which policy (`context`: a digest of the packs, waivers and
    advisory database used) gave which verdict."""

    run_id: str
    record_sha256: str
    context: str
    policy: str  # the packs, as a reader names them, e.g. "default, eu-ai-act"
    verdict: str  # compliant | violations | could_not_evaluate
    failing: dict[str, int] = field(default_factory=dict)  # severity -> failing findings
    could_not: int = 0  # findings that could not be evaluated or were inconclusive
    waived: int = 0
    findings_digest: str = ""
    checked_at: datetime | None = None


def check_row(store_id: str, result: CheckResult) -> dict[str, object]:
    """The index's row for `result` (one per store, run and context: the latest)."""
    return {
        "store_id": store_id,
        "run_id": result.run_id,
        "context": result.context,
        "record_sha256": result.record_sha256,
        "policy": result.policy,
        "verdict": result.verdict,
        "failing": json.dumps(result.failing, sort_keys=True),
        "could_not": result.could_not,
        "waived": result.waived,
        "findings_digest": result.findings_digest,
        "checked_at": result.checked_at.isoformat() if result.checked_at else None,
        "checked_ts": result.checked_at.timestamp() if result.checked_at else 0.0,
    }


def keep_in_store_sqlite(store: RunStore, result: CheckResult, env: dict[str, str]) -> bool:
    """Keep `result` in the store's SQLite index with sqlite3 alone; False (nothing written) when that
    is not the index in use or it cannot be done so: the caller then goes through the index layer."""
    if env.get(INDEX_ENV, "").strip() or store.head().size == 0:
        return False
    path = store.root / INDEX_FILE
    if not path.is_file():
        return False
    row = check_row(hashlib.sha256(store.log.entry(0)).hexdigest(), result)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        if tuple(info[1] for info in conn.execute(f"PRAGMA table_info({TABLE})")) != COLUMNS:
            return False
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"DELETE FROM {TABLE} WHERE store_id = ? AND run_id = ? AND context = ?",  # noqa: S608 - constants
                (row["store_id"], row["run_id"], row["context"]),
            )
            conn.execute(
                f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",  # noqa: S608
                tuple(row[column] for column in COLUMNS),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return True
