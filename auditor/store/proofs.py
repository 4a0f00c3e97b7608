"""What the store's log says, as data: heads, entries and the proofs a bundle carries.

Pure (standard library and merkle.py): a verifier needs nothing else, and so that the log's files
(log.py) and whoever checks a bundle agree on one form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.errors import UsageError
from auditor.sign.canonical import canonical
from auditor.store import merkle

LOG_NAME = "auditor-rfc6962-sha256"  # names the hashing scheme in the proofs a bundle carries
MAX_ENTRY_BYTES = 64 * 1024
_HEX = re.compile(r"^[0-9a-f]{64}$")


def entry_line(entry: Mapping[str, Any]) -> bytes:
    """The canonical JSON line of an entry (no newline): what is hashed and what is stored."""
    if not isinstance(entry.get("kind"), str) or not entry["kind"]:
        raise ValueError("a log entry needs a 'kind'")
    line = canonical(dict(entry))
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
        if not (size.isascii() and size.isdigit()) or len(size) > 19 or not _HEX.match(root.lower()):
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
        return canonical(data)

    @classmethod
    def from_json(cls, data: bytes) -> InclusionProof:
        """Parse the JSON form; ValueError saying what is wrong (the caller names the file)."""
        obj = _load(data, "an inclusion proof")
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
        return canonical(data)

    @classmethod
    def from_json(cls, data: bytes) -> ConsistencyProof:
        """Parse the JSON form; ValueError saying what is wrong (the caller names the file)."""
        obj = _load(data, "a consistency proof")
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


def _load(data: bytes, what: str) -> dict[str, Any]:
    """A proof's JSON object, if it names this log; ValueError saying what is wrong."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(obj, dict) or obj.get("log") != LOG_NAME:
        raise ValueError(f"not {what} of an {LOG_NAME} log")
    return obj
