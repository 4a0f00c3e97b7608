"""Reading and writing run records as canonical JSON, with errors that name file and field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import InvalidRecordError
from auditor.record.models import RECORD_KIND, SUPPORTED_SCHEMA_VERSIONS, RunRecord


def dump_record(record: RunRecord) -> bytes:
    """Canonical bytes: sorted keys, UTF-8, stable across runs of auditor."""
    data = record.model_dump(mode="json")
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def record_digest(record: RunRecord) -> str:
    """SHA-256 of the canonical bytes: what a dossier quotes to pin the evidence."""
    return hashlib.sha256(dump_record(record)).hexdigest()


def load_record(path: Path) -> RunRecord:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidRecordError(str(path), None, f"cannot read: {exc.strerror}") from exc
    return parse_record(raw, str(path))


def parse_record(raw: bytes, where: str) -> RunRecord:
    try:  # the fast path (pydantic's own JSON parser); a failure is re-read below for a precise message
        return RunRecord.model_validate_json(raw)
    except (ValidationError, ValueError, RecursionError):
        pass
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise InvalidRecordError(where, None, "not valid JSON (nested too deeply)") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSONDecodeError, or a 5,000-digit number
        if isinstance(exc, json.JSONDecodeError):
            detail = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        else:
            detail = " ".join(str(exc).split())[:200]
        raise InvalidRecordError(where, None, f"not valid JSON ({detail})") from exc
    _check_header(data, where)
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"] if part not in _UNION_TAGS) or None
        raise InvalidRecordError(where, field, first["msg"]) from exc


# Pydantic puts the chosen variant's tag into an error's location; users never wrote it.
_UNION_TAGS = frozenset({"captured", "missing", "not_a_repository", "none_detected", "hashed", "absent"})


def _check_header(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise InvalidRecordError(where, None, "expected a JSON object")
    if data.get("kind") != RECORD_KIND:
        raise InvalidRecordError(where, "kind", f"expected {RECORD_KIND!r}, found {data.get('kind')!r}")
    version = data.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        known = ", ".join(sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise InvalidRecordError(
            where, "schema_version", f"unsupported version {version!r} (this auditor reads {known})"
        )
