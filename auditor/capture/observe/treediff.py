"""What a command changed in the project tree: the evidence auditor has for any command,
Python or not. A file counts as written when it is new or its size, mtime or inode
changed. Version-control folders, the run store and virtualenvs are skipped.

A declared folder that hashing has just listed (hashing.Walk) is not listed again: its
files, stats and odd entries are taken from that walk, under the same rules as a listing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.project.folders import SKIP_DIRS

if TYPE_CHECKING:
    from auditor.capture.hashing import Walk

MAX_ENTRIES = 200_000
VENV_MARKER = "pyvenv.cfg"

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path, skip: tuple[Path, ...] = (), walks: Mapping[str, Walk] | None = None) -> Snapshot:
    """(size, mtime_ns, inode) of every regular file under root, by absolute path (the first
    MAX_ENTRIES found). `walks`: folders already listed, by absolute path (hash_paths' `walks`),
    taken as they were then."""
    skipped = {os.path.realpath(p) for p in skip}
    out: Snapshot = {}
    walks = walks or {}
    top = str(root)
    listed = walks.get(top)
    try:
        if listed is None:
            _walk(top, skipped, walks, out)
        else:
            _listed(top, listed, skipped, out)
    except _Full:
        pass
    return out


class _Full(Exception):
    """MAX_ENTRIES files found: the snapshot stops there."""


def _walk(folder: str, skipped: set[str], walks: Mapping[str, Walk], out: Snapshot) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    if any(e.name == VENV_MARKER for e in entries) or os.path.realpath(folder) in skipped:
        return  # a virtualenv, or the store: not the project's data
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name in SKIP_DIRS:
                continue
            walk = walks.get(entry.path)
            if walk is None:
                _walk(entry.path, skipped, walks, out)
            else:
                _listed(entry.path, walk, skipped, out)
        elif entry.is_file(follow_symlinks=False):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            out[entry.path] = (st.st_size, st.st_mtime_ns, st.st_ino)
            if len(out) >= MAX_ENTRIES:
                raise _Full


def _listed(root: str, walk: Walk, skipped: set[str], out: Snapshot) -> None:
    """What _walk would find under root, from hashing's walk of it: the files that are no links, in
    the folders _walk would enter. That walk entered every folder that is no link, parents first.
    A folder's files go in at once (C loops over its names and stats)."""
    real, base = os.path.realpath(root).rstrip("/"), root.rstrip("/")
    prefixes = {prefix for prefix, _, _ in walk.folders}
    left_out: set[str] = set()  # prefixes of the folders _walk would not enter, nor anything below them
    for prefix, names, stats in walk.folders:
        parent, _, name = prefix[:-1].rpartition("/")
        if prefix and ((parent + "/" if parent else "") in left_out or name in SKIP_DIRS):
            left_out.add(prefix)
            continue
        marker = prefix + VENV_MARKER
        if VENV_MARKER in names or marker in walk.odd or marker + "/" in prefixes:
            left_out.add(prefix)
            continue
        if (f"{real}/{prefix[:-1]}" if prefix else real or "/") in skipped:
            left_out.add(prefix)
            continue
        folder = f"{base}/{prefix}"
        found: Iterable[tuple[str, tuple[int, int, int]]] = zip(
            [folder + name for name in names], zip(stats[0::4], stats[1::4], stats[2::4], strict=True), strict=True
        )
        if walk.odd:
            found = ((path, stat) for path, stat in found if path[len(base) + 1 :] not in walk.odd)
        room = MAX_ENTRIES - len(out)
        if len(names) >= room:
            out.update(islice(found, room))
            if len(out) >= MAX_ENTRIES:
                raise _Full
        else:
            out.update(found)


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """Files created or modified between two snapshots."""
    return sorted(path for path, stat in after.items() if before.get(path) != stat)
