"""Reading and writing run records as canonical JSON, with errors that name file and field.

A record of an older schema version is upgraded in memory by `migrate.upgrade` before it is
validated; the file is only ever read. What the tag lists and versions in the error messages
say comes from the models themselves, so it cannot drift from them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import InvalidRecordError
from auditor.files import InputFileError, read_input
from auditor.record.canonical import canonical_text
from auditor.record.migrate import READABLE, upgrade
from auditor.record.models import RECORD_KIND, SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS, RunRecord

MAX_RECORD_BYTES = 128 << 20  # a captured record is tens of KB; an ingested one with every param, a few MB


def dump_record(record: RunRecord) -> bytes:
    """Canonical bytes: sorted keys, UTF-8, indented by two, stable across runs of auditor
    (`json.dumps(sort_keys=True, indent=2, ensure_ascii=False)`, written by canonical.py).

    A lone surrogate (a record read from JSON may hold one, written as the escape `\\ud800`)
    has no UTF-8 form: it is written back as that escape, so the bytes are UTF-8 and read
    back to the same text. Every other character is written as itself."""
    text = canonical_text(record.model_dump(mode="json")) + "\n"
    try:  # UTF-8 refuses only lone surrogates: a text without one is written without searching it
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text).encode()


_SURROGATE = re.compile("[\ud800-\udfff]")  # only inside JSON strings: json.dumps writes nothing else raw
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def record_digest(record: RunRecord) -> str:
    """SHA-256 of the record's bytes: what a dossier quotes to pin the evidence.

    For a record read from bytes (a file), the digest of those bytes, whatever its version:
    an upgraded record's canonical form is not what is on disk. For a record built in code,
    the digest of its canonical bytes (for a current record written by auditor, the same)."""
    read = _READ_DIGESTS.get(id(record))
    if read is not None and read[0]() is record:
        return read[1]
    return hashlib.sha256(dump_record(record)).hexdigest()


# id(record) -> (the record, the digest of the bytes it was read from); an entry leaves with its record.
_READ_DIGESTS: dict[int, tuple[weakref.ref[RunRecord], str]] = {}


def _remember_digest(record: RunRecord, raw: bytes, sha256: str | None) -> RunRecord:
    key = id(record)
    _READ_DIGESTS[key] = (weakref.ref(record), sha256 or hashlib.sha256(raw).hexdigest())
    weakref.finalize(record, _READ_DIGESTS.pop, key, None).atexit = False
    return record


def read_record_bytes(path: Path) -> bytes:
    """A record file's bytes: a regular file (a link to one is fine) of at most MAX_RECORD_BYTES."""
    try:
        return read_input(path, "a run record", MAX_RECORD_BYTES)
    except InputFileError as exc:
        raise InvalidRecordError(str(path), None, exc.problem) from exc


def load_record(path: Path) -> RunRecord:
    return parse_record(read_record_bytes(path), str(path))


def parse_record(raw: bytes, where: str, sha256: str | None = None) -> RunRecord:
    """A record from its bytes; JSON that is ambiguous as evidence is refused before any validation:
    a key twice in one object (which value counts depends on the reader) and NaN or infinity
    (not JSON, though Python's json writes them; no threshold may be compared with them).

    `sha256`: the bytes' SHA-256 when the caller has just checked it (the store), so 13 MB are not
    hashed twice; `record_digest` then quotes it."""
    # One parse: the strict reading below is needed anyway, and validating its data is faster than
    # pydantic parsing the bytes again (12.8 MB, 2,000 packages and 10,000 datasets: 0.14 + 0.27 s
    # of CPU against 0.14 + 0.48 s with model_validate_json). Lax validation of JSON data reads it as
    # validating the JSON text does (tests/record/test_record_json.py compares the two).
    data = _strict_json(raw, where)
    _check_header(data, where)
    upgraded = upgrade(data)
    try:
        return _remember_digest(RunRecord.model_validate(upgraded), raw, sha256)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRecordError(where, _field(first["loc"], upgraded), first["msg"]) from exc


class _Ambiguous(ValueError):
    """JSON that parses, but not to one meaning."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise _Ambiguous(f"the key {shown!r} appears twice in one object: which value counts is ambiguous")
        seen.add(key)
    raise AssertionError("unreachable: dict() dropped a pair without a repeated key")


def _unique_text_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """As `_unique`, for a record with surrogate escapes: a lone surrogate in a key becomes U+FFFD.

    A value may hold one (it is shown escaped, and written back as its escape); a key would be
    written back by pydantic as U+FFFD, so it is read as that at once, and the record reads back
    as itself. Two keys that differ only there are then one key twice: refused, as ambiguous."""
    return _unique([(_SURROGATE.sub("\ufffd", key), value) for key, value in pairs])


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _Ambiguous(f"the number {text[:40]} is too large for a float")
    return value


def _no_constant(name: str) -> float:
    raise _Ambiguous(f"{name} is not a JSON number")


def _strict_json(raw: bytes, where: str) -> Any:
    try:
        hook = _unique_text_keys if _SURROGATE_ESCAPE.search(raw) else _unique
        return json.loads(raw, object_pairs_hook=hook, parse_float=_finite, parse_constant=_no_constant)
    except _Ambiguous as exc:
        raise InvalidRecordError(where, None, str(exc)) from exc
    except RecursionError as exc:
        raise InvalidRecordError(where, None, "not valid JSON (nested too deeply)") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSONDecodeError, or a 5,000-digit number
        if isinstance(exc, json.JSONDecodeError):
            detail = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        else:
            detail = " ".join(str(exc).split())[:200]
        raise InvalidRecordError(where, None, f"not valid JSON ({detail})") from exc


@functools.cache
def union_tags() -> frozenset[str]:
    """Every tag of every discriminated union in the record, from pydantic's own schema of the models:
    the values pydantic puts into an error's location to say which variant it validated."""
    RunRecord.model_rebuild()  # the models defer their build (base.py): until it, the schema is a placeholder
    found: set[str] = set()
    pending: list[Any] = [RunRecord.__pydantic_core_schema__]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get("type") == "tagged-union":
                found.update(str(tag) for tag in node["choices"])
            pending.extend(node.values())
        elif isinstance(node, list | tuple):
            pending.extend(node)
    return frozenset(found)


def _field(loc: Sequence[int | str], data: Any) -> str | None:
    """The error's location as the user wrote it: without the tags pydantic adds for a union's variant.

    A part is a tag only where the data has no such key and the object there carries that value
    (its `state`), so a key that happens to be spelt like a tag is kept."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part in union_tags() and part in node.values():
            continue  # the tag of the variant pydantic chose
        parts.append(str(part))
        held = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        node = node[part] if held else None
    return ".".join(parts) or None


def _version_key(version: str) -> tuple[int, ...] | None:
    return tuple(int(n) for n in version.split(".")) if re.fullmatch(r"[0-9]+\.[0-9]+", version) else None


def _check_header(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise InvalidRecordError(where, None, "expected a JSON object")
    if data.get("kind") != RECORD_KIND:
        raise InvalidRecordError(where, "kind", f"expected {RECORD_KIND!r}, found {data.get('kind')!r}")
    version = data.get("schema_version")
    if not (isinstance(version, str) and version in SUPPORTED_SCHEMA_VERSIONS):  # a list is no version (nor hashable)
        known = ", ".join(READABLE)
        key = _version_key(version) if isinstance(version, str) else None
        current = _version_key(SCHEMA_VERSION)
        if key is not None and current is not None and key > current:
            why = f"written by a newer auditor (this auditor reads {known}: upgrade auditor to read it)"
        elif version is None:
            why = f"the record names no version (this auditor reads {known})"
        else:
            why = f"not a released record schema (this auditor reads {known})"
        shown = repr(version) if len(repr(version)) <= 40 else repr(version)[:37] + "..."
        raise InvalidRecordError(where, "schema_version", f"unsupported version {shown}: {why}")
