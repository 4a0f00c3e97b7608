"""The run index: what the portfolio, `runs` filters, cross-run lineage and duplicate detection ask
about many runs, kept beside the records (a cache, always rebuildable from them, never evidence)."""

from __future__ import annotations

from collections.abc import Mapping

INDEX_ENV = "AUDITOR_INDEX_URL"
INDEX_FILE = "index.sqlite"
BUSY_TIMEOUT_S = 30
WAL_LIMIT_BYTES = 64 << 20  # a WAL larger than this is cut back to it at the next write
SQLITE_PRAGMAS = (  # on every connection to a store's SQLite index, through SQLAlchemy or sqlite3 alone
    "PRAGMA journal_mode=WAL",  # readers never wait for a writer
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}",
    "PRAGMA synchronous=NORMAL",  # a cache: a crash loses at most the last sync
    f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}",  # the next write cuts a large WAL
)


def shared(env: Mapping[str, str]) -> bool:
    """Whether the index is the database AUDITOR_INDEX_URL names (one several stores or machines
    share), not the store's own SQLite file. Here, not in db.py: `run` asks without importing
    SQLAlchemy."""
    return bool(env.get(INDEX_ENV, "").strip())
