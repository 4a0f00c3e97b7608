"""Listing a folder of files written beside runs (sign-offs, notes), through no link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from auditor.errors import EvidenceError, StoreError


def folder_entries(folder: Path, what: str) -> list[str]:
    """The sorted names in `folder` ([] when it does not exist). A link or a file where the folder
    should be is evidence that does not hold (exit 4); a folder that cannot be read, a store error."""
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"{folder}: cannot read {what}: {exc.strerror}") from exc
    if not stat.S_ISDIR(mode):
        raise EvidenceError(f"{folder}: not a folder of {what} (a link or a file)")
    try:
        return sorted(entry.name for entry in os.scandir(folder))
    except OSError as exc:
        raise StoreError(f"{folder}: cannot read {what}: {exc.strerror}") from exc
