r"""Content hashes of declared data, at disk speed, that anyone can recompute with standard tools.

A regulator asks whether a run used the data that was declared; a SHA-256 per
file and one per folder answer that without having to trust auditor.

File (kind "file"): the SHA-256 of its bytes, what `sha256sum FILE` prints.

Tree hash (kind "tree") of a folder DIR:
1. Walk DIR recursively, taking every regular file and every symlink to one. A
   link is hashed as the file it points to (as sha256sum does), so link farms
   (DVC, git-annex, Hugging Face caches) hash as their content. Links to folders
   are not entered (no loops, no double counting); FIFOs, sockets and devices
   are skipped. DIR itself is followed if it is a link.
2. Name each file by its path relative to DIR, '/'-separated, as raw bytes
   (UTF-8 on any normal system); sort by those bytes (LC_ALL=C order).
3. Hash the lines "<sha256 hex>  <relpath>\n" (two spaces: sha256sum's output).
   An empty folder hashes the empty input (e3b0c442...).
With GNU tools, for names without a newline or backslash (sha256sum escapes those):

    cd DIR && find . -xtype f | sed 's|^\./||' | LC_ALL=C sort | xargs -r -d '\n' sha256sum | sha256sum

`files` lists each file's path (non-UTF-8 bytes as \xNN), hash and size in that
order. A dangling symlink, or a file or folder that cannot be read, makes the
result Missing, naming it: a partial hash would claim more than was checked.

Stat cache: a file whose (absolute path, size, mtime_ns, inode) match its entry
is not read again. An entry is trusted only if the file's mtime is over RACY_NS
before the hashing that made it began (git's "racy clean" problem: a write in
the same timestamp tick as the hash keeps the mtime; 2 s also covers FAT and
small clock skew). Like git and make, an in-place edit that keeps the size and
restores the mtime (touch -d) goes unnoticed; cache=None re-reads everything.

Speed: a thread pool, one thread per core (OpenSSL's SHA-256 releases the GIL),
reads through one 1 MiB buffer per batch with os.readv: as fast as
hashlib.file_digest and FileIO.readinto on one big file, faster on many small
ones. Small files go in batches, since a pool task costs more than hashing a
small file; big files go first, so every core stays busy to the end. SHA-256 is
sequential, so one big file runs at one core's speed (about 5x Debian's
sha256sum, which does not use OpenSSL). Re-hashing with a warm cache still
costs a stat per file, plus the records: see benchmarks/hashing.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from auditor.files import write_atomic
from auditor.record.base import Missing
from auditor.record.lineage import AbsentPath, ContentHash, FileHash

Result = ContentHash | AbsentPath | Missing
CHUNK = 1 << 20
RACY_NS = 2_000_000_000
PROGRESS_AFTER_S = 1.0
BATCH_FILES = 256
CANCELLED = "cancelled (auditor was interrupted)"
CACHE_FORMAT = {"format": "auditor-hash-cache", "version": 2}
FS_ENCODING = sys.getfilesystemencoding()
_Digest = tuple[str, int] | OSError  # (sha256, bytes read), or why the file could not be read


@dataclass(slots=True)
class _File:
    path: str  # absolute: opened, and the cache key
    rel: bytes  # relative to the declared folder (b"" for a declared file): sorted and hashed
    size: int
    mtime_ns: int
    inode: int


class _Target(NamedTuple):
    display: str
    kind: Literal["file", "tree"]
    files: list[_File]


class _WalkError(Exception):
    """A file or folder inside a declared folder that could not be listed or followed."""


class HashCache:
    """Hashes of unchanged files, kept between runs in a JSON file inside the run store.

    Losing it only costs time, so a missing, corrupt or foreign file loads as an
    empty cache, and save() replaces the file atomically (last writer wins).
    """

    def __init__(self, path: Path, entries: dict[str, Any] | None = None) -> None:
        self.path = path
        # path -> "size mtime_ns inode sha256 recorded_ns" (recorded: when its hashing began), checked on
        # use. One string an entry, not a list: a new process reads 20,000 of them three times faster.
        self._loaded: dict[str, Any] | None = {} if entries is None else entries  # None: read the file when needed
        self._models: dict[tuple[bytes, str, int], FileHash] = {}  # frozen, so equal ones are shared
        self._dirty = False

    @classmethod
    def load(cls, path: Path) -> HashCache:
        """The cache kept at `path`, read when first needed (a run that hashes nothing never reads it)."""
        cache = cls(path)
        cache._loaded = None
        return cache

    @property
    def _entries(self) -> dict[str, Any]:
        if self._loaded is None:
            self._loaded = _read_entries(self.path)
        return self._loaded

    def save(self) -> None:
        if self._dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({**CACHE_FORMAT, "entries": self._entries}).encode())
            self._dirty = False

    def split(self, files: Sequence[_File]) -> tuple[dict[str, _Digest], list[_File]]:
        """Hashes known for unchanged files, and the files that must be read.

        An entry counts only if it matches the file's stat and is not racy; a
        malformed entry is a miss. Written as one tight loop: it runs once per
        file on every re-capture, and is most of a warm re-hash after the stats.
        """
        known: dict[str, _Digest] = {}
        todo: list[_File] = []
        get = self._entries.get
        for file in files:
            entry = get(file.path)
            stat = f"{file.size} {file.mtime_ns} {file.inode} "
            if type(entry) is str and entry.startswith(stat):
                sha256, _, recorded = entry[len(stat) :].partition(" ")
                if len(sha256) == 64 and recorded.isdigit() and file.mtime_ns < int(recorded) - RACY_NS:
                    known[file.path] = (sha256, file.size)
                    continue
            todo.append(file)
        return known, todo

    def _remember(self, files: list[_File], digests: dict[str, _Digest], started_ns: int) -> None:
        """Key each hash by the stat taken before reading it: any later change makes the stat differ."""
        for file in files:
            if not isinstance(digest := digests[file.path], OSError):
                self._entries[file.path] = f"{file.size} {file.mtime_ns} {file.inode} {digest[0]} {started_ns}"
                self._dirty = True

    def _model(self, rel: bytes, sha256: str, size: int) -> FileHash:
        key = (rel, sha256, size)
        if (model := self._models.get(key)) is None:
            model = self._models[key] = _file_hash(rel, sha256, size)
        return model


def _read_entries(path: Path) -> dict[str, Any]:
    """A cache file's entries; none from a missing, corrupt or foreign file (or an older version's)."""
    try:
        data = json.loads(path.read_bytes())
        ours = {key: data[key] for key in CACHE_FORMAT} == CACHE_FORMAT and isinstance(data["entries"], dict)
        return data["entries"] if ours else {}
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return {}


def hash_path(
    path: Path,
    *,
    display_root: Path,
    cache: HashCache | None,
    now: datetime,
    workers: int | None = None,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
) -> Result:
    """Hash one declared file or folder; see hash_paths."""
    return hash_paths(
        [path], display_root=display_root, cache=cache, now=now, workers=workers, progress=progress, cancel=cancel
    )[0]


def hash_paths(
    paths: Sequence[Path],
    *,
    display_root: Path,
    cache: HashCache | None,
    now: datetime,
    workers: int | None = None,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
) -> list[Result]:
    """Hash every declared path with one shared pool, so many small datasets still use every core.

    Paths are shown relative to display_root when inside it. Never raises for
    the data itself: an absent path is AbsentPath, an unreadable one Missing.
    progress: None shows a bar on a terminal once hashing takes over a second;
    True always shows one; False never does. cancel: once set, the workers stop
    after their current chunk and every path not fully hashed is Missing, saying so.
    """
    started_ns = time.time_ns()
    targets = [_target(Path(path), display_root) for path in paths]
    found = {file.path: file for target in targets if isinstance(target, _Target) for file in target.files}
    digests, todo = cache.split(list(found.values())) if cache is not None else ({}, list(found.values()))
    fresh = _hash_files(todo, workers or _default_workers(), progress, cancel)
    digests.update(fresh)
    if cache is not None:
        cache._remember(todo, fresh, started_ns)
    return [_result(target, digests, cache, now) if isinstance(target, _Target) else target for target in targets]


def _absolute(path: Path) -> str:
    """Absolute and normalised but not resolved, so a declared symlink keeps its own name (like os.path.abspath)."""
    return os.path.normpath(path.absolute())


def _display(path: Path, root: Path) -> str:
    absolute = Path(_absolute(path))
    try:
        return absolute.relative_to(_absolute(root)).as_posix()
    except ValueError:
        return absolute.as_posix()


def _target(path: Path, display_root: Path) -> _Target | AbsentPath | Missing:
    """What to hash for one declared path, or why there is nothing to hash."""
    display, absolute = _display(path, display_root), _absolute(path)
    try:
        st = path.stat()
    except OSError as error:
        if isinstance(error, FileNotFoundError | NotADirectoryError) and not path.is_symlink():
            return AbsentPath(path=display)
        return Missing(reason=f"cannot hash {display}: {_why(path, error)}")
    if stat.S_ISREG(st.st_mode):
        return _Target(display, "file", [_File(absolute, b"", st.st_size, st.st_mtime_ns, st.st_ino)])
    if not stat.S_ISDIR(st.st_mode):
        return Missing(reason=f"cannot hash {display}: not a regular file or folder")
    try:
        return _Target(display, "tree", _walk(absolute))
    except _WalkError as error:
        rel, why = error.args
        return Missing(reason=f"cannot hash {_within(display, rel)}: {why}")


def _walk(root: str) -> list[_File]:
    """Every regular file under root, and every symlink to one (see the module docstring)."""
    files: list[_File] = []
    add, is_regular, scandir = files.append, stat.S_ISREG, os.scandir  # locals: this loop runs per file
    pending = [(root, b"")]
    while pending:
        folder, prefix = pending.pop()
        rel = prefix.rstrip(b"/")  # names what failed, if anything does
        try:
            with scandir(folder) as entries:
                for entry in entries:
                    rel = prefix + entry.name.encode(FS_ENCODING, "surrogateescape")  # os.fsencode, minus a call
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, rel + b"/"))
                    elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                        st = entry.stat()  # follows a symlink
                        if is_regular(st.st_mode):
                            add(_File(entry.path, rel, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError as error:
            raise _WalkError(rel, _why(Path(root, os.fsdecode(rel)), error)) from error
    return files


def _why(path: Path, error: OSError) -> str | None:
    dangling = isinstance(error, FileNotFoundError) and path.is_symlink()
    return f"dangling symlink to {path.readlink()}" if dangling else error.strerror


def _name(rel: bytes) -> str:
    return rel.decode("utf-8", "backslashreplace")


def _within(display: str, rel: bytes) -> str:
    return f"{display}/{_name(rel)}" if rel else display


def _default_workers() -> int:
    """One thread per usable core: cached data makes hashing CPU-bound, and more threads fight over the GIL."""
    return min(32, len(os.sched_getaffinity(0)))


class _Tally:
    """Work done so far, shared by the workers for the progress bar, and the stop flag for Ctrl-C."""

    def __init__(self) -> None:
        self.bytes = self.files = 0
        self.cancelled = False
        self._lock = threading.Lock()

    def add(self, nbytes: int, nfiles: int = 0) -> None:
        with self._lock:
            self.bytes += nbytes
            self.files += nfiles


def _hash_files(
    files: list[_File], workers: int, progress: bool | None, cancel: threading.Event | None = None
) -> dict[str, _Digest]:
    if not files:
        return {}
    tally = _Tally()
    tally.cancelled = cancel is not None and cancel.is_set()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="auditor-hash")
    try:
        futures = [pool.submit(_hash_batch, batch, tally) for batch in _batches(files, workers)]
        _watch(futures, tally, files, progress, cancel)
    except BaseException:
        tally.cancelled = True  # Ctrl-C: workers stop after their current chunk
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    digests = {file.path: digest for future in futures if not future.cancelled() for file, digest in future.result()}
    for file in files if tally.cancelled else ():  # never started: as cancelled as a half-read one
        digests.setdefault(file.path, OSError(errno.ECANCELED, CANCELLED))
    return digests


def _batches(files: list[_File], workers: int) -> list[list[_File]]:
    """Big files alone and biggest first; small files in walk-order groups of up to a batch's worth."""
    cap = max(CHUNK, sum(file.size for file in files) // (workers * 8))
    big = sorted((file for file in files if file.size >= cap), key=lambda file: file.size, reverse=True)
    batches: list[list[_File]] = [[file] for file in big]
    current: list[_File] = []
    current_bytes = 0
    for file in (file for file in files if file.size < cap):
        current.append(file)
        current_bytes += file.size
        if len(current) >= BATCH_FILES or current_bytes >= cap:
            batches.append(current)
            current, current_bytes = [], 0
    return [*batches, current] if current else batches


def _hash_batch(files: list[_File], tally: _Tally) -> list[tuple[_File, _Digest]]:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    return [(file, _hash_file(file.path, buffer, view, tally)) for file in files if not tally.cancelled]


def _hash_file(path: str, buffer: bytearray, view: memoryview, tally: _Tally) -> _Digest:
    """SHA-256 in CHUNK reads, so memory stays flat however big the file is."""
    digest = hashlib.sha256()
    total = 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while count := os.readv(fd, [buffer]):
                digest.update(view[:count])
                total += count
                tally.add(count)
                if tally.cancelled:
                    return OSError(errno.ECANCELED, CANCELLED)
        finally:
            os.close(fd)
    except OSError as error:
        return error
    tally.add(0, 1)
    return digest.hexdigest(), total


def _watch(
    futures: list[Future[Any]],
    tally: _Tally,
    files: list[_File],
    progress: bool | None,
    cancel: threading.Event | None = None,
) -> None:
    """Wait for the workers, with a bar after PROGRESS_AFTER_S on a terminal, or at once when asked for;
    `cancel` set tells the workers to stop.

    rich is imported only then, so importing this module stays cheap.
    """
    from auditor import progress as talk

    show = talk.wanted() if progress is None else progress  # a terminal or --verbose, never --quiet
    if not show and cancel is None:
        wait(futures)
        return
    started, pending, bar = time.monotonic(), set(futures), None
    try:
        while pending:
            pending = wait(pending, timeout=0.1).not_done
            if cancel is not None and cancel.is_set():
                tally.cancelled = True
            if not show:
                continue
            if bar is None and (progress or time.monotonic() - started >= PROGRESS_AFTER_S):
                from rich.console import Console
                from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

                columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TextColumn("{task.fields[files]}"))
                bar = Progress(TextColumn("hashing"), *columns, console=Console(stderr=True))
                bar.add_task("hashing", total=sum(file.size for file in files), files="")
                bar.start()
            if bar is not None:
                bar.update(bar.task_ids[0], completed=tally.bytes, files=f"{tally.files}/{len(files)} files")
    finally:
        if bar is not None:
            bar.stop()


def _result(target: _Target, digests: dict[str, _Digest], cache: HashCache | None, now: datetime) -> Result:
    models: list[FileHash] = []
    lines: list[bytes] = []
    for file in sorted(target.files, key=lambda file: file.rel):
        digest = digests[file.path]
        if isinstance(digest, OSError) and digest.errno == errno.ECANCELED:
            return Missing(reason=f"{target.display} was not hashed: hashing was {CANCELLED}")
        if isinstance(digest, OSError):
            return Missing(reason=f"cannot read {_within(target.display, file.rel)}: {digest.strerror}")
        sha256, size = digest
        models.append(cache._model(file.rel, sha256, size) if cache is not None else _file_hash(file.rel, sha256, size))
        lines.append(b"%s  %s\n" % (sha256.encode(), file.rel))
    sha256 = hashlib.sha256(b"".join(lines)).hexdigest() if target.kind == "tree" else models[0].sha256
    size = sum(model.size for model in models)
    # Built without re-validation: every value comes from this module, and validating
    # 20,000 FileHash records would cost more than re-checking their files' stats.
    return ContentHash.model_construct(kind=target.kind, sha256=sha256, size=size, files=tuple(models), hashed_at=now)


def _file_hash(rel: bytes, sha256: str, size: int) -> FileHash:
    """Validated: for a model of three plain fields, pydantic-core's constructor is faster than
    model_construct's Python loop (measured on 20,000 files)."""
    return FileHash(path=_name(rel), sha256=sha256, size=size)
