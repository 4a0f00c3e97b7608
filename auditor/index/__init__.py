"""The run index: what the portfolio, `runs` filters, cross-run lineage and duplicate detection ask
about many runs, kept beside the records (a cache, always rebuildable from them, never evidence)."""

from __future__ import annotations

from collections.abc import Mapping

INDEX_ENV = "AUDITOR_INDEX_URL"


def shared(env: Mapping[str, str]) -> bool:
    """Whether the index is the database AUDITOR_INDEX_URL names (one several stores or machines
    share), not the store's own SQLite file. Here, not in db.py: `run` asks without importing
    SQLAlchemy."""
    return bool(env.get(INDEX_ENV, "").strip())
