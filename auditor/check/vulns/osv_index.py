"""The package index over an OSV advisory folder, its on-disk cache, and the snapshot's commit and date.

Parsing a few thousand YAML files takes seconds, so the index (plain JSON data, never pickle) can be
cached in `cache_dir` under a key over every advisory file's path, size and mtime. A file that cannot be
read or is not a usable OSV record is named in the index's problems, and every package it names (or
the folder it sits in names) is marked broken so an audit reports it not audited rather than clean; a
broken file that names no package at all is "unattributed", and damages the whole database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from auditor.check.vulns.osv_records import package_names_in, package_records, parse_file
from auditor.errors import CouldNotEvaluateError
from auditor.files import write_atomic

_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST = "auditor-advisories.json"  # the coverage manifest (osv_coverage), never an advisory
_CACHE_FORMAT = 3  # bump whenever the index layout or the evaluation inputs change
_SHA = re.compile(r"[0-9a-f]{40}")
# The index is JSON data so it can be cached: {"format", "key", "advisories": int, "problems": [str],
# "packages": {name: [record]}, "broken": {name: [problem]}, "newest": ISO date | None}. A record is what
# osv_records.package_records makes of one advisory for one package.
Index = dict[str, Any]


class AdvisoryDatabaseError(CouldNotEvaluateError):
    """The advisory database as a whole is unusable, so no package can be audited against it."""


def load_index(root: Path, files: dict[str, Path], cache_dir: Path | None) -> Index:
    """Index the advisory `files` under `root`, reusing a valid cache in `cache_dir` when one matches."""
    key = _fingerprint(root, files)
    where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]  # one live cache per database
    cache = cache_dir / f"osv-{where}-{key}.json" if cache_dir else None
    index = _load_cache(cache, key) if cache else None
    if index is None:
        index = _build_index(root, files, key)
        if cache:
            _save_cache(cache, index)
    return index


def snapshot_facts(root: Path) -> tuple[str | None, str | None]:
    """Commit and date from SNAPSHOT.txt ("Commit <sha>, dated YYYY-MM-DD"), else the commit of a .git."""
    text = snapshot_text(root)
    commit = re.search(r"\bcommit ([0-9a-f]{40})\b", text, re.IGNORECASE)
    dated = [d for d in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text) if is_date(d)]
    return (commit.group(1).lower() if commit else git_head(root)), (dated[0] if dated else None)


def snapshot_text(root: Path) -> str:
    """SNAPSHOT.txt of a database snapshot, or "" when there is none."""
    with contextlib.suppress(OSError):
        return (root / "SNAPSHOT.txt").read_text(encoding="utf-8", errors="replace")
    return ""


def is_advisory_path(rel: str) -> bool:
    """Whether a relative path is one the index reads: *.yaml/*.yml/*.json, nothing hidden, not the manifest."""
    parts = rel.split("/")
    return rel.endswith(_SUFFIXES) and rel != MANIFEST and not any(part.startswith(".") for part in parts)


def advisory_files(root: Path) -> dict[str, Path]:
    """Every *.yaml/*.yml/*.json below `root` by relative path, skipping hidden entries such as .git."""
    if not root.is_dir():
        raise AdvisoryDatabaseError(f"advisory database {root} does not exist or is not a folder")
    found: dict[str, Path] = {}
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        relative = Path(folder).relative_to(root)  # "." for the root itself, and "." / name is name
        for name in sorted(names):
            if is_advisory_path(rel := (relative / name).as_posix()):
                found[rel] = Path(folder, name)
    if not found:
        raise AdvisoryDatabaseError(f"advisory database {root} holds no OSV advisory files (*.yaml, *.yml, *.json)")
    return found


def _fingerprint(root: Path, files: dict[str, Path]) -> str:
    """A key that changes when any advisory file is added, removed or rewritten."""
    lines = [f"{_CACHE_FORMAT}", str(root.resolve())]
    for rel, file in files.items():
        try:
            stat = file.stat()
            lines.append(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}")
        except OSError:  # a dangling link: reading it fails later and names it as a problem
            lines.append(f"{rel}\0unreadable")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _build_index(root: Path, files: dict[str, Path], key: str) -> Index:
    index: Index = {"format": _CACHE_FORMAT, "key": key, "advisories": 0, "newest": None}
    index.update(problems=[], packages={}, broken={}, unattributed=[])
    for rel, path in files.items():
        doc = None
        try:
            doc = parse_file(path)
            modified, records = package_records(doc, rel)
        except (OSError, ValueError, yaml.YAMLError) as exc:  # JSON and Unicode errors are ValueErrors
            _add_problem(index, root, path, rel, doc, exc)
            continue
        index["advisories"] += 1
        if modified and is_date(modified[:10]) and modified[:10] > (index["newest"] or ""):
            index["newest"] = modified[:10]
        for name, record in records.items():
            index["packages"].setdefault(name, []).append(record)
    return index


def _add_problem(index: Index, root: Path, path: Path, rel: str, doc: object, exc: Exception) -> None:
    """Name the file in the problems, and mark every package it names (or its folder names) not audited."""
    problem = f"{rel}: {' '.join(str(exc).split())[:300]}"
    index["problems"].append(problem)
    names = package_names_in(doc)
    if path.parent not in (root, root / "vulns"):
        names.add(canonicalize_name(path.parent.name))
    if not names:  # a flat folder and an unreadable file: it could be about any package
        index["unattributed"].append(f"advisory file {problem}")
    for name in sorted(names):
        index["broken"].setdefault(name, []).append(f"advisory file {problem}")


def is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def git_dir(root: Path) -> Path:
    """The git folder of a checkout at `root` (".git", or where a worktree's ".git" file points)."""
    git = root / ".git"
    with contextlib.suppress(OSError, ValueError):
        if git.is_file():  # a worktree or submodule: ".git" holds "gitdir: <path>"
            git = root / git.read_text(encoding="utf-8").removeprefix("gitdir:").strip()
    return git


def git_head(root: Path) -> str | None:
    """HEAD's commit read from the files of a git checkout, without running git."""
    git = git_dir(root)
    with contextlib.suppress(OSError, ValueError):
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        ref = head.removeprefix("ref:").strip()
        if ref == head:
            return head if _SHA.fullmatch(head) else None
        if (git / ref).is_file():
            sha = (git / ref).read_text(encoding="utf-8").strip()
            return sha if _SHA.fullmatch(sha) else None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(sha):
                return sha
    return None


def _load_cache(file: Path, key: str) -> Index | None:
    """The cached index, or None when missing, corrupt (checksum) or for another database state."""
    try:
        header, _, payload = file.read_bytes().partition(b"\n")
        if header.decode("ascii") != hashlib.sha256(payload).hexdigest():
            return None
        index = json.loads(payload)
    except (OSError, ValueError):
        return None
    valid = isinstance(index, dict) and index.get("format") == _CACHE_FORMAT and index.get("key") == key
    return index if valid else None


def _save_cache(file: Path, index: Index) -> None:
    """Write atomically (a cache: no fsync) and drop older caches of the same database; best effort."""
    payload = json.dumps(index, separators=(",", ":")).encode()
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(file, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload, durable=False)
        for stale in file.parent.glob(file.name[:21] + "*.json"):  # "osv-" + 16 hex + "-": same database
            if stale != file:
                stale.unlink(missing_ok=True)
