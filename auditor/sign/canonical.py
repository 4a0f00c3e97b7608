"""JSON we write (canonical bytes) and JSON we read back as evidence (strict and bounded).

Evidence is checked on its exact bytes, so what we write has one spelling (sorted keys, no
spaces, ASCII). What we read is untrusted: a key written twice in one object, NaN or Infinity,
or nesting deep enough to exhaust the stack is refused, never taken in one of its meanings."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from auditor.errors import EvidenceError


def canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


class _Ambiguous(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Ambiguous(f"the key {key[:60]!r} appears twice in one object")
            seen.add(key)
    return found


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Ambiguous(f"the number {text[:40]} is too large for a float")
    return value


def _no_constant(name: str) -> float:
    raise _Ambiguous(f"{name} is not a JSON number")


def load_strict(raw: bytes, where: str, max_bytes: int) -> Any:
    """`raw` parsed as one JSON value, or an EvidenceError naming `where` (exit 4)."""
    if len(raw) > max_bytes:
        raise EvidenceError(f"{where}: {len(raw):,} bytes, more than the {max_bytes:,} allowed")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, object_pairs_hook=_unique, parse_float=_finite, parse_constant=_no_constant)
    except _Ambiguous as exc:
        raise EvidenceError(f"{where}: {exc}") from exc
    except RecursionError as exc:
        raise EvidenceError(f"{where}: not valid JSON (nested too deeply)") from exc
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{where}: not UTF-8 (byte {exc.start})") from exc
    except ValueError as exc:  # JSONDecodeError, or a 5,000-digit integer
        detail = (
            f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else "a number too long"
        )
        raise EvidenceError(f"{where}: not valid JSON ({detail})") from exc


def exact_keys(obj: object, where: str, required: set[str], optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`obj` as an object holding every required key and nothing it does not know."""
    if not isinstance(obj, dict):
        raise EvidenceError(f"{where}: expected a JSON object, found {type(obj).__name__}")
    for key in sorted(required):
        if key not in obj:
            raise EvidenceError(f"{where}: field {key!r} is missing")
    extra = sorted(set(obj) - required - optional)
    if extra:
        raise EvidenceError(f"{where}: unexpected field {extra[0][:60]!r}")
    return obj
