"""What a command changed in the project tree: the evidence auditor has for any command,
Python or not. A file counts as written when it is new or its size, mtime or inode
changed. Version-control folders, the run store and virtualenvs are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from auditor.project.folders import SKIP_DIRS

MAX_ENTRIES = 200_000

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> Snapshot:
    """(size, mtime_ns, inode) of every regular file under root, by absolute path."""
    skipped = {os.path.realpath(p) for p in skip}
    out: Snapshot = {}
    for entry in _walk(str(root), skipped):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        out[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ino)
        if len(out) >= MAX_ENTRIES:
            break
    return out


def _walk(folder: str, skipped: set[str]) -> Iterator[os.DirEntry[str]]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    if any(e.name == "pyvenv.cfg" for e in entries) or os.path.realpath(folder) in skipped:
        return  # a virtualenv, or the store: not the project's data
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIP_DIRS:
                yield from _walk(entry.path, skipped)
        elif entry.is_file(follow_symlinks=False):
            yield entry


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """Files created or modified between two snapshots."""
    return sorted(path for path, stat in after.items() if before.get(path) != stat)
