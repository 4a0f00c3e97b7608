"""What git says about the command's folder, read with the standard library alone.

`auditor run` starts this reading on a thread before typer and the record models load (see
cli/early.py): git's calls (`git status` walks the whole tree, 50-90 ms in a real repository;
the others ~10 ms each) then overlap that start-up instead of following it. collect_git (git.py)
turns the reading into the record's source. The reading is still taken before the command starts
and before auditor writes anything (the store's first write comes later), so it describes the same
tree; it is used only for the folder and the environment it was started with, and only once.

Only the standard library, imported at module level here: the reading thread imports nothing
while the main thread imports auditor (two threads importing at once can meet in a cycle).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 30
# Untracked files larger than this enter the diff hash by size, not content, so a
# stray data file does not make every run read gigabytes.
MAX_UNTRACKED_HASHED_BYTES = 16 * 1024 * 1024
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


@dataclass(frozen=True)
class Repository:
    """The folder is in a repository: its state. `remote_url` as git gives it (credentials and all)."""

    root: Path
    commit: str | None
    branch: str | None
    dirty: bool
    diff_sha256: str | None
    untracked: tuple[str, ...]
    remote_url: str | None


@dataclass(frozen=True)
class NoRepository:
    """No source could be read: `why` says why git could not tell; None when the folder is in no repository."""

    why: str | None


Reading = Repository | NoRepository


class _GitFailed(Exception):
    pass


# Variables that name a place to git, which git reads relative to the folder it runs in: every call
# after the first runs in the repository's root, so a relative one is made absolute from `cwd` first.
_PLACES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


def read_git(cwd: Path, env: Mapping[str, str] | None = None) -> Reading:
    """`env`: git's environment, by default auditor's own now (a copy: another thread may change
    os.environ meanwhile, as typer does for a moment while it parses arguments)."""
    env = dict(os.environ) if env is None else dict(env)
    for name in _PLACES:
        if env.get(name) and not Path(env[name]).is_absolute():
            env[name] = str(cwd / env[name])
    if shutil.which("git", path=env.get("PATH")) is None:
        return NoRepository("git is not installed, so the source could not be identified")
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return NoRepository(f"git rev-parse failed: {exc}")
    if inside.returncode != 0:
        stderr = inside.stderr.decode("utf-8", "replace")
        if "not a git repository" in stderr:
            return NoRepository(None)
        return NoRepository(f"git rev-parse failed: {stderr.strip()[:200]}")
    root = Path(inside.stdout.decode().strip())
    try:
        return _describe(root, env)
    except _GitFailed as exc:
        return NoRepository(str(exc))


def _run(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """One git call, bounded in time; _GitFailed when it cannot run or runs out of time."""
    try:
        return subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            env={**env, **_GIT_ENV},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _GitFailed(f"git {args[0]}: {exc}") from exc


def _git(env: Mapping[str, str], cwd: Path, *args: str) -> bytes:
    done = _run(env, cwd, *args)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1] or [""]
        raise _GitFailed(f"git {args[0]} exited {done.returncode}: {message[0][:200]}")
    return done.stdout


def _describe(root: Path, env: Mapping[str, str]) -> Repository:
    try:
        commit: str | None = _git(env, root, "rev-parse", "--verify", "-q", "HEAD").decode().strip()
    except _GitFailed:
        commit = None  # a repository with no commits yet
    branch_raw = _run(env, root, "symbolic-ref", "-q", "--short", "HEAD")  # exits 1 on a detached HEAD
    branch = branch_raw.stdout.decode().strip() if branch_raw.returncode == 0 else None
    status = _git(env, root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in status.decode("utf-8", "surrogateescape").split("\0") if e]
    untracked = sorted(e[3:] for e in entries if e.startswith("?? "))
    dirty = bool(entries)
    diff_sha256 = None
    if dirty:
        diff = _git(env, root, "diff", "HEAD", "--binary") if commit else b""
        digest = hashlib.sha256(diff)
        for path in untracked:  # untracked files are part of what ran, so part of the hash
            digest.update(b"\0untracked\0" + path.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(_file_digest(root / path))
        diff_sha256 = digest.hexdigest()
    return Repository(
        root=root,
        commit=commit,
        branch=branch,
        dirty=dirty,
        diff_sha256=diff_sha256,
        untracked=tuple(untracked),
        remote_url=_remote(root, env),
    )


def _file_digest(path: Path) -> bytes:
    """What an untracked file adds to the diff hash: a link's target as text (what git would store),
    a regular file's content (or its size, when large); anything else (a FIFO or a device would
    block or never end) only that it is there, never opened for reading."""
    try:
        if path.is_symlink():
            return b"link:" + os.fsencode(path.readlink())
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO put here now opens at once
    except OSError:
        return b"unreadable"
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return b"unreadable"  # a folder (a nested repository) as before; a FIFO, a socket, a device
            if info.st_size > MAX_UNTRACKED_HASHED_BYTES:
                return b"size:%d" % info.st_size
            return hashlib.file_digest(handle, "sha256").digest()
        except OSError:
            return b"unreadable"


def _remote(root: Path, env: Mapping[str, str]) -> str | None:
    try:
        names = _git(env, root, "remote").decode().split()
    except _GitFailed:
        return None
    if not names:
        return None
    name = "origin" if "origin" in names else names[0]
    try:
        return _git(env, root, "remote", "get-url", name).decode().strip()
    except _GitFailed:
        return None


class _EarlyReading:
    """read_git on a thread; `result` waits for it and raises what it raised."""

    def __init__(self, cwd: Path) -> None:
        self.env = dict(os.environ)  # what git was run with: a later change means a reading again
        self._cwd = cwd
        self._outcome: Reading | BaseException = RuntimeError("git's reading did not finish")
        self._thread = threading.Thread(target=self._read, name="auditor-git", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._outcome = read_git(self._cwd, self.env)
        except BaseException as exc:  # raised again in the thread that takes the reading
            self._outcome = exc

    def result(self) -> Reading:
        self._thread.join()
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


_EARLY: dict[str, _EarlyReading] = {}


def start_early(cwd: Path) -> None:
    """Start reading `cwd` on a thread, for take_early."""
    _EARLY[str(cwd)] = _EarlyReading(cwd)


def take_early(cwd: Path) -> Reading | None:
    """The reading start_early began for `cwd`, once; None when there is none, or when the
    environment git ran with has changed since (the caller then reads again)."""
    early = _EARLY.pop(str(cwd), None)
    if early is None or early.env != dict(os.environ):
        return None
    return early.result()
