"""Turn raw file access into what an auditor asks: declared and read, declared but never
read, read but undeclared, written.

Reads of the interpreter's own files (its prefixes and site-packages), of Python
code, and of the kernel's pseudo-files are counted per place, not listed one by
one: a training run opens thousands of them and none of them is data. So are a
tool's own files, read or written (internals.py: `.git/`, `.dvc/`, `.gitignore`,
`~/.gitconfig`, caches, temporary files). A file that belongs to a declared
dataset is always listed, wherever it lives.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter

from auditor.capture.observe.internals import Places, internal_place
from auditor.capture.observe.realpaths import RealPaths
from auditor.record.lineage import AccessVerdict, FileAccess, Observation

CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".pyd", ".so", ".pth")
# Kernel pseudo-files, system configuration and the timezone database: never training data.
SYSTEM_PREFIXES = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/share/zoneinfo/")
MAX_LISTED_FILES = 5_000


@dataclass(frozen=True)
class Declared:
    """A declared dataset or model: its id, role and real path."""

    id: str
    role: str
    path: Path


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def owner(path: str, declared: Sequence[Declared]) -> Declared | None:
    """The declared dataset a file belongs to (the most specific one)."""
    return _Owners(declared)(path)


class _Owners:
    """`owner` for many paths: the declared paths as text once, longest first (the first that holds a
    path is the most specific; among equal ones, the first declared, as max() picks).

    of_file(path) answers the same from the path's folder, asked once per folder: a path is under a
    declared D (starts with D + "/") exactly when its folder is D or under D, so the only other
    candidate is D == path itself, which is then the longest, hence the most specific."""

    def __init__(self, declared: Sequence[Declared]) -> None:
        ordered = sorted(declared, key=lambda d: len(str(d.path)), reverse=True)
        self._folders = [(str(d.path), str(d.path).rstrip("/") + "/", d) for d in ordered]
        self._exact: dict[str, Declared] = {}
        for folder, _, item in self._folders:
            self._exact.setdefault(folder, item)
        self._of_folder: dict[str, Declared | None] = {}

    def __call__(self, path: str) -> Declared | None:
        for folder, under, item in self._folders:
            if path == folder or path.startswith(under):
                return item
        return None

    def of_file(self, path: str) -> Declared | None:
        folder = path.rpartition("/")[0]
        if not folder:  # "/name": a declared "/" holds it, though its folder "" is under nothing
            return self(path)
        if (exact := self._exact.get(path)) is not None:
            return exact
        if folder not in self._of_folder:
            self._of_folder[folder] = self(folder)
        return self._of_folder[folder]


def classify(
    reads: Iterable[str],
    writes: Iterable[str],
    *,
    declared: Sequence[Declared],
    project_root: Path,
    environment_prefixes: Iterable[str],
    ignore: Sequence[str],
    method: str,
    processes: int,
    existed_before: frozenset[str] = frozenset(),
    regular: Container[str] = frozenset(),
) -> Observation:
    """existed_before: project files present before the run (real paths). A file the run wrote
    and read that did not exist before is the run's own intermediate, not outside data.
    regular: paths found to be regular files (no links) by the project tree's snapshot taken after
    the run: resolved through their folder alone (see RealPaths)."""
    real = RealPaths(regular)  # each folder resolved once; a file not known regular costs one lstat
    root = os.path.realpath(project_root)
    prefixes = sorted({real(p) for p in environment_prefixes if p}, key=len, reverse=True)
    ignored = [real(p) for p in ignore]
    read_set = real.many(reads)
    write_set = real.many(writes)
    places = Places.here(root)
    summary: Counter[str] = Counter()
    files: list[tuple[str, bool, bool, str | None, tuple[AccessVerdict, ...]]] = []  # made models when listed
    unlisted = 0  # files past MAX_LISTED_FILES: counted, not kept
    read_ids: set[str] = set()
    ignored_exact, ignored_under = set(ignored), tuple(i.rstrip("/") + "/" for i in ignored)
    # Per folder, asked once: whether it is ignored (a path is under an ignored one if its folder is),
    # and its owner (see _Owners.of_file, inlined here: a run may read 20,000 files).
    ignored_folders: dict[str, bool] = {}
    owners = _Owners(declared)
    owner_exact, owner_of_folder = owners._exact, owners._of_folder
    for path in sorted(read_set | write_set):
        if path in ignored_exact:
            continue
        folder = path.rpartition("/")[0]
        if (skip := ignored_folders.get(folder)) is None:
            skip = ignored_folders[folder] = (
                folder in ignored_exact or folder.startswith(ignored_under)
                if folder
                else path.startswith(ignored_under)
            )
        if skip:
            continue
        if not folder:
            dataset = owners(path)
        elif (dataset := owner_exact.get(path)) is None:
            if folder in owner_of_folder:
                dataset = owner_of_folder[folder]
            else:
                dataset = owner_of_folder[folder] = owners(folder)
        read, wrote = path in read_set, path in write_set
        if dataset is None:
            place = None if wrote else _summary_place(path, prefixes)
            place = place or internal_place(path, places, written=wrote)
            if place is not None:
                summary[place] += 1
                continue
        elif read:
            read_ids.add(dataset.id)
        if len(files) >= MAX_LISTED_FILES:
            unlisted += 1
            continue
        undeclared = read and dataset is None and (not wrote or path in existed_before)
        files.append(
            (
                path,
                read,
                wrote,
                dataset.id if dataset else None,
                _VERDICTS[wrote, read and dataset is not None, undeclared],
            )
        )
    if unlisted:
        summary[f"(further files not listed: {unlisted})"] += unlisted
    listed = _file_accesses().validate_python(
        [
            {"path": _display(path, root), "read": read, "written": wrote, "dataset": dataset, "verdicts": verdicts}
            for path, read, wrote, dataset, verdicts in files
        ]
    )
    unread = tuple(sorted(d.id for d in declared if d.role == "input" and d.id not in read_ids))
    return Observation(
        method="audit-hook" if method == "audit-hook" else "tree-diff",
        processes=processes,
        files=listed,
        declared_unread=unread,
        environment_reads=dict(sorted(summary.items())),
    )


# (written, declared and read, undeclared and read) -> a listed file's verdicts, in the order they are given
_VERDICTS: dict[tuple[bool, bool, bool], tuple[AccessVerdict, ...]] = {
    (wrote, declared, undeclared): (
        *(("written",) if wrote else ()),
        *(("declared_read",) if declared else ()),
        *(("undeclared_read",) if undeclared else ()),
    )
    for wrote in (False, True)
    for declared in (False, True)
    for undeclared in (False, True)
}


@functools.cache
def _file_accesses() -> TypeAdapter[tuple[FileAccess, ...]]:
    """Validates the listed files in one call (up to MAX_LISTED_FILES models), as FileAccess(...) each would."""
    return TypeAdapter(tuple[FileAccess, ...])


def _summary_place(path: str, prefixes: Sequence[str]) -> str | None:
    for prefix in prefixes:
        if _inside(path, prefix):
            return prefix
    if path.endswith(CODE_SUFFIXES):
        return "python code"
    for system in SYSTEM_PREFIXES:
        if path.startswith(system):
            return system.rstrip("/")
    return None


def _display(path: str, root: str) -> str:
    """Relative to the root when inside it (both real, normalised paths: os.path.relpath by slicing)."""
    if path == root:
        return "."
    return path[len(root.rstrip("/")) + 1 :] if _inside(path, root) else path
