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
from pathlib import Path

from auditor.ingest.dvc.files import within

CODE_SUFFIXES = frozenset(
    {
        ".py", ".pyx", ".ipynb", ".r", ".rmd", ".sh", ".bash", ".jl", ".scala", ".java", ".kt",
        ".go", ".rs", ".c", ".cc", ".cpp", ".h", ".hpp", ".js", ".ts", ".rb", ".pl", ".lua",
    }
)  # fmt: skip
BYTECODE = (".pyc", ".pyo")
MAX_FOLDER_ENTRIES = 1_000
CODE_DESCRIPTION = "source code dependency"


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
