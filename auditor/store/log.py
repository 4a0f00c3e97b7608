"""The store's append-only log: an RFC 6962 Merkle tree over one line per committed record (and
sign-off), kept in files so that appending and proving are O(log n) reads and writes.

    STORE/log/entries     one canonical JSON line per leaf (the leaf is the line without its newline)
    STORE/log/offsets     8 bytes (big-endian) per entry: where its line ends in `entries`
    STORE/log/level-KK    the hash of every complete subtree of 2^KK leaves, 32 bytes each, left to
                          right: level-00 holds the leaf hashes, level-01 the hashes of leaf pairs...
    STORE/log/heads       every head the log has had, `SIZE ROOTHEX` per line, oldest first

Write order of one append (the caller holds the store's lock): the entry, its offset, the level
hashes it completes, each made durable (fdatasync) before the next; then the new head. The head is
the commit point: a reader trusts only the entries below the last complete line of `heads`, and
a writer first cuts back to it whatever a crash left beyond it (one torn or unacknowledged entry,
its offset, its level hashes, a torn head line). A level file or `offsets` shorter than the head
needs (hashes a crash lost, or a file deleted) is recomputed from `entries`, and must then give
the head's root. Anything else (more than one entry beyond the head, fewer entries than the head
counts, a tree whose root is not the head's) is not what a crash leaves: EvidenceError, exit 4.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import EvidenceError, StoreError, UsageError
from auditor.store import merkle

LOG_DIR = "log"
ENTRIES = "entries"
OFFSETS = "offsets"
HEADS = "heads"
LOG_NAME = "auditor-rfc6962-sha256"  # names the hashing scheme in the proofs a bundle carries
MAX_ENTRY_BYTES = 64 * 1024
MAX_LEVELS = 64
_OFFSET = struct.Struct(">Q")
_HEAD_LINE = re.compile(rb"^(0|[1-9][0-9]{0,18}) ([0-9a-f]{64})$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
_RECORD_LINE = re.compile(rb'^\{"kind":"record","run_id":"([^"\\]+)","sha256":"([0-9a-f]{64})","v":1\}$')
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def level_name(level: int) -> str:
    return f"level-{level:02d}"


def entry_line(entry: Mapping[str, Any]) -> bytes:
    """The canonical JSON line of an entry (no newline): what is hashed and what is stored."""
    if not isinstance(entry.get("kind"), str) or not entry["kind"]:
        raise ValueError("a log entry needs a 'kind'")
    line = json.dumps(dict(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    if len(line) > MAX_ENTRY_BYTES:
        raise ValueError(f"a log entry is at most {MAX_ENTRY_BYTES} bytes")
    return line


@dataclass(frozen=True)
class LogHead:
    """The log's size and root: `SIZE:ROOTHEX` is how it is printed and given back with --head."""

    size: int
    root: str

    def text(self) -> str:
        return f"{self.size}:{self.root}"

    @property
    def root_bytes(self) -> bytes:
        return bytes.fromhex(self.root)

    @classmethod
    def parse(cls, text: str, what: str = "--head") -> LogHead:
        """A head as the user gives it; UsageError (exit 2) naming `what` when it is not SIZE:ROOT."""
        size, _, root = text.strip().partition(":")
        if not size.isdigit() or len(size) > 19 or not _HEX.match(root.lower()):
            raise UsageError(f"{what}: {text!r} is not a log head (SIZE:ROOT, the root as 64 hex digits)")
        return cls(int(size), root.lower())


EMPTY_HEAD = LogHead(0, merkle.EMPTY_ROOT.hex())


@dataclass(frozen=True)
class InclusionProof:
    """That `entry` is leaf `leaf_index` of the log whose head is (tree_size, root)."""

    leaf_index: int
    tree_size: int
    entry: bytes
    proof: list[str]
    root: str

    @property
    def head(self) -> LogHead:
        return LogHead(self.tree_size, self.root)

    def verify(self) -> bool:
        return merkle.verify_inclusion(
            merkle.leaf_hash(self.entry),
            self.leaf_index,
            self.tree_size,
            [bytes.fromhex(p) for p in self.proof],
            bytes.fromhex(self.root),
        )

    def to_json(self) -> bytes:
        """The form a bundle carries (`log/inclusion.json`); a stdlib-only verifier can check it."""
        data = {
            "log": LOG_NAME,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf": self.entry.decode("ascii"),
            "proof": self.proof,
            "root": self.root,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> InclusionProof:
        """Parse the JSON form; ValueError saying what is wrong (the caller names the file)."""
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if not isinstance(obj, dict) or obj.get("log") != LOG_NAME:
            raise ValueError(f"not an inclusion proof of an {LOG_NAME} log")
        index, size, leaf, proof, root = (obj.get(k) for k in ("leaf_index", "tree_size", "leaf", "proof", "root"))
        if type(index) is not int or type(size) is not int:
            raise ValueError("leaf_index and tree_size must be integers")
        if not isinstance(leaf, str) or not leaf.isascii():
            raise ValueError("leaf must be the entry's text")
        hexes = proof if isinstance(proof, list) else None
        if hexes is None or not all(isinstance(p, str) and _HEX.match(p) for p in [*hexes, root]):
            raise ValueError("proof and root must be 64 lowercase hex digits each")
        return cls(index, size, leaf.encode("ascii"), list(hexes), str(root))


@dataclass(frozen=True)
class ConsistencyProof:
    """That the log with head `new` only appended to the one with head `old`."""

    old: LogHead
    new: LogHead
    proof: list[str]

    def verify(self) -> bool:
        return merkle.verify_consistency(
            self.old.size,
            self.new.size,
            self.old.root_bytes,
            self.new.root_bytes,
            [bytes.fromhex(p) for p in self.proof],
        )

    def to_json(self) -> bytes:
        data = {
            "log": LOG_NAME,
            "old_size": self.old.size,
            "old_root": self.old.root,
            "new_size": self.new.size,
            "new_root": self.new.root,
            "proof": self.proof,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ConsistencyProof:
        """Parse the JSON form; ValueError saying what is wrong (the caller names the file)."""
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if not isinstance(obj, dict) or obj.get("log") != LOG_NAME:
            raise ValueError(f"not a consistency proof of an {LOG_NAME} log")
        if set(obj) != {"log", "old_size", "old_root", "new_size", "new_root", "proof"}:
            raise ValueError("expected exactly log, old_size, old_root, new_size, new_root and proof")
        sizes, roots, proof = (obj["old_size"], obj["new_size"]), (obj["old_root"], obj["new_root"]), obj["proof"]
        if not all(type(n) is int and n >= 0 for n in sizes):
            raise ValueError("old_size and new_size must be integers")
        if not isinstance(proof, list) or not all(isinstance(p, str) and _HEX.match(p) for p in [*proof, *roots]):
            raise ValueError("proof and roots must be 64 lowercase hex digits each")
        return cls(LogHead(sizes[0], roots[0]), LogHead(sizes[1], roots[1]), list(proof))


@dataclass(frozen=True)
class LogEntry:
    index: int
    line: bytes
    fields: Mapping[str, Any]

    @property
    def kind(self) -> str | None:
        kind = self.fields.get("kind")
        return kind if isinstance(kind, str) else None


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


def _parse_heads(data: bytes, path: Path) -> list[LogHead]:
    """Every complete line of `heads` (a torn last line, a crash's, is not a head)."""
    lines = data.split(b"\n")[:-1]
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


def _read_file(path: Path) -> bytes:
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
        if end < 0:
            return EMPTY_HEAD
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

    def entry(self, index: int) -> bytes:
        """Entry `index`'s line (without its newline), found through `offsets`."""
        fd = _open(self.path(OFFSETS), _READ)
        try:
            end = _OFFSET.unpack(_pread_exact(fd, 8, index * 8, self.path(OFFSETS)))[0]
            start = _OFFSET.unpack(_pread_exact(fd, 8, (index - 1) * 8, self.path(OFFSETS)))[0] if index else 0
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
        if b"\n" in line or not line or len(line) > MAX_ENTRY_BYTES:
            raise ValueError("a log entry is one line of at most 64 KiB")
        self.create()
        head = self._repair()
        n = head.size
        fds = {name: _open(self.path(name), _WRITE) for name in (ENTRIES, OFFSETS, HEADS)}
        try:
            start = os.fstat(fds[ENTRIES]).st_size
            os.pwrite(fds[ENTRIES], line + b"\n", start)
            os.fdatasync(fds[ENTRIES])
            os.pwrite(fds[OFFSETS], _OFFSET.pack(start + len(line) + 1), n * 8)
            os.fdatasync(fds[OFFSETS])
            with _nodes(self.folder, writable=True) as nodes:
                value, level, index = merkle.leaf_hash(line), 0, n
                while True:
                    os.pwrite(nodes.fd(level), value, index * merkle.HASH_SIZE)
                    os.fdatasync(nodes.fd(level))
                    if not index & 1:
                        break
                    value = merkle.node_hash(nodes.node(level, index - 1), value)
                    level, index = level + 1, index >> 1
                root = _root_from(nodes.node, n + 1)
            new = LogHead(n + 1, root.hex())
            heads_end = os.fstat(fds[HEADS]).st_size
            os.pwrite(fds[HEADS], f"{new.size} {new.root}\n".encode(), heads_end)
            os.fdatasync(fds[HEADS])
        finally:
            for fd in fds.values():
                os.close(fd)
        return n, new

    def _repair(self) -> LogHead:
        """Bring the files back to the last head: cut what a crash left beyond it, recompute what it
        lost below it from `entries`, and check the tree's root is the head's."""
        heads_path = self.path(HEADS)
        fd = _open(heads_path, _WRITE)
        try:
            size = os.fstat(fd).st_size
            tail = os.pread(fd, min(size, 4096), max(0, size - 4096))
            keep = size - (len(tail) - tail.rfind(b"\n") - 1)
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
                end = _OFFSET.unpack(os.pread(ofd, 8, (n - 1) * 8))[0] if n else 0
                ends = None
            else:  # offsets lost: find the first n line ends in entries
                ends = _line_ends(_read_file(path), n)
                if len(ends) < n:
                    raise EvidenceError(f"{path}: holds {len(ends)} entries, its last head {n}: the log was truncated")
                end = ends[-1] if ends else 0
            if end > size or (n and os.pread(fd, 1, end - 1) != b"\n"):
                raise EvidenceError(f"{path}: ends before the entries its last head counts: the log was truncated")
            extra = os.pread(fd, MAX_ENTRY_BYTES + 2, end) if size > end else b""
            if size - end > MAX_ENTRY_BYTES + 1 or b"\n" in extra.rstrip(b"\n") or extra.count(b"\n") > 1:
                raise EvidenceError(
                    f"{path}: holds more than one entry beyond the log's last head ({n}): not what a crash "
                    "leaves; `auditor log verify` says more"
                )
            if size > end and write:
                os.ftruncate(fd, end)
                os.fdatasync(fd)
        finally:
            os.close(fd)
            os.close(ofd)
        return ends

    def _repair_offsets(self, n: int, ends: list[int] | None) -> None:
        fd = _open(self.path(OFFSETS), _WRITE)
        try:
            size = os.fstat(fd).st_size
            if ends is not None:
                os.pwrite(fd, b"".join(_OFFSET.pack(e) for e in ends), 0)
                size = max(size, n * 8)
            if size > n * 8:
                if size > n * 8 + 8:
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
                if have > (want + 1) * merkle.HASH_SIZE:
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
            lines = _lines(_read_file(self.path(ENTRIES)), n)
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
        """The log as of its last complete head: every head, every entry below it, and the tree."""
        heads_path, entries_path = self.path(HEADS), self.path(ENTRIES)
        try:
            heads = _parse_heads(_read_file(heads_path), heads_path)
            data = _read_file(entries_path)
        except FileNotFoundError as exc:
            raise EvidenceError(f"{exc.filename}: missing: the store's log was changed") from exc
        head = heads[-1] if heads else EMPTY_HEAD
        lines = _lines(data, head.size)
        if len(lines) < head.size:
            raise EvidenceError(
                f"{entries_path}: holds {len(lines)} entries, fewer than its last head counts ({head.size}): "
                "the log was truncated"
            )
        view = LogView(self, head, heads, lines)
        self._check_root(head, view.root(head.size))
        return view

    # --- everything, recomputed --------------------------------------------------------------------------

    def check(self, given: Sequence[LogHead] = ()) -> LogCheck:
        """Recompute the whole tree from `entries` and compare every head, given head and level hash."""
        result = LogCheck()
        heads_path, entries_path = self.path(HEADS), self.path(ENTRIES)
        heads = _parse_heads(_read_file(heads_path), heads_path)
        data = _read_file(entries_path)
        lines = data.split(b"\n")
        torn = lines.pop()
        head = heads[-1] if heads else EMPTY_HEAD
        result.head, result.entries, result.heads = head, len(lines), len(heads)
        if len(lines) < head.size:
            result.problems.append(
                f"{entries_path}: holds {len(lines)} entries, fewer than its last head counts ({head.size}): "
                "the log was truncated"
            )
        beyond = len(lines) - head.size + (1 if torn else 0)
        if beyond > 0:
            result.notes.append(
                f"{entries_path}: {beyond} entry beyond the last head (a crash: the next write removes it)"
            )
        leaves = [merkle.leaf_hash(line) for line in lines[: head.size]]
        tree = merkle.MemoryTree(leaves)
        checks = [(h, f"{heads_path}: line {i}") for i, h in enumerate(heads, 1)]
        checks += [(h, f"--head {h.text()}") for h in given]
        for claimed, where in checks:
            if claimed.size > tree.size:
                result.problems.append(
                    f"{where}: head {claimed.text()} is larger than the log ({tree.size} entries): the log was "
                    "truncated or rewritten"
                )
            elif (actual := tree.root(claimed.size).hex()) != claimed.root:
                result.problems.append(
                    f"{where}: head {claimed.text()} is not in this log (its first {claimed.size} entries have "
                    f"root {actual}): the log was rewritten"
                )
        self._check_levels(tree, result)
        self._check_offsets(lines[: head.size], result)
        result.tree = tree
        result.lines = lines[: head.size]
        return result

    def _check_levels(self, tree: merkle.MemoryTree, result: LogCheck) -> None:
        for level, hashes in enumerate(tree.levels):
            if not hashes:
                break
            path = self.path(level_name(level))
            try:
                stored = _read_file(path)
            except FileNotFoundError:
                stored = b""
            for index, expected in enumerate(hashes):
                found = stored[index * merkle.HASH_SIZE : (index + 1) * merkle.HASH_SIZE]
                if len(found) < merkle.HASH_SIZE:
                    result.notes.append(
                        f"{path}: {len(hashes) - index} hashes missing (the next write recomputes them)"
                    )
                    break
                if found != expected:
                    result.problems.append(
                        f"{path}: hash {index} is not the one recomputed from the entries: the log was changed"
                    )
                    break

    def _check_offsets(self, lines: list[bytes], result: LogCheck) -> None:
        path = self.path(OFFSETS)
        try:
            stored = _read_file(path)
        except FileNotFoundError:
            stored = b""
        end = 0
        for index, line in enumerate(lines):
            end += len(line) + 1
            found = stored[index * 8 : index * 8 + 8]
            if len(found) < 8:
                result.notes.append(f"{path}: {len(lines) - index} offsets missing (the next write recomputes them)")
                return
            if _OFFSET.unpack(found)[0] != end:
                result.problems.append(f"{path}: offset {index} does not match the entries: the log was changed")
                return


def _lines(data: bytes, n: int) -> list[bytes]:
    """The first n complete lines of data (fewer when it holds fewer)."""
    lines = data.split(b"\n", n)
    if len(lines) <= n:  # the last piece is not newline-terminated: not an entry
        return lines[:-1]
    return lines[:n]


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


@dataclass
class LogCheck:
    """What `MerkleLog.check` found: problems (exit 4) and notes (a crash's leftovers)."""

    head: LogHead = EMPTY_HEAD
    entries: int = 0
    heads: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tree: merkle.MemoryTree | None = None
    lines: list[bytes] = field(default_factory=list)


class LogView:
    """The log at its last head, read once: entries, heads and the tree's hashes (from the level
    files, or recomputed from the entries when a crash left those behind)."""

    def __init__(self, log: MerkleLog, head: LogHead, heads: list[LogHead], lines: list[bytes]) -> None:
        self.log = log
        self.head = head
        self.heads = heads
        self.lines = lines
        self._tree: merkle.MemoryTree | None = None
        self._records: dict[str, list[LogEntry]] | None = None
        with _nodes(log.folder) as nodes:
            complete = all(nodes.count(k) >= head.size >> k for k in range(head.size.bit_length()))
        if not complete:
            self._tree = merkle.MemoryTree([merkle.leaf_hash(line) for line in lines])

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
        return InclusionProof(index, self.head.size, self.lines[index], [p.hex() for p in path], self.head.root)

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
        at = bisect.bisect_right([h.size for h in self.heads], index)
        return self.heads[at] if at < len(self.heads) else self.head

    def entries(self, kind: str | None = None) -> Iterator[LogEntry]:
        for index, line in enumerate(self.lines):
            entry = _entry(index, line)
            if kind is None or entry.kind == kind:
                yield entry

    def records(self) -> dict[str, list[LogEntry]]:
        """Run id -> its `record` entries (more than one only in a log that was tampered with)."""
        if self._records is None:
            found: dict[str, list[LogEntry]] = {}
            for index, line in enumerate(self.lines):
                if not line.isascii():  # auditor writes canonical JSON, ASCII only: this entry is not its
                    continue
                match = _RECORD_LINE.match(line)  # the form auditor writes; anything else is parsed
                if match is not None:
                    run_id, digest = match.group(1).decode(), match.group(2).decode()
                    fields: Mapping[str, Any] = {"kind": "record", "run_id": run_id, "sha256": digest, "v": 1}
                    entry = LogEntry(index, line, fields)
                else:
                    entry = _entry(index, line)
                    if entry.kind != "record" or not isinstance(entry.fields.get("run_id"), str):
                        continue
                found.setdefault(str(entry.fields["run_id"]), []).append(entry)
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
        ends.append(_OFFSET.pack(end))
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
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    return head


def store_error(path: Path, exc: OSError) -> StoreError:
    return StoreError(f"{path}: cannot read the store's log: {exc.strerror or exc}")
