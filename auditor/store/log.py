"""The store's append-only log: an RFC 6962 Merkle tree over one line per committed record (and
sign-off), kept in files so that appending and proving are O(log n) reads and writes.

    STORE/log/entries     one canonical JSON line per leaf (the leaf is the line without its newline)
    STORE/log/offsets     8 bytes (big-endian) per entry: where its line ends in `entries`
    STORE/log/level-KK    the hash of every complete subtree of 2^KK leaves, 32 bytes each, left to
                          right: level-00 holds the leaf hashes, level-01 the hashes of leaf pairs...
    STORE/log/heads       every head the log has had, `SIZE ROOTHEX` per line, oldest first

Write order of one append of a batch of entries (the caller holds the store's lock): the entries,
their offsets, the level hashes they complete, each file made durable (fdatasync) before the next;
then one new head per entry. The heads are the commit point: a reader trusts only the entries below
the last complete line of `heads`, and a writer first cuts back to it whatever a crash left beyond
it (at most one batch of torn or unacknowledged entries, their offsets and level hashes, a torn head
line). A level file or `offsets` shorter than the head needs (hashes a crash lost, or a file deleted)
is recomputed from `entries`, and must then give the head's root. Anything else (more than a batch
beyond the head, fewer entries than the head counts, a tree whose root is not the head's) is not
what a crash leaves: EvidenceError, exit 4.

RunStore appends a record's entry before renaming its run into runs/, so a crash never leaves a
readable run whose record is not in the log; an entry whose run never arrived names nothing.
"""

from __future__ import annotations

import bisect
import errno
import json
import os
import re
import stat
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from auditor.errors import EvidenceError
from auditor.files import write_synced
from auditor.store import merkle
from auditor.store.proofs import (
    EMPTY_HEAD,
    MAX_ENTRY_BYTES,
    ConsistencyProof,
    InclusionProof,
    LogEntry,
    LogHead,
    entry_line,
)

__all__ = [  # the proofs' types are the log's vocabulary: importable from here too
    "EMPTY_HEAD",
    "ConsistencyProof",
    "InclusionProof",
    "LogEntry",
    "LogHead",
    "LogView",
    "MerkleLog",
    "build",
    "entry_line",
    "level_name",
]

LOG_DIR = "log"
ENTRIES = "entries"
OFFSETS = "offsets"
HEADS = "heads"
MAX_LEVELS = 64
OFFSET = struct.Struct(">Q")
_HEAD_LINE = re.compile(rb"^(0|[1-9][0-9]{0,18}) ([0-9a-f]{64})$")
HEAD_LINE_MAX = 19 + 1 + 64  # the longest head line, without its newline: a torn line is never longer
_RECORD_LINES = re.compile(  # one line per match, in the whole log (re.M: ^ and $ at each line)
    rb'^\{"kind":"record","run_id":"([^"\\\n]+)","sha256":"([0-9a-f]{64})","v":1\}$', re.M
)
COUNT_STEP = 1 << 20  # view() counts the entries' lines a MiB at a time, keeping the count at each step
BATCH_MAX = 128  # entries one append_many writes under one sync: all a crash may leave beyond the last head
LOOKUPS_BEFORE_RECORDS = 8  # one view asked about more runs than this parses the whole log once instead
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def level_name(level: int) -> str:
    return f"level-{level:02d}"


# --- file access: nothing through a link, nothing but regular files ------------------------------------


def _open(path: Path, flags: int) -> int:
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EvidenceError(f"{path}: a symbolic link, not the store's log file: refused") from exc
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EvidenceError(f"{path}: not a regular file: refused")
    return fd


def _pread_exact(fd: int, size: int, offset: int, path: Path) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise EvidenceError(f"{path}: shorter than the log's head needs: the log was truncated")
    return data


class _Nodes:
    """node(level, index) read from the level files, each opened once."""

    def __init__(self, folder: Path, writable: bool = False) -> None:
        self.folder = folder
        self.writable = writable
        self.fds: dict[int, int] = {}

    def fd(self, level: int) -> int:
        if level not in self.fds:
            self.fds[level] = _open(self.folder / level_name(level), _WRITE if self.writable else _READ)
        return self.fds[level]

    def node(self, level: int, index: int) -> bytes:
        return _pread_exact(self.fd(level), merkle.HASH_SIZE, index * merkle.HASH_SIZE, self.folder / level_name(level))

    def count(self, level: int) -> int:
        """How many hashes the level's file holds (0 when it does not exist)."""
        try:
            return os.fstat(self.fd(level)).st_size // merkle.HASH_SIZE
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


@contextmanager
def _nodes(folder: Path, writable: bool = False) -> Iterator[_Nodes]:
    nodes = _Nodes(folder, writable)
    try:
        yield nodes
    finally:
        nodes.close()


def _root_from(node: Any, size: int) -> bytes:
    return merkle.subtree_hash(0, size, node)


def parse_heads(data: bytes, path: Path) -> list[LogHead]:
    """Every complete line of `heads` (a torn last line, a crash's, is not a head)."""
    lines = data.split(b"\n")
    if len(lines[-1]) > HEAD_LINE_MAX:
        raise EvidenceError(f"{path}: ends in {len(lines[-1])} bytes that are no log head: the log was changed")
    lines = lines[:-1]
    heads: list[LogHead] = []
    for number, line in enumerate(lines, 1):
        match = _HEAD_LINE.match(line)
        if match is None:
            raise EvidenceError(f"{path}: line {number} is not a log head (SIZE ROOTHEX): the log was changed")
        head = LogHead(int(match.group(1)), match.group(2).decode())
        if heads and head.size < heads[-1].size:
            raise EvidenceError(
                f"{path}: line {number}: head {head.text()} is smaller than the head before it "
                f"({heads[-1].size} entries): the log was truncated"
            )
        heads.append(head)
    return heads


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def read_file(path: Path) -> bytes:
    fd = _open(path, _READ)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 24):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class MerkleLog:
    """The log in one folder. Writers (append, build) hold the store's lock; readers never write."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / name

    def exists(self) -> bool:
        return self.folder.is_dir()

    def create(self) -> None:
        """An empty log (idempotent): its files exist from the start, so a deleted one is noticed."""
        self.folder.mkdir(exist_ok=True)
        for name in (ENTRIES, OFFSETS, HEADS):
            if not os.path.lexists(self.path(name)):  # a read-only store that has them stays readable
                os.close(_open(self.path(name), _WRITE))

    # --- cheap reads: the last head, one entry, one proof ------------------------------------------------

    def last_head(self) -> LogHead:
        """The last complete line of `heads` (read from its end), or the empty log's head."""
        path = self.path(HEADS)
        try:
            fd = _open(path, _READ)
        except FileNotFoundError:
            return EMPTY_HEAD
        try:
            size = os.fstat(fd).st_size
            tail = os.pread(fd, min(size, 4096), max(0, size - 4096))
        finally:
            os.close(fd)
        end = tail.rfind(b"\n")
        torn = len(tail) - (end + 1)  # `end` indexes the tail read, not the whole file
        if torn > HEAD_LINE_MAX:
            raise EvidenceError(f"{path}: ends in {torn} bytes that are no log head: the log was changed")
        if end < 0:
            return EMPTY_HEAD  # no head yet, or the first one torn by a crash
        start = tail.rfind(b"\n", 0, end) + 1
        match = _HEAD_LINE.match(tail[start:end])
        if match is None:
            raise EvidenceError(f"{path}: its last line is not a log head (SIZE ROOTHEX): the log was changed")
        return LogHead(int(match.group(1)), match.group(2).decode())

    def head(self) -> LogHead:
        """The last head, only if the level files give its root (O(log n) reads)."""
        head = self.last_head()
        with _nodes(self.folder) as nodes:
            if all(nodes.count(k) >= head.size >> k for k in range(head.size.bit_length())):
                self._check_root(head, _root_from(nodes.node, head.size))
        return head

    def root_at(self, size: int) -> str:
        """The root (hex) of the tree of the first `size` entries, from the level files (O(log n)
        reads): whether a head seen earlier is still a prefix of the log, without reading it all."""
        with _nodes(self.folder) as nodes:
            if all(nodes.count(k) >= size >> k for k in range(size.bit_length())):
                return _root_from(nodes.node, size).hex()
        return self.view().root(size).hex()  # level hashes a crash lost: recomputed from the entries

    def entry(self, index: int) -> bytes:
        """Entry `index`'s line (without its newline), found through `offsets`."""
        fd = _open(self.path(OFFSETS), _READ)
        try:
            end = OFFSET.unpack(_pread_exact(fd, 8, index * 8, self.path(OFFSETS)))[0]
            start = OFFSET.unpack(_pread_exact(fd, 8, (index - 1) * 8, self.path(OFFSETS)))[0] if index else 0
        finally:
            os.close(fd)
        if not 0 <= start < end or end - start > MAX_ENTRY_BYTES + 1:
            raise EvidenceError(f"{self.path(OFFSETS)}: entry {index}: not where an entry can be: the log was changed")
        fd = _open(self.path(ENTRIES), _READ)
        try:
            line = _pread_exact(fd, end - start, start, self.path(ENTRIES))
        finally:
            os.close(fd)
        if not line.endswith(b"\n") or b"\n" in line[:-1]:
            raise EvidenceError(f"{self.path(ENTRIES)}: entry {index} is not one line: the log was changed")
        return line[:-1]

    def prove(self, index: int, head: LogHead | None = None) -> InclusionProof:
        """The inclusion proof of entry `index` in the tree of `head` (default: the last head)."""
        head = head or self.last_head()
        line = self.entry(index)
        with _nodes(self.folder) as nodes:
            path = merkle.inclusion_path(index, head.size, lambda s, e: merkle.subtree_hash(s, e, nodes.node))
        proof = InclusionProof(index, head.size, line, [p.hex() for p in path], head.root)
        if not proof.verify():
            raise EvidenceError(
                f"{self.path(ENTRIES)}: entry {index} is not in the tree of the log head {head.text()}: "
                "the log was changed"
            )
        return proof

    # --- writing -----------------------------------------------------------------------------------------

    def append(self, line: bytes) -> tuple[int, LogHead]:
        """Append one entry line and a new head; the caller holds the store's lock. The log is first
        cut back to (or completed up to) its last head, as a crash may have left it."""
        first, heads = self.append_many([line])
        return first, heads[-1]

    def append_many(self, lines: Sequence[bytes]) -> tuple[int, list[LogHead]]:
        """Append a batch of entry lines (at most BATCH_MAX) and one head per entry, with one
        fdatasync per file touched: the entries, their offsets, each level file, then the heads
        (the commit point of the whole batch). The caller holds the store's lock. Returns the index
        of the first entry and the heads, one per entry, in order.

        A crash before the heads are durable leaves at most the batch beyond the last head, which
        the next writer cuts back (`_repair`); once a head line is durable, every entry below it
        and every hash its root needs already was."""
        if not lines or len(lines) > BATCH_MAX:
            raise ValueError(f"a batch holds 1 to {BATCH_MAX} log entries")
        for line in lines:
            if b"\n" in line or not line or len(line) > MAX_ENTRY_BYTES:
                raise ValueError("a log entry is one line of at most 64 KiB")
        self.create()
        head = self._repair()
        n = head.size
        fds = {name: _open(self.path(name), _WRITE) for name in (ENTRIES, OFFSETS, HEADS)}
        try:
            start = os.fstat(fds[ENTRIES]).st_size
            ends, end = [], start
            for line in lines:
                end += len(line) + 1
                ends.append(OFFSET.pack(end))
            _pwrite_all(fds[ENTRIES], b"".join(line + b"\n" for line in lines), start)
            os.fdatasync(fds[ENTRIES])
            _pwrite_all(fds[OFFSETS], b"".join(ends), n * 8)
            os.fdatasync(fds[OFFSETS])
            heads: list[LogHead] = []
            with _nodes(self.folder, writable=True) as nodes:
                touched: set[int] = set()
                for offset, line in enumerate(lines):
                    value, level, index = merkle.leaf_hash(line), 0, n + offset
                    while True:
                        os.pwrite(nodes.fd(level), value, index * merkle.HASH_SIZE)
                        touched.add(level)
                        if not index & 1:
                            break
                        value = merkle.node_hash(nodes.node(level, index - 1), value)
                        level, index = level + 1, index >> 1
                    size = n + offset + 1
                    heads.append(LogHead(size, _root_from(nodes.node, size).hex()))
                for level in sorted(touched):
                    os.fdatasync(nodes.fd(level))
            heads_end = os.fstat(fds[HEADS]).st_size
            _pwrite_all(fds[HEADS], "".join(f"{h.size} {h.root}\n" for h in heads).encode(), heads_end)
            os.fdatasync(fds[HEADS])
        finally:
            for fd in fds.values():
                os.close(fd)
        return n, heads

    def _repair(self) -> LogHead:
        """Bring the files back to the last head: cut what a crash left beyond it, recompute what it
        lost below it from `entries`, and check the tree's root is the head's."""
        heads_path = self.path(HEADS)
        fd = _open(heads_path, _WRITE)
        try:
            size = os.fstat(fd).st_size
            tail = os.pread(fd, min(size, 4096), max(0, size - 4096))
            keep = size - (len(tail) - tail.rfind(b"\n") - 1)
            if size - keep > HEAD_LINE_MAX:
                raise EvidenceError(f"{heads_path}: ends in bytes that are no log head: the log was changed")
            if keep < size:
                os.ftruncate(fd, keep)  # a head line a crash cut short
                os.fdatasync(fd)
        finally:
            os.close(fd)
        head = self.last_head()
        n = head.size
        ends = self._repair_entries(n)
        self._repair_offsets(n, ends)
        self._repair_levels(n)
        with _nodes(self.folder) as nodes:
            self._check_root(head, _root_from(nodes.node, n))
        return head

    def preflight(self) -> LogHead:
        """What the next append will find, checked without writing anything: a log no writer may
        extend is refused before a command runs, not at its commit."""
        head = self.last_head()
        try:
            self._repair_entries(head.size, write=False)
        except FileNotFoundError as exc:
            if head.size:
                raise EvidenceError(f"{exc.filename}: missing: the store's log was changed") from exc
        return self.head()

    def _repair_entries(self, n: int, write: bool = True) -> list[int] | None:
        """Cut `entries` back to its first n lines; their line ends when `offsets` has to be rebuilt."""
        path, offsets_path = self.path(ENTRIES), self.path(OFFSETS)
        flags = _WRITE if write else _READ
        fd = _open(path, flags)
        try:
            ofd = _open(offsets_path, flags)
        except BaseException:
            os.close(fd)
            raise
        try:
            size, offsets_size = os.fstat(fd).st_size, os.fstat(ofd).st_size
            if offsets_size >= n * 8:
                end = OFFSET.unpack(os.pread(ofd, 8, (n - 1) * 8))[0] if n else 0
                ends = None
            else:  # offsets lost: find the first n line ends in entries
                ends = _line_ends(read_file(path), n)
                if len(ends) < n:
                    raise EvidenceError(f"{path}: holds {len(ends)} entries, its last head {n}: the log was truncated")
                end = ends[-1] if ends else 0
            if end > size or (n and os.pread(fd, 1, end - 1) != b"\n"):
                raise EvidenceError(f"{path}: ends before the entries its last head counts: the log was truncated")
            if size - end > BATCH_MAX * (MAX_ENTRY_BYTES + 1):
                raise _beyond(path, n)
            extra = os.pread(fd, size - end, end) if size > end else b""
            pieces = extra.split(b"\n")  # the last piece: what a crash cut short, or nothing
            if len(pieces) - (0 if pieces[-1] else 1) > BATCH_MAX or any(
                not piece or len(piece) > MAX_ENTRY_BYTES for piece in pieces[:-1]
            ):
                raise _beyond(path, n)
            if size > end and write:
                if ends is not None:
                    start = ends[-2] if n > 1 else 0
                else:
                    start = OFFSET.unpack(os.pread(ofd, 8, (n - 2) * 8))[0] if n > 1 else 0
                self._check_cut(n, os.pread(fd, end - start, start) if n else b"", extra)
                os.ftruncate(fd, end)
                os.fdatasync(fd)
        finally:
            os.close(fd)
            os.close(ofd)
        return ends

    def _check_cut(self, n: int, last: bytes, extra: bytes) -> None:
        """Before a crash's leftover entry is cut: the log really ends there (`last`, the line before
        it, is entry n-1, whose hash is the tree's leaf n-1: an edited `offsets` cannot make a writer
        cut a committed entry), and no leftover (at most one batch) is a run that was committed (its
        folder exists: a removed head line cannot make a writer cut a run it vouched for)."""
        if n:
            with _nodes(self.folder) as nodes:
                if merkle.leaf_hash(last.removesuffix(b"\n")) != nodes.node(0, n - 1):
                    raise EvidenceError(
                        f"{self.path(OFFSETS)}: entry {n - 1} does not end where the log says: the log was changed"
                    )
        for offset, line in enumerate(extra.split(b"\n")):
            pending = _entry(n + offset, line)
            run_id = pending.fields.get("run_id")
            if pending.kind == "record" and isinstance(run_id, str) and self.committed(run_id):
                raise EvidenceError(
                    f"{self.path(ENTRIES)}: entry {n + offset} (run {run_id}) is beyond the log's last head, yet "
                    "that run was committed: a head was removed from the log"
                )

    def committed(self, run_id: str) -> bool:
        """Whether run_id's folder is in the store's runs/ (the log sits beside it)."""
        return os.path.lexists(self.folder.parent / "runs" / run_id) if run_id.isalnum() else False

    def _repair_offsets(self, n: int, ends: list[int] | None) -> None:
        fd = _open(self.path(OFFSETS), _WRITE)
        try:
            size = os.fstat(fd).st_size
            if ends is not None:
                os.pwrite(fd, b"".join(OFFSET.pack(e) for e in ends), 0)
                size = max(size, n * 8)
            if size > n * 8:
                if size > (n + BATCH_MAX) * 8:
                    raise EvidenceError(f"{self.path(OFFSETS)}: longer than its entries: the log was changed")
                os.ftruncate(fd, n * 8)
            if ends is not None or size > n * 8:
                os.fdatasync(fd)
        finally:
            os.close(fd)

    def _repair_levels(self, n: int) -> None:
        short = False
        for level in range(MAX_LEVELS):
            want = n >> level
            path = self.path(level_name(level))
            try:
                fd = _open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                if want:
                    short = True
                    continue
                break
            try:
                have = os.fstat(fd).st_size
                if have > (((n + BATCH_MAX) >> level) + 1) * merkle.HASH_SIZE:
                    raise EvidenceError(f"{path}: holds more hashes than its entries: the log was changed")
                if have > want * merkle.HASH_SIZE:
                    os.ftruncate(fd, want * merkle.HASH_SIZE)
                    os.fdatasync(fd)
                short = short or have < want * merkle.HASH_SIZE
            finally:
                os.close(fd)
            if not want:
                with suppress(FileNotFoundError):
                    path.unlink()
        if short:
            lines = _lines(read_file(self.path(ENTRIES)), n)
            self._write_levels(merkle.MemoryTree([merkle.leaf_hash(line) for line in lines]))

    def _write_levels(self, tree: merkle.MemoryTree) -> None:
        for level, hashes in enumerate(tree.levels):
            if not hashes:
                break
            fd = _open(self.path(level_name(level)), _WRITE)
            try:
                data = b"".join(hashes)
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
                os.fdatasync(fd)
            finally:
                os.close(fd)

    def _check_root(self, head: LogHead, root: bytes) -> None:
        if root.hex() != head.root:
            raise EvidenceError(
                f"{self.path(HEADS)}: the log's tree is not the one its last head {head.text()} names (its "
                f"root is {root.hex()}): the log was changed"
            )

    # --- a whole view, for readers -----------------------------------------------------------------------

    def view(self) -> LogView:
        """The log as of its last complete head: its entries and the tree, read once. The heads
        before the last are parsed only when asked for (`LogView.heads`); a question about one run
        finds the head that covers its entry by a binary search of `heads` (`covering_head`), and
        its entries by a byte search: nothing is parsed line by line (100,000 entries: 60 ms)."""
        heads_path, entries_path = self.path(HEADS), self.path(ENTRIES)
        try:
            heads_data = read_file(heads_path)
            data = read_file(entries_path)
        except FileNotFoundError as exc:
            raise EvidenceError(f"{exc.filename}: missing: the store's log was changed") from exc
        head = _last_head(heads_data, heads_path)
        marks: dict[int, int] = {}  # newlines before each 1 MiB mark: a search later counts from the nearest
        count = 0
        for at in range(0, len(data), COUNT_STEP):
            count += data.count(b"\n", at, at + COUNT_STEP)
            marks[at + COUNT_STEP] = count
        if count < head.size:
            raise EvidenceError(
                f"{entries_path}: holds {count} entries, fewer than its last head counts ({head.size}): "
                "the log was truncated"
            )
        if count > head.size or not data.endswith(b"\n"):  # what a crash left beyond the head
            ends = _line_ends(data, head.size)
            data = data[: ends[-1] if ends else 0]
        view = LogView(self, head, heads_data, data, {at: n for at, n in marks.items() if at < len(data)})
        self._check_root(head, view.root(head.size))
        return view


def _last_head(data: bytes, path: Path) -> LogHead:
    """The last complete line of `heads` (a torn last line, a crash's, is not a head)."""
    end = data.rfind(b"\n")
    if len(data) - (end + 1) > HEAD_LINE_MAX:
        raise EvidenceError(f"{path}: ends in {len(data) - (end + 1)} bytes that are no log head: the log was changed")
    if end < 0:
        return EMPTY_HEAD
    return _head_at(data, data.rfind(b"\n", 0, end) + 1, path)


def _head_at(data: bytes, start: int, path: Path) -> LogHead:
    end = data.find(b"\n", start)
    match = _HEAD_LINE.match(data[start:end])
    if match is None:
        number = data.count(b"\n", 0, start) + 1
        raise EvidenceError(f"{path}: line {number} is not a log head (SIZE ROOTHEX): the log was changed")
    return LogHead(int(match.group(1)), match.group(2).decode())


def _beyond(path: Path, n: int) -> EvidenceError:
    return EvidenceError(
        f"{path}: holds more than one batch of entries beyond the log's last head ({n}): not what a crash "
        "leaves; `auditor log verify` says more"
    )


def _lines(data: bytes, n: int) -> list[bytes]:
    """The first n complete lines of data (fewer when it holds fewer)."""
    lines = data.split(b"\n", n)
    if len(lines) <= n:  # the last piece is not newline-terminated: not an entry
        return lines[:-1]
    return lines[:n]


def _nth_line(data: bytes, index: int) -> bytes:
    """Line `index` of data (whose every line ends in a newline), found by newline searches."""
    start = 0
    for _ in range(index):
        start = data.index(b"\n", start) + 1
    return data[start : data.index(b"\n", start)]


def _line_ends(data: bytes, n: int) -> list[int]:
    ends: list[int] = []
    pos = 0
    while len(ends) < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        pos = nl + 1
        ends.append(pos)
    return ends


class LogView:
    """The log at its last head, read once: entries, heads and the tree's hashes (from the level
    files, or recomputed from the entries when a crash left those behind)."""

    def __init__(
        self, log: MerkleLog, head: LogHead, heads_data: bytes, data: bytes, marks: Mapping[int, int] | None = None
    ) -> None:
        self.log = log
        self.head = head
        self._heads_data = heads_data  # every line of `heads`, the torn last one included
        self._data = data  # the entries below the head, each line with its newline
        self._heads: list[LogHead] | None = None
        self._lines: list[bytes] | None = None
        self._found: dict[int, bytes] = {}  # lines a byte search found, by index: no line counted twice
        # how many lines start before a place in the entries (the lines found, by where each starts,
        # and the marks view() counted to): a later search counts lines from the nearest place
        self._indexes: dict[int, int] = dict(marks or {})
        self._starts: list[int] = sorted(self._indexes)
        self._searches: dict[bytes, list[tuple[int, bytes]]] = {}  # every line holding each needle searched
        self._tree: merkle.MemoryTree | None = None
        self._records: dict[str, list[LogEntry]] | None = None
        self._sizes: list[int] | None = None
        self._lookups = 0
        with _nodes(log.folder) as nodes:
            complete = all(nodes.count(k) >= head.size >> k for k in range(head.size.bit_length()))
        if not complete:
            self._tree = merkle.MemoryTree([merkle.leaf_hash(line) for line in self.lines])

    @property
    def heads(self) -> list[LogHead]:
        """Every head the log recorded, oldest first (parsed, and checked, on first use)."""
        if self._heads is None:
            self._heads = parse_heads(self._heads_data, self.log.path(HEADS))
        return self._heads

    @property
    def lines(self) -> list[bytes]:
        """The entries below the head, without their newlines (split on first use)."""
        if self._lines is None:
            self._lines = self._data.split(b"\n")[:-1]
        return self._lines

    def line(self, index: int) -> bytes:
        if self._lines is not None:
            return self._lines[index]
        found = self._found.get(index)
        return found if found is not None else _nth_line(self._data, index)

    def node(self, level: int, index: int) -> bytes:
        if self._tree is not None:
            return self._tree.node(level, index)
        with _nodes(self.log.folder) as nodes:
            return nodes.node(level, index)

    def root(self, size: int) -> bytes:
        if self._tree is not None:
            return self._tree.root(size)
        with _nodes(self.log.folder) as nodes:
            return _root_from(nodes.node, size)

    def _path(self, build: Any, *args: int) -> list[bytes]:
        if self._tree is not None:
            result: list[bytes] = build(*args, self._tree.subtree)
            return result
        with _nodes(self.log.folder) as nodes:
            result = build(*args, lambda s, e: merkle.subtree_hash(s, e, nodes.node))
            return result

    def inclusion(self, index: int) -> InclusionProof:
        path = self._path(merkle.inclusion_path, index, self.head.size)
        return InclusionProof(index, self.head.size, self.line(index), [p.hex() for p in path], self.head.root)

    def consistency(self, old: LogHead) -> ConsistencyProof:
        """From `old` to this view's head; raises EvidenceError when the log did not only grow from it."""
        where = f"{self.log.path(HEADS)}"
        if old.size > self.head.size:
            raise EvidenceError(
                f"{where}: the log holds {self.head.size} entries, fewer than head {old.text()}: the log was "
                "truncated or rewritten"
            )
        path = self._path(merkle.consistency_path, old.size, self.head.size)
        proof = ConsistencyProof(old, self.head, [p.hex() for p in path])
        if not proof.verify():
            raise EvidenceError(
                f"{where}: the log (head {self.head.text()}) does not extend head {old.text()}: the log was rewritten"
            )
        return proof

    def covering_head(self, index: int) -> LogHead:
        """The first recorded head that holds entry `index` (the one printed after it was appended)."""
        if self._heads is None and self._lookups <= LOOKUPS_BEFORE_RECORDS:
            return self._search_heads(index)  # one run's question: a binary search of `heads`
        if self._sizes is None:  # once per view: a rebuild asks for every run's head
            self._sizes = [h.size for h in self.heads]
        at = bisect.bisect_right(self._sizes, index)
        return self.heads[at] if at < len(self.heads) else self.head

    def _search_heads(self, index: int) -> LogHead:
        """The first head line holding more than `index` entries, by a binary search of the bytes of
        `heads` (sizes only grow in a log auditor wrote; in a changed one the head found must still
        be a prefix of the last, which the consistency proof from it checks)."""
        data, path = self._heads_data, self.log.path(HEADS)
        lo, hi = 0, len(data)  # the answer's line starts in [lo, hi]; lo is always a line's start
        while lo < hi:
            start = data.rfind(b"\n", 0, (lo + hi) // 2) + 1
            end = data.find(b"\n", start)
            if end < 0:  # the torn last line: no head
                hi = start
                continue
            if _head_at(data, start, path).size > index:
                hi = start
            else:
                lo = end + 1
        if lo >= len(data) or data.find(b"\n", lo) < 0:
            return self.head
        found = _head_at(data, lo, path)
        return found if found.size <= self.head.size else self.head

    def entries(self, kind: str | None = None) -> Iterator[LogEntry]:
        """The entries (of `kind`), oldest first, every line parsed (one run's: `entries_naming`)."""
        for index, line in enumerate(self.lines):
            entry = _entry(index, line)
            if kind is None or entry.kind == kind:
                yield entry

    def _holding(self, needle: bytes) -> Iterator[tuple[int, bytes]]:
        """(index, line) of each entry holding `needle`, oldest first, by a byte search; when an
        earlier search was for a part of `needle`, its lines are all the lines that can hold it
        (show asks for a run's record entries, then for its notes: `"RUN"` after `RUN`)."""
        for earlier, hits in self._searches.items():
            if earlier and earlier in needle:
                yield from ((index, line) for index, line in hits if needle in line)
                return
        hits = []
        for hit in self._search(needle):
            hits.append(hit)
            yield hit
        self._searches[needle] = hits  # only a search run to its end

    def _search(self, needle: bytes) -> Iterator[tuple[int, bytes]]:
        data, starts = self._data, self._starts
        index, pos = 0, 0
        at = data.find(needle) if needle else -1
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            known = bisect.bisect_right(starts, start) - 1  # count on from the nearest place counted before
            if known >= 0 and starts[known] > pos:
                pos, index = starts[known], self._indexes[starts[known]]
            index += data.count(b"\n", pos, start)
            pos = start
            if start not in self._indexes:
                self._indexes[start] = index
                bisect.insort(starts, start)
            line = self._found[index] = data[start:end]
            yield index, line
            at = data.find(needle, end + 1)

    def naming(self, run_id: str) -> list[tuple[int, bytes]]:
        """(index, line) of every entry that can name run_id in a JSON string, oldest first, found
        by byte searches instead of parsing every line: a JSON text names run_id either as written
        (its UTF-8 bytes), or with a backslash escape, or in UTF-16 or UTF-32 (which `json.loads`
        reads from bytes too, and whose ASCII characters each hold a NUL byte). In a log auditor
        wrote, only the lines holding run_id as written are found."""
        hits = {
            index: line
            for needle in (run_id.encode("utf-8", "surrogateescape"), b"\\", b"\0")
            for index, line in self._holding(needle)
        }
        return [(index, hits[index]) for index in sorted(hits)]

    def entries_naming(self, run_id: str, kind: str | None = None) -> Iterator[LogEntry]:
        """The entries (of `kind`) that can name run_id (`naming`), oldest first: every entry
        whose `run_id` is run_id among them (the caller compares)."""
        for index, line in self.naming(run_id):
            entry = _entry(index, line)
            if kind is None or entry.kind == kind:
                yield entry

    def record_entries(self, run_id: str) -> list[LogEntry]:
        """run_id's `record` entries, as `records()` holds them, without reading every line: only
        the lines that can name run_id (`naming`) are read as entries. One run's question then
        costs a byte search of the log, not a parse of all of it."""
        self._lookups += 1
        if self._records is not None or self._lookups > LOOKUPS_BEFORE_RECORDS:  # many runs: parse once
            return self.records().get(run_id, [])
        found: list[LogEntry] = []
        for index, line in self.naming(run_id):
            if not line.isascii():
                continue
            match = _RECORD_LINES.fullmatch(line)
            if match is not None:
                if match.group(1).decode() == run_id:
                    fields = {"kind": "record", "run_id": run_id, "sha256": match.group(2).decode(), "v": 1}
                    found.append(LogEntry(index, line, fields))
                continue
            entry = _entry(index, line)
            if entry.kind == "record" and entry.fields.get("run_id") == run_id:
                found.append(entry)
        unique = {e.index: e for e in found}
        return [unique[i] for i in sorted(unique)]

    def records(self) -> dict[str, list[LogEntry]]:
        """Run id -> its `record` entries (more than one only in a log that was tampered with).

        The lines in the form auditor writes are found by one regular-expression pass over the
        whole log (a Python loop per line took 1.5 s at 100,000 entries); every other line is
        read as JSON, as before."""
        if self._records is None:
            found: dict[str, list[LogEntry]] = {}
            data = self._data
            canonical: set[int] = set()
            index, pos = 0, 0
            for match in _RECORD_LINES.finditer(data):
                index += data.count(b"\n", pos, match.start())
                pos = match.start()
                line = match.group(0)
                canonical.add(index)
                if not line.isascii():  # auditor writes canonical JSON, ASCII only: this entry is not its
                    continue
                run_id, digest = match.group(1).decode(), match.group(2).decode()
                fields: Mapping[str, Any] = {"kind": "record", "run_id": run_id, "sha256": digest, "v": 1}
                found.setdefault(run_id, []).append(LogEntry(index, line, fields))
            if len(canonical) < len(self.lines):
                touched: set[str] = set()
                for index, line in enumerate(self.lines):
                    if index in canonical or not line.isascii():
                        continue
                    entry = _entry(index, line)
                    if entry.kind != "record" or not isinstance(entry.fields.get("run_id"), str):
                        continue
                    run_id = str(entry.fields["run_id"])
                    found.setdefault(run_id, []).append(entry)
                    touched.add(run_id)
                for run_id in touched:
                    found[run_id].sort(key=lambda e: e.index)
            self._records = found
        return self._records


def _entry(index: int, line: bytes) -> LogEntry:
    try:
        fields = json.loads(line)
    except (ValueError, RecursionError):
        fields = None
    return LogEntry(index, line, fields if isinstance(fields, dict) else {})


def build(folder: Path, lines: Sequence[bytes]) -> LogHead:
    """Write a complete log of `lines` into a new folder in one go, with one head (its last):
    `auditor store migrate` builds the log this way beside the store and renames it into place."""
    folder.mkdir()
    tree = merkle.MemoryTree([merkle.leaf_hash(line) for line in lines])
    head = LogHead(len(lines), tree.root().hex())
    ends: list[bytes] = []
    end = 0
    for line in lines:
        end += len(line) + 1
        ends.append(OFFSET.pack(end))
    files = {
        ENTRIES: b"".join(line + b"\n" for line in lines),
        OFFSETS: b"".join(ends),
        HEADS: f"{head.size} {head.root}\n".encode() if lines else b"",
    }
    for level, hashes in enumerate(tree.levels):
        if hashes:
            files[level_name(level)] = b"".join(hashes)
    for name, data in files.items():
        fd = _open(folder / name, _WRITE | os.O_EXCL)
        try:
            write_synced(fd, data)
        finally:
            os.close(fd)
    return head
