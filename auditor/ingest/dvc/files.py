"""Reading the files of a DVC repository as untrusted data: size caps, safe parsers, no escapes.

YAML is read with the safe loader, its alias expansion bounded (auditor.ingest.safe_yaml, shared
with the MLflow reader), so a few lines of nested aliases cannot make the flattening of params
blow up. Python params files are parsed, never run, the way DVC reads them: literal top-level
and class assignments.
"""

from __future__ import annotations

import ast
import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.files import InputFileError, read_input
from auditor.ingest.safe_yaml import load_yaml

MAX_PIPELINE_BYTES = 50 * 1024 * 1024  # dvc.yaml and dvc.lock
MAX_VALUES_BYTES = 10 * 1024 * 1024  # params and metrics files
MAX_IGNORE_BYTES = 1024 * 1024  # .dvcignore
MAX_WALK_ENTRIES = 200_000
SKIPPED_DIRS = frozenset({".git", ".dvc", ".hg", ".svn"})  # DVC never looks for pipelines in these


def within(repo: Path, path: Path) -> bool:
    """Whether path, links resolved, stays inside the repository (never read what leads out)."""
    try:
        return path.resolve().is_relative_to(repo.resolve())
    except (OSError, RuntimeError):
        return False


def read_bytes(path: Path, label: str, cap: int) -> bytes:
    """A file of the repository: a regular file (links were checked to stay inside it) of at
    most `cap` bytes, opened so that a FIFO swapped in after the check cannot hang the ingest."""
    try:
        return read_input(path, "a DVC file", cap)
    except InputFileError as exc:
        raise IngestError(label, None, exc.problem) from exc


def load_values(path: Path, label: str) -> Any:
    """A params or metrics file, parsed by its suffix as DVC does (YAML for anything unknown)."""
    data = read_bytes(path, label, MAX_VALUES_BYTES)
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(data, parse_constant=lambda name: name)  # NaN / Infinity stay text
        if suffix == ".toml":
            return tomllib.loads(data.decode("utf-8"))
        if suffix == ".py":
            return _python_literals(ast.parse(data, filename=label))
    except (ValueError, UnicodeDecodeError, SyntaxError, RecursionError) as exc:
        raise IngestError(label, None, f"not valid {suffix[1:].upper()}: {' '.join(str(exc).split())[:200]}") from exc
    return load_yaml(data, label)


def _python_literals(tree: ast.Module | ast.ClassDef | ast.FunctionDef, only_self: bool = False) -> dict[str, Any]:
    """DVC's reading of Python params: NAME = literal at the top, in classes and in __init__ (self.NAME)."""
    result: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            result[node.name] = _python_literals(node)
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            result.update(_python_literals(node, only_self=True))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if len(targets) != 1:
                continue
            target = targets[0]
            if only_self:
                if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
                    continue
                if target.value.id != "self":
                    continue
                name = target.attr
            elif isinstance(target, ast.Name):
                name = target.id
            else:
                continue
            try:
                result[name] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                continue  # not a literal: DVC skips it too
    return result


@dataclass(frozen=True)
class Found:
    pipelines: tuple[Path, ...]  # every dvc.yaml, the root's first
    notes: tuple[str, ...]
    dvcfiles: tuple[Path, ...] = ()  # every .dvc file (`dvc add`, `dvc import`), sorted by path


def find_pipelines(repo: Path, ignored: Callable[[str, bool], bool] | None = None) -> Found:
    """Every dvc.yaml and .dvc file in the repository, as `dvc dag` collects them; links are not
    followed, and what `ignored(repo-relative path, is a folder)` says DVC ignores is left out."""
    found: list[Path] = []
    dvcfiles: list[Path] = []
    notes: list[str] = []
    seen = 0
    pending = [repo]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            notes.append(f"could not list {folder.relative_to(repo).as_posix() or '.'}: {exc.strerror or exc}")
            continue
        for entry in listed:
            seen += 1
            is_dir = entry.is_dir(follow_symlinks=False)
            if ignored is not None and ignored(Path(entry.path).relative_to(repo).as_posix(), is_dir):
                continue
            if is_dir and entry.name not in SKIPPED_DIRS:
                pending.append(Path(entry.path))
            elif entry.name == "dvc.yaml" and entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
            elif entry.name.endswith(".dvc") and entry.name != ".dvc" and entry.is_file(follow_symlinks=False):
                dvcfiles.append(Path(entry.path))
            elif (entry.name == "dvc.yaml" or entry.name.endswith(".dvc")) and entry.is_symlink():
                notes.append(f"{Path(entry.path).relative_to(repo).as_posix()} is a symlink: not read")
        if seen > MAX_WALK_ENTRIES:
            notes.append(f"stopped looking for dvc.yaml files after {MAX_WALK_ENTRIES} entries")
            break
    found.sort(key=lambda path: (path.parent != repo, path.relative_to(repo).as_posix()))
    dvcfiles.sort(key=lambda path: path.relative_to(repo).as_posix())
    return Found(tuple(found), tuple(notes), tuple(dvcfiles))
