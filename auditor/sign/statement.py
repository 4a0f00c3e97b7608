"""in-toto Statement v1 (in-toto/attestation, spec/v1/statement.md): what a bundle's envelope signs.

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": PATH, "digest": {"sha256": HEX}}, ...],
     "predicateType": URI, "predicate": {...}}

Written as canonical JSON, subjects sorted by name. Parsed strictly: exactly these four fields,
at least one subject, each with a unique, printable name and exactly one digest, a lowercase
SHA-256. A verifier checks only SHA-256, so a statement that named another digest would claim
more than is checked: it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.errors import EvidenceError, UsageError
from auditor.sign.canonical import canonical, exact_keys, load_strict
from auditor.text import UNSAFE

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_CAP = 16 << 20
MAX_SUBJECTS = 100_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Statement:
    subjects: Mapping[str, str]  # name -> sha256 hex, sorted by name
    predicate_type: str
    predicate: Mapping[str, Any]


def build_statement(subjects: Mapping[str, str], predicate_type: str, predicate: Mapping[str, Any]) -> bytes:
    """The statement's canonical JSON bytes: the payload to put in a DSSE envelope."""
    if not subjects:
        raise UsageError("an in-toto statement needs at least one subject")
    for name, digest in subjects.items():
        _check_subject(name, digest, "subject", UsageError)
    if not predicate_type:
        raise UsageError("an in-toto statement needs a predicateType")
    return canonical(
        {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": n, "digest": {"sha256": subjects[n]}} for n in sorted(subjects)],
            "predicateType": predicate_type,
            "predicate": dict(predicate),
        }
    )


def parse_statement(payload: bytes, *, where: str = "statement", predicate_type: str | None = None) -> Statement:
    """The statement in `payload`; an EvidenceError naming `where` and the field when it is not a
    valid Statement v1 (or not of `predicate_type`, when given)."""
    data: Any = load_strict(payload, where, STATEMENT_CAP)
    exact_keys(data, where, {"_type", "subject", "predicateType", "predicate"})
    if data["_type"] != STATEMENT_TYPE:
        raise EvidenceError(f"{where}: _type: {str(data['_type'])[:80]!r}, expected {STATEMENT_TYPE!r}")
    kind = data["predicateType"]
    if not isinstance(kind, str) or not kind or UNSAFE.search(kind):
        raise EvidenceError(f"{where}: predicateType: expected a non-empty printable string")
    if predicate_type is not None and kind != predicate_type:
        raise EvidenceError(f"{where}: predicateType: {kind[:80]!r}, expected {predicate_type!r}")
    if not isinstance(data["predicate"], dict):
        raise EvidenceError(f"{where}: predicate: expected a JSON object")
    raw = data["subject"]
    if not isinstance(raw, list) or not raw:
        raise EvidenceError(f"{where}: subject: expected a non-empty list")
    if len(raw) > MAX_SUBJECTS:
        raise EvidenceError(f"{where}: subject: more than {MAX_SUBJECTS:,} subjects")
    subjects: dict[str, str] = {}
    for index, item in enumerate(raw):
        at = f"{where}: subject[{index}]"
        exact_keys(item, at, {"name", "digest"})
        digest = exact_keys(item["digest"], f"{at}.digest", {"sha256"})
        name = item["name"]
        _check_subject(name, digest["sha256"], at, EvidenceError)
        if name in subjects:
            raise EvidenceError(f"{at}.name: {name[:200]!r} named twice")
        subjects[name] = digest["sha256"]
    return Statement(dict(sorted(subjects.items())), kind, data["predicate"])


def _check_subject(name: object, digest: object, at: str, error: type[UsageError] | type[EvidenceError]) -> None:
    if not isinstance(name, str) or not name or UNSAFE.search(name) or len(name) > 4096:
        raise error(f"{at}.name: expected a non-empty printable name")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise error(f"{at}.digest.sha256: expected 64 lowercase hex digits")
