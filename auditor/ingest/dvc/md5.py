"""DVC's own MD5s, recomputed from the workspace, to tell which files changed since dvc.lock.

File (DVC 3, `hash: md5`): the MD5 of its bytes, what `md5sum` prints.
File (DVC 1 and 2, no `hash:`, "md5-dos2unix"): read in 1 MiB chunks; a chunk whose first 512
bytes look like text (no NUL, at most 30% outside printable ASCII and \\n \\r \\t \\f \\b) has CRLF
turned into LF before it is hashed. That is dvc-data's rule, chunk boundaries included.
Folder: `<md5>.dir`, the MD5 of `json.dumps(sorted([{"md5": M, "relpath": P}...]), sort_keys=True)`
over every file below it (P '/'-separated, sorted by P), each file hashed as above. Like DVC,
entries named .git, and folders named .hg or .dvc, are left out, and links to folders are not
entered. DVC also leaves out what .dvcignore names: the caller passes `ignored` for that.

MD5 is what DVC compares; it is kept as an identity hint, never as an integrity hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
TEXT_PROBE = 512
TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"
SKIPPED_ANY = frozenset({".git"})
SKIPPED_DIRS = frozenset({".git", ".hg", ".dvc"})


@dataclass(frozen=True)
class Current:
    """DVC's MD5 of what is in the workspace now, or why it could not be taken."""

    md5: str | None
    problem: str | None = None
    files: tuple[Path, ...] = ()  # every file read: the SHA-256 pass hashes the same set


class _Refused(Exception):
    pass


def is_text(block: bytes) -> bool:
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, TEXT_CHARS)) / len(block) <= 0.30


def md5_bytes(data: bytes, *, legacy: bool) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for start in range(0, max(len(data), 1), CHUNK):
        _update(digest, data[start : start + CHUNK], legacy)
    return digest.hexdigest()


def md5_file(path: Path, *, legacy: bool) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            _update(digest, chunk, legacy)
    return digest.hexdigest()


def _update(digest: hashlib._Hash, chunk: bytes, legacy: bool) -> None:
    if legacy and chunk and is_text(chunk[:TEXT_PROBE]):
        chunk = chunk.replace(b"\r\n", b"\n")
    digest.update(chunk)


def dir_md5(listing: list[tuple[str, str]], *, legacy: bool) -> str:
    """The `.dir` hash of (relpath, md5) pairs, as dvc-data's Tree.digest computes it."""
    entries = sorted(({"md5": md5, "relpath": rel} for rel, md5 in listing), key=lambda entry: entry["relpath"])
    return md5_bytes(json.dumps(entries, sort_keys=True).encode("utf-8"), legacy=legacy) + ".dir"


Ignored = Callable[[str, bool], bool]  # (repo-relative path, is a folder) -> DVC leaves it out


def current(path: Path, repo: Path, *, legacy: bool, ignored: Ignored | None = None) -> Current:
    """Hash a dependency or output as DVC would; nothing outside the repository is read."""
    root = repo.resolve()
    try:
        if not path.is_symlink() and not path.exists():
            return Current(None, "absent from the workspace")
        if not _inside(path, root):
            return Current(None, "leads outside the repository (a symlink or '..'): not read")
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            return Current(md5_file(path, legacy=legacy), files=(path,))
        if not stat.S_ISDIR(info.st_mode):
            return Current(None, "not a regular file or folder")
        files = _walk(path, root, _below(ignored, path.relative_to(repo).as_posix()) if ignored else None)
        listing = [(rel, md5_file(file, legacy=legacy)) for rel, file in files]
        return Current(dir_md5(listing, legacy=legacy), files=tuple(file for _, file in files))
    except _Refused as exc:
        return Current(None, str(exc))
    except OSError as exc:
        return Current(None, f"cannot read: {exc.strerror or exc}")


def _below(ignored: Ignored, base: str) -> Ignored:
    """`ignored` for paths relative to the folder `base` (repo-relative)."""
    return lambda rel, is_dir: ignored(f"{base}/{rel}", is_dir)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _walk(folder: Path, root: Path, ignored: Ignored | None) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    pending = [(folder, "")]
    while pending:
        current_dir, prefix = pending.pop()
        with os.scandir(current_dir) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.name in SKIPPED_ANY or (entry.name in SKIPPED_DIRS and entry.is_dir(follow_symlinks=False)):
                    continue
                if ignored is not None and ignored(rel, entry.is_dir(follow_symlinks=False)):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), rel + "/"))
                elif entry.is_symlink():
                    target = Path(entry.path)
                    if not _inside(target, root):
                        raise _Refused(f"{rel} is a symlink leading outside the repository: not read")
                    if target.is_file():
                        files.append((rel, target))
                elif entry.is_file(follow_symlinks=False):
                    files.append((rel, Path(entry.path)))
    return files
