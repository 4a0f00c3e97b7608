"""MLflow: the tool's name, shared by its ingester and its reader."""

from __future__ import annotations

import os
import stat
from pathlib import Path

TOOL = "MLflow"


def is_sqlite(path: Path) -> bool:
    """Whether `path` is a regular file that starts as an SQLite database does (never waits on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, 16) == b"SQLite format 3\x00"
    except OSError:
        return False
    finally:
        os.close(fd)
