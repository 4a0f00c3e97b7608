"""Source provenance from git: commit, branch, dirty state with a diff hash, remote."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from auditor.capture.redact import clean_url
from auditor.record.models import GitSource, Missing, NotARepository

GIT_TIMEOUT_S = 30
MAX_UNTRACKED_LISTED = 200
# Untracked files larger than this enter the diff hash by size, not content, so a
# stray data file does not make every run read gigabytes.
MAX_UNTRACKED_HASHED_BYTES = 16 * 1024 * 1024
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


class _GitFailed(Exception):
    pass


def _git(cwd: Path, *args: str) -> bytes:
    import os

    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _GitFailed(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1] or [""]
        raise _GitFailed(f"git {args[0]} exited {done.returncode}: {message[0][:200]}")
    return done.stdout


def collect_git(cwd: Path) -> GitSource | NotARepository | Missing:
    if shutil.which("git") is None:
        return Missing(reason="git is not installed, so the source could not be identified")
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Missing(reason=f"git rev-parse failed: {exc}")
    if inside.returncode != 0:
        stderr = inside.stderr.decode("utf-8", "replace")
        if "not a git repository" in stderr:
            return NotARepository(path=str(cwd))
        return Missing(reason=f"git rev-parse failed: {stderr.strip()[:200]}")
    root = Path(inside.stdout.decode().strip())
    try:
        return _describe(root)
    except _GitFailed as exc:
        return Missing(reason=str(exc))


def _describe(root: Path) -> GitSource:
    try:
        commit: str | None = _git(root, "rev-parse", "--verify", "-q", "HEAD").decode().strip()
    except _GitFailed:
        commit = None  # a repository with no commits yet
    branch_raw = subprocess.run(
        ["git", "symbolic-ref", "-q", "--short", "HEAD"],
        cwd=root,
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )
    branch = branch_raw.stdout.decode().strip() if branch_raw.returncode == 0 else None
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in status.decode("utf-8", "surrogateescape").split("\0") if e]
    untracked = sorted(e[3:] for e in entries if e.startswith("?? "))
    dirty = bool(entries)
    diff_sha256 = None
    if dirty:
        diff = _git(root, "diff", "HEAD", "--binary") if commit else b""
        digest = hashlib.sha256(diff)
        for path in untracked:  # untracked files are part of what ran, so part of the hash
            digest.update(b"\0untracked\0" + path.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(_file_digest(root / path))
        diff_sha256 = digest.hexdigest()
    return GitSource(
        root=str(root),
        commit=commit,
        branch=branch,
        dirty=dirty,
        diff_sha256=diff_sha256,
        untracked=tuple(untracked[:MAX_UNTRACKED_LISTED]),
        untracked_count=len(untracked),
        remote_url=_remote(root),
    )


def _file_digest(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_UNTRACKED_HASHED_BYTES:
            return b"size:%d" % size
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").digest()
    except OSError:
        return b"unreadable"


def _remote(root: Path) -> str | None:
    try:
        names = _git(root, "remote").decode().split()
    except _GitFailed:
        return None
    if not names:
        return None
    name = "origin" if "origin" in names else names[0]
    try:
        url = _git(root, "remote", "get-url", name).decode().strip()
    except _GitFailed:
        return None
    return clean_url(url)
