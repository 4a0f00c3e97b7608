"""The hash cache's file: entries under string keys, each read and parsed only when asked for.

Layout (format 3): a header line, then one line per entry.

    {"format": "auditor-hash-cache", "version": 3, "entries": [[KEY, LENGTH, SHA256], ...]}\\n
    ENTRY\\n ...

LENGTH and SHA256 are those of the entry's line without its newline. An entry is used only if
its bytes match the header's SHA-256 (and, read with get(), it is a JSON object whose "key" is
KEY), so a truncated, torn or corrupted file costs a re-hash of what it cannot vouch for, never
a wrong hash. A new process that hashes one declared folder reads that folder's entries alone,
and only those it needs; the others are copied back as bytes when the cache is saved. What the
entries hold is hashing.py's business.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from auditor.files import write_atomic

FORMAT = {"format": "auditor-hash-cache", "version": 3}
MAX_HEADER = 64 << 20  # some 400,000 entries


class HashCache:
    """Hashes of unchanged files, kept between runs in a file inside the run store.

    Losing it only costs time, so a missing, corrupt or foreign file loads as an empty cache,
    and save() replaces the file atomically (last writer wins). HashCache(path) starts empty and
    never reads the file; HashCache.load(path) reads it when first asked.
    """

    def __init__(self, path: Path, entries: dict[str, Any] | None = None) -> None:
        self.path = path
        self._indexed = True  # False: read the file's header when first needed
        self._index: dict[str, tuple[int, int, str]] = {}  # key -> (start, end, sha256) in the file
        self._entries: dict[str, dict[str, Any] | None] = {}  # parsed by get() (None: unusable)
        self._new: dict[str, bytes] = {}  # put() since the last save
        self.reuse: dict[str, tuple[object, Any]] = {}  # key -> (an entry, what hashing built from it)
        self.models: dict[Any, Any] = {}  # hashing's frozen FileHash records, shared between equal ones
        for key, entry in (entries or {}).items():
            self.put(key, entry)

    @classmethod
    def load(cls, path: Path) -> HashCache:
        """The cache kept at `path`, read when first needed (a run that hashes nothing never reads it)."""
        cache = cls(path)
        cache._indexed = False
        return cache

    def get(self, key: str) -> dict[str, Any] | None:
        """The JSON object kept under `key`, if its bytes are intact and it names `key` as its own."""
        if key not in self._entries:
            raw = self.raw(key)
            try:
                entry = json.loads(raw) if raw is not None else None
            except (ValueError, RecursionError):
                entry = None
            self._entries[key] = entry if type(entry) is dict and entry.get("key") == key else None
        return self._entries[key]

    def raw(self, key: str, sha256: object = None) -> bytes | None:
        """The bytes kept under `key`, if intact (and, when given, their SHA-256 is `sha256`)."""
        if key in self._new:
            line, expected = self._new[key], sha256
        else:
            self._read_index()
            if (place := self._index.get(key)) is None or (sha256 is not None and sha256 != place[2]):
                return None
            start, end, expected = place
            try:
                with self.path.open("rb") as handle:  # the one line: others need not be read at all
                    handle.seek(start)
                    line = handle.read(end - start)
            except OSError:
                return None
        return line if expected is None or hashlib.sha256(line).hexdigest() == expected else None

    def put(self, key: str, entry: dict[str, Any] | bytes) -> None:
        """Keep `entry` under `key`: bytes as they are (one line: no newline), a dict as JSON naming `key`."""
        if isinstance(entry, dict):
            entry = {**entry, "key": key}
            self._entries[key] = entry
            line = json.dumps(entry, separators=(",", ":")).encode()
        else:
            self._entries.pop(key, None)
            line = entry
        if b"\n" in line:
            raise ValueError(f"a hash cache entry is one line: {key!r}")
        self._new[key] = line

    def save(self) -> None:
        """Write the file if anything was learnt. Not fsynced: a file torn by a crash fails its checksums."""
        if not self._new:
            return
        self._read_index()
        try:
            raw = self.path.read_bytes() if self._index else b""
        except OSError:
            raw = b""
        lines: dict[str, bytes] = {}
        for key, (start, end, sha256) in self._index.items():
            line = raw[start:end]
            if key not in self._new and hashlib.sha256(line).hexdigest() == sha256:
                lines[key] = line  # kept as it was; a corrupt one (or a replaced file's) is dropped, never re-sealed
        lines.update(self._new)
        index = [[key, len(line), hashlib.sha256(line).hexdigest()] for key, line in lines.items()]
        header = json.dumps({**FORMAT, "entries": index}, separators=(",", ":")).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, b"\n".join([header, *lines.values()]) + b"\n", durable=False)
        self._new.clear()

    def _read_index(self) -> None:
        if self._indexed:
            return
        self._indexed = True
        try:
            with self.path.open("rb") as handle:
                self._index = _index(handle.readline(MAX_HEADER))  # cut short: no newline, so ignored
        except OSError:
            self._index = {}


def _index(header: bytes) -> dict[str, tuple[int, int, str]]:
    """Where each entry's line lies; nothing for a missing, corrupt or foreign file (or an older version's)."""
    try:
        data = json.loads(header)
        if not header.endswith(b"\n") or type(data) is not dict or {key: data.get(key) for key in FORMAT} != FORMAT:
            return {}
        index: dict[str, tuple[int, int, str]] = {}
        start = len(header)
        for key, length, sha256 in data["entries"]:
            if type(key) is not str or type(length) is not int or type(sha256) is not str or length < 0:
                return {}
            index[key] = (start, start + length, sha256)
            start += length + 1
        return index
    except (ValueError, TypeError, KeyError, RecursionError):
        return {}
