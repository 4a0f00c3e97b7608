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

Stat cache (hashing_cache.py): a file whose size, mtime_ns, inode and ctime_ns
all match what the cache recorded for its path is not read again. A hash is
recorded as trusted only if the file's mtime is over RACY_NS before the hashing
that made it began (git's "racy clean" problem: a write in the same timestamp
tick as the hash keeps the mtime; 2 s also covers FAT and small clock skew).
ctime catches what mtime alone does not (an edit whose mtime was put back with
touch -d); cache=None re-reads everything. The cache keeps, per declared path,
the walk it saw (each folder's names and stats, in walk order), the file list
as the record has it, and the result: a re-hash whose walk has the same digest
takes the result whole, with no per-file lookup; any difference falls back to
per-file matching, which reads only what changed. A cache entry that is damaged
or does not hold together is a miss, never a hash.

Speed: a thread pool, one thread per core (OpenSSL's SHA-256 releases the GIL),
reads through one 1 MiB buffer per batch with os.readv: as fast as
hashlib.file_digest and FileIO.readinto on one big file, faster on many small
ones. Small files go in batches, since a pool task costs more than hashing a
small file; big files go first, so every core stays busy to the end. SHA-256 is
sequential, so one big file runs at one core's speed (about 5x Debian's
sha256sum, which does not use OpenSSL). Re-hashing with a warm cache still
costs a stat per file, plus the records: see benchmarks/hashing.py. The loops
over files run with the cyclic garbage collector paused: they make tens of
thousands of objects and no cycles, and its passes cost more than the loops.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import marshal
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

from pydantic import ConfigDict, TypeAdapter

from auditor.capture.hashing_cache import HashCache
from auditor.capture.heap import paused_collection as _no_gc
from auditor.record.base import Missing
from auditor.record.lineage import AbsentPath, ContentHash, FileHash

__all__ = ["HashCache", "Result", "Walk", "hash_path", "hash_paths"]

Result = ContentHash | AbsentPath | Missing
CHUNK = 1 << 20
RACY_NS = 2_000_000_000
PROGRESS_AFTER_S = 1.0
BATCH_FILES = 256
CANCELLED = "cancelled (auditor was interrupted)"
FS_ENCODING = sys.getfilesystemencoding()
FILES, WALK = "\0files", "\0walk"  # suffixes of the cache's keys for a declared path's file list and walk
_HEX64 = re.compile("[0-9a-f]{64}")
_Digest = tuple[str, int] | OSError  # (sha256, bytes read), or why the file could not be read
_new_file_hash = FileHash.__pydantic_validator__.validate_python  # validates, and is the fastest way to build one


@dataclass(slots=True)
class _File:
    path: str  # absolute: what is opened, and what digests are keyed by
    size: int


class Walk(NamedTuple):
    """What hashing saw of one declared folder, for a caller that needs the same listing at the same
    moment (the project tree's snapshot, observe/treediff.py) without listing it again."""

    # [[prefix, [name, ...], [size, mtime_ns, inode, ctime_ns, ...]], ...], every folder in walk order: prefix
    # "" or "a/b/" relative to root, the names of its files (a declared file: one folder, one name, "").
    # Lists, as json.loads gives them back, so one == compares a walk with the cache's.
    folders: list[list[Any]]
    # Relative paths of the entries that are not regular files or folders themselves: the links among
    # the files (listed, with their targets' stats), and whatever was not listed (links to folders,
    # FIFOs, sockets, devices).
    odd: frozenset[str]


class _Target(NamedTuple):
    display: str
    kind: Literal["file", "tree"]
    root: str  # absolute, not resolved: the cache's key
    folders: list[list[Any]]  # see Walk
    odd: frozenset[str] = frozenset()  # see Walk


class _Hit(NamedTuple):
    """A declared path whose every file has the stats the cache recorded: its result, taken whole."""

    kind: Literal["file", "tree"]
    sha256: str
    size: int
    files: tuple[FileHash, ...]


class _Plan(NamedTuple):
    """A declared path with files to read: what the cache vouches for, and the rest."""

    target: _Target
    rels: list[str]  # every file's path relative to root, in walk order
    stats: list[int]  # 4 a file, in walk order
    known: dict[int, str]  # walk index -> sha256, from the cache
    todo: list[_File]


class _WalkError(Exception):
    """A file or folder inside a declared folder that could not be listed or followed."""


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
    walks: dict[str, Walk] | None = None,
) -> list[Result]:
    """Hash every declared path with one shared pool, so many small datasets still use every core.

    Paths are shown relative to display_root when inside it. Never raises for
    the data itself: an absent path is AbsentPath, an unreadable one Missing.
    progress: None shows a bar on a terminal once hashing takes over a second;
    True always shows one; False never does. cancel: once set, the workers stop
    after their current chunk and every path not fully hashed is Missing, saying so.
    walks: when given, receives the walk of every folder listed in full, by its
    absolute, normalised, unresolved path (os.path.abspath's).
    """
    started_ns = time.time_ns()
    with _no_gc():
        targets = [_target(Path(path), display_root) for path in paths]
        if walks is not None:
            trees = (t for t in targets if isinstance(t, _Target) and t.kind == "tree")
            walks.update((tree.root, Walk(tree.folders, tree.odd)) for tree in trees)
        plans = [_plan(target, cache) if isinstance(target, _Target) else target for target in targets]
        todo = {file.path: file for plan in plans if isinstance(plan, _Plan) for file in plan.todo}
    fresh = _hash_files(list(todo.values()), workers or _default_workers(), progress, cancel)
    with _no_gc():
        return [
            _finish(plan, fresh, cache, now, started_ns) if isinstance(plan, _Plan) else _done(plan, now)
            for plan in plans
        ]


def _done(plan: _Hit | AbsentPath | Missing, now: datetime) -> Result:
    if not isinstance(plan, _Hit):
        return plan
    # Built without re-validation, as in _finish: every value was checked on the way in.
    return ContentHash.model_construct(
        kind=plan.kind, sha256=plan.sha256, size=plan.size, files=plan.files, hashed_at=now
    )


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
        stats = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        return _Target(display, "file", absolute, [["", [""], stats]])
    if not stat.S_ISDIR(st.st_mode):
        return Missing(reason=f"cannot hash {display}: not a regular file or folder")
    try:
        return _Target(display, "tree", absolute, *_walk(absolute))
    except _WalkError as error:
        rel, why = error.args
        return Missing(reason=f"cannot hash {_within(display, rel)}: {why}")


def _walk(root: str) -> tuple[list[list[Any]], frozenset[str]]:
    """Every regular file under root, and every symlink to one (see the module docstring), with its
    stats; and the odd entries (see Walk).

    Each folder is listed through a descriptor, so a file's stat is an fstatat from its folder
    rather than a lookup of its whole path, and the only per-file objects are its name and stats.
    Every entry is stat'ed, links followed (a file needs its stat anyway); a link is told by the
    type the listing gave, without a second call."""
    folders: list[list[Any]] = []
    odd: list[str] = []
    scandir, flags = os.scandir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    kind, regular, folder = 0o170000, stat.S_IFREG, stat.S_IFDIR  # S_IFMT's mask, tested inline: no call per file
    pending = [""]
    while pending:
        prefix = pending.pop()
        entry: os.DirEntry[str] | None = None  # names what failed, if anything does
        names: list[str] = []
        stats: list[int] = []
        add, extend = names.append, stats.extend
        try:
            fd = os.open(f"{root}/{prefix}" if prefix else root, flags)
            try:
                with scandir(fd) as entries:
                    for entry in entries:
                        st = entry.stat()  # follows a link: to a file, a folder, or nothing (an error)
                        if (mode := st.st_mode & kind) == regular:
                            add(entry.name)
                            extend((st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
                            if entry.is_symlink():
                                odd.append(prefix + entry.name)
                        elif mode == folder and not entry.is_symlink():
                            pending.append(f"{prefix}{entry.name}/")
                        else:
                            odd.append(prefix + entry.name)
            finally:
                os.close(fd)
        except OSError as error:
            rel = os.fsencode(prefix + (entry.name if entry is not None else "")).rstrip(b"/")
            raise _WalkError(rel, _why(Path(root, os.fsdecode(rel)), error)) from error
        folders.append([prefix, names, stats])
    return folders, frozenset(odd)


def _rels(target: _Target) -> list[str]:
    return list(
        chain.from_iterable(
            [prefix + name for name in names] if prefix else names for prefix, names, _ in target.folders
        )
    )


def _path(target: _Target, rel: str) -> str:
    return f"{target.root.rstrip('/')}/{rel}" if rel else target.root


def _shown(rels: list[str]) -> list[str]:
    """How each path is shown (FileHash.path): as is when it is UTF-8, else its bytes with \\xNN for the others."""
    if FS_ENCODING == "utf-8":
        try:
            "".join(rels).encode("utf-8")  # one check for all: only a name that is not UTF-8 fails
            return rels
        except UnicodeEncodeError:
            pass
    return [_name(rel.encode(FS_ENCODING, "surrogateescape")) for rel in rels]


def _plan(target: _Target, cache: HashCache | None) -> _Hit | _Plan:
    """The cache's result when nothing changed, else what it still vouches for and what must be read."""
    meta = cache.get(target.root) if cache is not None else None
    if meta is not None and cache is not None and (hit := _hit(target, meta, cache)) is not None:
        return hit
    rels = _rels(target)
    stats = list(chain.from_iterable(stats for _, _, stats in target.folders))
    known = _known(target.root, meta, cache, rels, stats) if meta is not None and cache is not None else {}
    todo = [_File(_path(target, rel), stats[4 * k]) for k, rel in enumerate(rels) if k not in known]
    return _Plan(target, rels, stats, known, todo)


def _walk_digest(folders: list[list[Any]]) -> str:
    """Names the walk's folders, names and stats: equal walks, equal digests (marshal: fast, and only written)."""
    return hashlib.sha256(marshal.dumps(folders, 2)).hexdigest()


def _hit(target: _Target, meta: dict[str, Any], cache: HashCache) -> _Hit | None:
    """The cached result, if the walk found exactly the folders, names and stats the cache recorded
    and it trusted every hash: one comparison of digests, one parse of the file list, no per-file lookup."""
    tree, size = meta.get("tree"), meta.get("size")
    if meta.get("complete") is not True or type(tree) is not str or not _HEX64.fullmatch(tree) or type(size) is not int:
        return None
    if meta.get("walk") != _walk_digest(target.folders):
        return None
    if (reused := cache.reuse.get(target.root)) is not None and reused[0] is meta:
        return _Hit(target.kind, tree, size, cast(tuple[FileHash, ...], reused[1]))
    if (raw := cache.raw(target.root + FILES, meta.get("files"))) is None:
        return None
    try:
        files = _file_list().validate_json(raw)
    except ValueError:  # pydantic's ValidationError
        return None
    if len(files) != sum(len(names) for _, names, _ in target.folders):
        return None
    cache.reuse[target.root] = (meta, files)
    return _Hit(target.kind, tree, size, files)


def _known(root: str, meta: dict[str, Any], cache: HashCache, rels: list[str], stats: list[int]) -> dict[int, str]:
    """Walk index -> sha256 of each file whose stats are the ones the cache recorded with a trusted hash."""
    walk, files = cache.raw(root + WALK, meta.get("walk_line")), cache.raw(root + FILES, meta.get("files"))
    untrusted = meta.get("untrusted")
    if walk is None or files is None or type(untrusted) is not list:
        return {}
    try:
        old = _Target("", "tree", root, json.loads(walk))
        old_rels = _rels(old)
        old_stats = list(chain.from_iterable(stats for _, _, stats in old.folders))
        listed = json.loads(files)
        if len(listed) != len(old_rels):
            return {}  # a file could not be read: rare enough to read them all again
        skip = set(untrusted)
        encoded = [rel.encode(FS_ENCODING, "surrogateescape") for rel in old_rels]
        shown = _shown(old_rels)
        vouched: dict[str, tuple[list[int], str]] = {}
        for j, k in enumerate(sorted(range(len(old_rels)), key=encoded.__getitem__)):  # the list's order
            file = listed[j]
            if file["path"] != shown[k]:
                return {}
            if j not in skip and type(digest := file["sha256"]) is str and _HEX64.fullmatch(digest):
                vouched[old_rels[k]] = (old_stats[4 * k : 4 * k + 4], digest)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError):
        return {}
    known: dict[int, str] = {}
    for k, rel in enumerate(rels):
        if (had := vouched.get(rel)) is not None and had[0] == stats[4 * k : 4 * k + 4]:
            known[k] = had[1]
    return known


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


def _finish(plan: _Plan, fresh: dict[str, _Digest], cache: HashCache | None, now: datetime, started_ns: int) -> Result:
    """The result from the cache's hashes and the fresh ones; the cache learns every hash it may trust.

    A fresh hash is trusted if the file's mtime (taken before reading it) is over RACY_NS
    before this hashing began: any later change makes one of its stats differ."""
    target, rels, stats, known = plan.target, plan.rels, plan.stats, plan.known
    encoded = [rel.encode(FS_ENCODING, "surrogateescape") for rel in rels]
    order = sorted(range(len(rels)), key=encoded.__getitem__)
    models = cache.models if cache is not None else {}
    files: list[FileHash] = []
    lines: list[bytes] = []
    untrusted: list[int] = []  # positions in files
    failure: Missing | None = None
    for k in order:
        rel = encoded[k]
        if (sha256 := known.get(k)) is not None:
            size, trusted = stats[4 * k], True
        else:
            digest = fresh[_path(target, rels[k])]
            if isinstance(digest, OSError):
                if failure is None and digest.errno == errno.ECANCELED:
                    failure = Missing(reason=f"{target.display} was not hashed: hashing was {CANCELLED}")
                elif failure is None:
                    failure = Missing(reason=f"cannot read {_within(target.display, rel)}: {digest.strerror}")
                continue
            (sha256, size), trusted = digest, stats[4 * k + 1] < started_ns - RACY_NS
        if (model := models.get(key := (rel, sha256, size))) is None:
            model = models[key] = _new_file_hash({"path": _name(rel), "sha256": sha256, "size": size})
        files.append(model)
        if not trusted:
            untrusted.append(len(files) - 1)
        lines.append(b"%s  %s\n" % (sha256.encode(), rel))
    result: Result
    if failure is not None:
        result = failure
    else:
        sha256 = hashlib.sha256(b"".join(lines)).hexdigest() if target.kind == "tree" else files[0].sha256
        size = sum(model.size for model in files)
        # Built without re-validation: every value comes from this module, and validating
        # 20,000 FileHash records would cost more than re-checking their files' stats.
        result = ContentHash.model_construct(
            kind=target.kind, sha256=sha256, size=size, files=tuple(files), hashed_at=now
        )
    if cache is not None and (files or failure is None):  # nothing hashed (cancelled): nothing to keep
        _remember(cache, target, files, untrusted, result)
    return result


def _remember(cache: HashCache, target: _Target, files: list[FileHash], untrusted: list[int], result: Result) -> None:
    """Three entries: the file list (as the record has it), the walk (folders, names, stats), and what
    ties them together: their digests, the walk's digest, the result, and the hashes not to trust."""
    listed = _file_list().dump_json(tuple(files))
    walk = json.dumps(target.folders, separators=(",", ":")).encode()
    meta = {
        "files": hashlib.sha256(listed).hexdigest(),
        "walk_line": hashlib.sha256(walk).hexdigest(),
        "walk": _walk_digest(target.folders),
        "tree": result.sha256 if isinstance(result, ContentHash) else None,
        "size": result.size if isinstance(result, ContentHash) else None,
        "untrusted": untrusted,
        "complete": isinstance(result, ContentHash) and not untrusted,
    }
    cache.put(target.root + FILES, listed)
    cache.put(target.root + WALK, walk)
    cache.put(target.root, meta)
    if isinstance(result, ContentHash):
        cache.reuse[target.root] = (cache.get(target.root), result.files)


@functools.cache
def _file_list() -> TypeAdapter[tuple[FileHash, ...]]:
    """Built when first needed: building it costs import time that most commands would not use."""
    return TypeAdapter(
        tuple[FileHash, ...], config=ConfigDict(cache_strings=False)
    )  # unique strings: a cache only costs
