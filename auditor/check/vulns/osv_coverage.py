"""What a local advisory database covers, checked against the files it holds.

A folder of OSV files proves that the packages it names have advisories; it says nothing about a
package it does not name unless it declares what it covers: one package's folder copied on its own
would otherwise pass every other package as clean. So a package is "clean" only when a declaration
covers it AND the files present match that declaration. Recognised, the first one found wins:

1. `auditor-advisories.json` at the root, auditor's own manifest, for any folder (README, Vulnerabilities):
   `{"version": 1, "ecosystem": "PyPI", "source": ..., "date": "YYYY-MM-DD", "covers": "ecosystem" or
   [package names], "advisories": N, "files_sha256": optional digest of the file list}`.
2. `SNAPSHOT.txt` of a PyPA advisory-database snapshot: it names pypa/advisory-database and states
   "N advisories"; covers every PyPI package (the PYSEC advisories).
3. A git checkout of pypa/advisory-database (its remote says so): the git index lists every file of the
   commit, so a file missing from the working tree, or one that is not in the commit, is seen.
4. An OSV export unpacked beside its `all.zip`: the archive lists every file.

A folder that declares nothing covers nothing; one whose files do not match its declaration (a count,
a list or a digest that differs), or which holds a broken file that names no package, is damaged and
covers nothing either. Packages it does not cover can still be found vulnerable, never clean.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name
from pydantic import Field, ValidationError, field_validator

from auditor.check.vulns.osv_index import (
    MANIFEST,
    AdvisoryDatabaseError,
    git_dir,
    is_advisory_path,
    is_date,
    snapshot_text,
)
from auditor.files import read_regular_file
from auditor.record.base import Frozen

__all__ = ["MANIFEST", "Coverage", "Manifest", "files_digest", "read_coverage"]

_MAX_MANIFEST = 4 << 20  # a package list of a few hundred thousand names
_MAX_INDEX = 256 << 20
_PYPA_REMOTE = re.compile(r"^\s*url\s*=\s*\S*[/:]pypa/advisory-database(?:\.git)?/?\s*$", re.MULTILINE | re.IGNORECASE)
_COUNT = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+) advisories\b", re.IGNORECASE)
_SHOWN = 3  # file names quoted in a mismatch


class Manifest(Frozen):
    """auditor-advisories.json: what the folder covers, and what must be present for that to hold."""

    version: Literal[1]
    ecosystem: Literal["PyPI"]
    source: str = Field(min_length=1, description="Where the advisories came from (a URL, a tool, a team)")
    date: str | None = Field(None, description="When the data was taken (YYYY-MM-DD)")
    covers: Literal["ecosystem"] | tuple[str, ...] = Field(
        description='"ecosystem" (every PyPI package), or the package names it is complete for'
    )
    advisories: int = Field(ge=0, description="How many advisory files (*.yaml, *.yml, *.json) the folder holds")
    files_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="files_digest() of their paths")

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None and not is_date(value):
            raise ValueError("must be a date, YYYY-MM-DD")
        return value


@dataclass(frozen=True)
class Coverage:
    """Which packages a clean answer may be given for; `problem` says why none, when none."""

    description: str  # what it covers and how that was checked, one line for the report
    packages: frozenset[str] | None = None  # canonical names; None: every PyPI package
    problem: str | None = None  # undeclared or damaged: why no package is covered
    date: str | None = None  # the manifest's date, which beats any other

    def why_not(self, name: str) -> str | None:
        """None when `name` (canonical) is covered; else why an answer for it cannot be "clean"."""
        if self.problem is not None:
            return f"the advisory database {self.problem}"
        if self.packages is not None and name not in self.packages:
            return f"the advisory database does not cover it: it covers {self.description}"
        return None


def files_digest(paths: Iterable[str]) -> str:
    """sha256 of the relative POSIX paths, sorted, each followed by a newline (`LC_ALL=C sort | sha256sum`)."""
    return hashlib.sha256("".join(f"{path}\n" for path in sorted(paths)).encode()).hexdigest()


def read_coverage(root: Path, files: dict[str, Path], unattributed: list[str]) -> Coverage:
    """The database's declaration, checked against `files` (relative path -> file) that are present."""
    coverage = _declared(root, set(files))
    if coverage.problem is None and unattributed:
        first = f"{unattributed[0]}{_more(len(unattributed), 1)}"
        damaged = f"is damaged: {first}; a broken file that names no package could be about any"
        return Coverage(coverage.description, coverage.packages, damaged, coverage.date)
    return coverage


def _declared(root: Path, present: set[str]) -> Coverage:
    manifest = _manifest(root)
    if manifest is not None:
        return _from_manifest(manifest, present)
    text = snapshot_text(root)
    counted = _COUNT.search(text)
    if "pypa/advisory-database" in text and counted:
        count = int(counted.group(1).replace(",", ""))
        what = f"every PyPI package, PYSEC advisories (a PyPA advisory-database snapshot of {count:,} advisories)"
        return Coverage(what, None, _count_mismatch("SNAPSHOT.txt", count, len(present)))
    listed = _git_index(root)
    if listed is not None:
        what = "every PyPI package, PYSEC advisories (a git checkout of pypa/advisory-database)"
        return Coverage(what, None, _list_mismatch("the git index", listed, present))
    with contextlib.suppress(OSError, zipfile.BadZipFile), zipfile.ZipFile(root / "all.zip") as archive:
        names = {name for name in archive.namelist() if not name.endswith("/") and is_advisory_path(name)}
        what = "every PyPI package (an OSV export unpacked beside its all.zip)"
        return Coverage(what, None, _list_mismatch("all.zip", names, present))
    return Coverage(
        "nothing declared",
        problem=(
            f"declares no coverage (no {MANIFEST}, no SNAPSHOT.txt of pypa/advisory-database with an advisory "
            "count, no git checkout of pypa/advisory-database, no all.zip): it may hold only some packages' advisories"
        ),
    )


def _manifest(root: Path) -> Manifest | None:
    where = root / MANIFEST
    try:
        data = json.loads(read_regular_file(where, _MAX_MANIFEST))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # a link, a folder, too large, not JSON, not UTF-8
        raise AdvisoryDatabaseError(f"{where}: cannot be read: {' '.join(str(exc).split())[:200]}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise AdvisoryDatabaseError(f"{where}: {field}: {first['msg']}") from None


def _from_manifest(manifest: Manifest, present: set[str]) -> Coverage:
    packages = None if manifest.covers == "ecosystem" else frozenset(canonicalize_name(n) for n in manifest.covers)
    scope = "every PyPI package" if packages is None else f"the {len(packages)} package(s) listed"
    what = f"{scope} in {MANIFEST}, from {manifest.source}"
    problem = _count_mismatch(MANIFEST, manifest.advisories, len(present))
    if problem is None and manifest.files_sha256 and manifest.files_sha256 != files_digest(present):
        problem = f"does not match {MANIFEST}: the advisory files present are not the ones it lists (files_sha256)"
    return Coverage(what, packages, problem, manifest.date)


def _count_mismatch(declaration: str, declared: int, found: int) -> str | None:
    if declared == found:
        return None
    return f"does not match {declaration}: it declares {declared:,} advisory files and {found:,} are present"


def _list_mismatch(declaration: str, listed: set[str], present: set[str]) -> str | None:
    missing, extra = sorted(listed - present), sorted(present - listed)
    if not missing and not extra:
        return None
    parts = [f"{len(missing):,} it lists missing ({_some(missing)})"] if missing else []
    parts += [f"{len(extra):,} present that it does not list ({_some(extra)})"] if extra else []
    return f"does not match {declaration}: advisory files " + "; ".join(parts)


def _some(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + _more(len(names))


def _more(count: int, shown: int = _SHOWN) -> str:
    return f" and {count - shown:,} more" if count > shown else ""


def _git_index(root: Path) -> set[str] | None:
    """The advisory paths a git checkout of pypa/advisory-database tracks; None when it is not one."""
    git = git_dir(root)
    try:
        config = (git / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not _PYPA_REMOTE.search(config):
        return None
    try:
        data = read_regular_file(git / "index", _MAX_INDEX)
        sha256 = re.search(r"^\s*objectformat\s*=\s*sha256\s*$", config, re.MULTILINE | re.IGNORECASE) is not None
        entries = list(_index_entries(data, 32 if sha256 else 20))
    except (OSError, ValueError, IndexError) as exc:
        raise AdvisoryDatabaseError(f"{git / 'index'}: cannot be read as a git index: {exc}") from None
    if any(stage for _, stage in entries):
        raise AdvisoryDatabaseError(f"{git / 'index'}: the checkout has unmerged files (a merge in progress)")
    return {path for path, _ in entries if is_advisory_path(path)}


def _index_entries(data: bytes, hash_size: int) -> Iterator[tuple[str, int]]:
    """(path, merge stage) of every entry of a git index file, versions 2 to 4 (git's index-format.txt)."""
    if data[:4] != b"DIRC" or len(data) < 12 + hash_size:
        raise ValueError("no DIRC header")
    digest = hashlib.sha256 if hash_size == 32 else hashlib.sha1
    if digest(data[:-hash_size]).digest() != data[-hash_size:]:
        raise ValueError("its checksum does not match")
    version, count = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
    if version not in (2, 3, 4):
        raise ValueError(f"index version {version} is not one auditor reads")
    pos, previous = 12, b""
    for _ in range(count):
        start = pos
        pos += 40 + hash_size  # ctime, mtime, dev, ino, mode, uid, gid, size; the object id
        flags = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if version >= 3 and flags & 0x4000:  # extended flags (skip-worktree, intent-to-add)
            pos += 2
        if version == 4:  # the path is the previous one less N bytes, plus a suffix; no padding
            strip, pos = _varint(data, pos)
            end = data.index(b"\0", pos)
            name = previous[: len(previous) - strip] + data[pos:end]
            pos = end + 1
        else:
            end = data.index(b"\0", pos)
            name = data[pos:end]
            pos = start + (end - start + 8) // 8 * 8  # 1 to 8 NULs pad the entry to a multiple of 8
        previous = name
        yield name.decode("utf-8", errors="surrogateescape"), (flags >> 12) & 3


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """git's offset encoding (each continuation adds one before shifting)."""
    byte = data[pos]
    pos += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, pos
