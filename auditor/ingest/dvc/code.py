"""Which dependencies of a DVC stage are its source code rather than data.

DVC lists a stage's scripts (`-d src/train.py`) among its dependencies, beside its data, so
that a changed script reruns the stage. They belong in the step's lineage, but they are not
datasets to document (no datasheet, no personal data): each is marked `dvc.kind: code`. A
file is code by its suffix; a folder is code when every file in it is (read from the work
tree, links not followed, a bounded walk: anything unclear leaves it data).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from auditor.capture.codeprint import MAX_FILES, fingerprint_files, language_of
from auditor.ingest.dvc.files import within
from auditor.record.base import Missing
from auditor.record.code import Code
from auditor.record.lineage import Dataset

CODE_SUFFIXES = frozenset(
    {
        ".py", ".pyx", ".ipynb", ".r", ".rmd", ".sh", ".bash", ".jl", ".scala", ".java", ".kt",
        ".go", ".rs", ".c", ".cc", ".cpp", ".h", ".hpp", ".js", ".ts", ".rb", ".pl", ".lua",
    }
)  # fmt: skip
BYTECODE = (".pyc", ".pyo")
MAX_FOLDER_ENTRIES = 1_000
CODE_DESCRIPTION = "source code dependency"
CODE_METHOD = "DVC stage dependencies"
WORKSPACE_NOTE = "read from the workspace when ingested: the version dvc.lock names may differ (--rehash compares them)"


def is_code_file(key: str) -> bool:
    """A repo-relative path whose name says it is source code (src/train.py, run.sh, fit.R...)."""
    return posixpath.splitext(key)[1].lower() in CODE_SUFFIXES


class CodeCheck:
    """`check(key)`: whether a dependency is source code, its folder's contents read from `repo`."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._seen: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        if is_code_file(key):
            return True
        if key not in self._seen:
            self._seen[key] = self._code_folder(self.repo / key)
        return self._seen[key]

    def _code_folder(self, folder: Path) -> bool:
        if folder.is_symlink() or not folder.is_dir() or not within(self.repo, folder):
            return False
        seen, found = 0, False
        for base, dirs, files in os.walk(folder, followlinks=False):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            if any(Path(base, d).is_symlink() for d in dirs):
                return False  # what a linked folder holds is not looked at
            seen += len(dirs) + len(files)
            if seen > MAX_FOLDER_ENTRIES:
                return False
            for name in files:
                if name.endswith(BYTECODE):
                    continue
                if not is_code_file(name):
                    return False
                found = True
        return found


def stage_code(repo: Path, datasets: Iterable[Dataset]) -> Code | Missing:
    """The code section of a DVC pipeline: the stages' code dependencies (files, and the files of
    code folders), hashed and fingerprinted from the repository's workspace. DVC keeps no copy of
    the code, only an MD5, so a file absent from the workspace is named in the notes."""
    paths: set[str] = set()
    notes: list[str] = []
    for entry in datasets:
        if entry.annotations.get("dvc.kind") != "code" or not entry.path or not _local(entry.path):
            continue
        folder = repo / entry.path
        if folder.is_dir():
            if folder.is_symlink():
                notes.append(f"{entry.path}: a link to a folder, not followed")
            elif within(repo, folder):  # a folder reached through a link out of the repository is not walked
                paths.update(_code_files(repo, entry.path, notes))
            else:
                notes.append(f"{entry.path}: leads out of the repository, not read")
        elif language_of(entry.path) is not None:
            paths.add(entry.path)
        else:
            notes.append(f"{entry.path}: a language auditor does not fingerprint")
    if not paths:
        if notes:
            return Missing(reason="no code dependency auditor can fingerprint: " + "; ".join(notes[:3]))
        return Missing(reason="DVC does not record the code's content: no stage lists a code file among its deps")
    code = fingerprint_files(repo, paths, CODE_METHOD)
    if not code.files:
        return Missing(reason="the code dependencies could not be read: " + "; ".join(code.notes[:3]))
    return code.model_copy(update={"notes": (WORKSPACE_NOTE, *notes, *code.notes)})


def _code_files(repo: Path, key: str, notes: list[str]) -> list[str]:
    """The fingerprintable files of a code folder, links not followed, at most MAX_FILES."""
    found: list[str] = []
    seen = 0
    for base, dirs, files in os.walk(repo / key, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        seen += len(dirs) + len(files)
        if seen > MAX_FOLDER_ENTRIES:
            notes.append(f"{key}: more than {MAX_FOLDER_ENTRIES} entries, the rest not looked at")
            return found
        for name in sorted(files):
            relative = Path(base, name).relative_to(repo).as_posix()
            if language_of(name) is not None and within(repo, Path(base, name)):
                found.append(relative)
            if len(found) > MAX_FILES:
                notes.append(f"{key}: more than {MAX_FILES} code files, the rest not fingerprinted")
                return found
    return found


def _local(key: str) -> bool:
    """A path inside the repository (not a URL, not absolute, not above it)."""
    return "://" not in key and not key.startswith("/") and ".." not in PurePosixPath(key).parts
