"""`.dvcignore`: the paths DVC leaves out, in gitignore syntax, read as DVC reads them.

A `.dvcignore` in any folder applies below that folder. DVC leaves what it names out of a
folder's hash and out of the search for dvc.yaml and `.dvc` files, so auditor does the same
when it recomputes a folder's MD5 and when it lists the repository; patterns are matched with
pathspec's gitignore rules, the library DVC itself uses.
"""

from __future__ import annotations

from pathlib import Path

import pathspec

from auditor.errors import IngestError
from auditor.ingest.dvc.files import MAX_IGNORE_BYTES, read_bytes, within

NAME = ".dvcignore"


class DvcIgnore:
    """Whether DVC ignores a repo-relative path; the `.dvcignore` files are read when first needed."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self.notes: list[str] = []

    def ignored(self, rel: str, is_dir: bool) -> bool:
        parts = [part for part in rel.split("/") if part]
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is not None and spec.match_file("/".join(parts[depth:]) + ("/" if is_dir else "")):
                return True
        return False

    def any_patterns(self) -> bool:
        return self._spec("") is not None

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        if folder not in self.specs:
            self.specs[folder] = self._load(folder)
        return self.specs[folder]

    def _load(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        path = self.repo / folder / NAME
        label = f"{folder}/{NAME}" if folder else NAME
        if not path.exists() and not path.is_symlink():
            return None
        if not within(self.repo, path):
            self.notes.append(f"{label} is a symlink leading outside the repository: not read")
            return None
        try:
            text = read_bytes(path, label, MAX_IGNORE_BYTES).decode("utf-8", "replace")
        except IngestError as exc:
            self.notes.append(f"{label}: not read ({exc.problem}): the paths it names are not left out")
            return None
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if not lines:
            return None
        try:
            return pathspec.GitIgnoreSpec.from_lines(lines)
        except (ValueError, TypeError) as exc:
            self.notes.append(f"{label}: not valid gitignore patterns ({exc}): not applied")
            return None
