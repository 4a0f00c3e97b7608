"""MLflow: the tool's name, shared by its ingester and its reader."""

from __future__ import annotations

from pathlib import Path

TOOL = "MLflow"


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
