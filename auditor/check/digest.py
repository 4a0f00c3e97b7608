"""The digest of a check's findings: what a sign-off covers besides the record's bytes.

It is the SHA-256 of canonical JSON (sorted keys, no spaces, ASCII) holding the record's digest,
the verdict that counts, and every finding (rule, severity, subject, outcome, message, evidence,
waiver), in the report's own order. Where a finding points (its location, relative to wherever the
check ran), the time of the check, the tool's version and the rules' prose are left out: checking
the same record against the same policy, waivers and advisory data gives the same digest tomorrow,
and anything that changes a finding changes the digest.

Text counts in its JSON form (`auditor.text.json_value`: a lone surrogate, which no strict JSON
parser takes, as U+FFFD), so a report and its JSON form, wherever it travels, have one digest.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from auditor.sign.canonical import canonical
from auditor.text import json_value

if TYPE_CHECKING:
    from auditor.check.report import CheckReport

DIGEST_VERSION = 1


def findings_digest(report: CheckReport) -> str:
    # a finding's location is where it is shown, not what was decided
    body = _canonical_findings(report.findings)
    if body is None:  # one call, not 32,000
        adapter = _findings_adapter(type(report))
        findings = json_value(adapter.dump_python(report.findings, mode="json", exclude={"__all__": {"location"}}))
        return _digest(report.run.record_sha256, report.with_waivers.verdict, findings)
    frame = _document(report.run.record_sha256, report.with_waivers.verdict, [])
    head, _, tail = frame.partition(b'"findings":[]')  # the first key after digest_version's number
    return hashlib.sha256(b"".join((head, b'"findings":[', body, b"]", tail))).hexdigest()


# The fields of a Finding whose JSON form is its Python values as they are (strings, None, and evidence
# of JSON scalars under ASCII keys): what model_dump(mode="json") makes of them, less the location.
_PLAIN_FIELDS = frozenset({"rule_id", "severity", "subject", "outcome", "message", "evidence", "waiver", "location"})
# What canonical() writes for a value: the standard library's encoder, with canonical()'s settings.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
_TEXT: Callable[[str], str] = encode_basestring_ascii  # what _ENCODE does with a str, without the call around it


def _canonical_findings(findings: Sequence[Any]) -> bytes | None:
    """The canonical JSON of the findings' JSON forms without their locations, comma-separated, when they
    are Findings of exactly the fields above; else None.

    Each finding is written in its canonical key order, every value by the encoder canonical() uses
    (`_ENCODE`): the bytes canonical() writes for the list, without building 32,000 dicts for it to sort
    (tests/check/test_findings_digest.py compares the two, and with model_dump)."""
    from auditor.record.findings import Finding

    if any(type(f) is not Finding for f in findings) or set(Finding.model_fields) != _PLAIN_FIELDS:
        return None
    if not all(key.isascii() for f in findings if f.evidence for key in f.evidence):
        return None  # pydantic writes a lone surrogate in a key as U+FFFD: left to it, rather than copied here
    encode, text = _ENCODE, _TEXT  # the text fields are str (validated): the encoder's own string writer
    body = ",".join(
        f'{{"evidence":{encode(f.evidence) if f.evidence else "{}"},"message":{text(f.message)},'
        f'"outcome":{text(f.outcome)},"rule_id":{text(f.rule_id)},"severity":{text(f.severity)},'
        f'"subject":{text(f.subject)},"waiver":{"null" if f.waiver is None else text(f.waiver)}}}'
        for f in findings
    ).encode("ascii")
    # A surrogate escape is a character outside the BMP or a lone surrogate, which the JSON form holds as
    # U+FFFD (auditor.text.json_value): left to the path that makes that replacement.
    return None if b"\\ud" in body else body


@functools.cache
def _findings_adapter(report_type: type[CheckReport]) -> TypeAdapter[Any]:
    """Serialises the report's findings exactly as their own model_dump(mode="json") does, whatever the
    report declares them to be."""
    declared = report_type.model_fields["findings"].annotation
    if declared is None:
        raise TypeError("a check report without a findings type")
    return TypeAdapter(declared)


def findings_digest_of_json(report: Mapping[str, Any]) -> str:
    """The same digest, from a check report's JSON form (`auditor check --format json`, a bundle's
    check-report.json) as parsed: what `auditor verify` recomputes from the bytes it is given. A
    KeyError or TypeError when `report` is not shaped like one (the caller names the file)."""
    findings = [{k: v for k, v in finding.items() if k != "location"} for finding in report["findings"]]
    return _digest(report["run"]["record_sha256"], report["with_waivers"]["verdict"], json_value(findings))


def _digest(record_sha256: str, verdict: str, findings: list[Any]) -> str:
    return hashlib.sha256(_document(record_sha256, verdict, findings)).hexdigest()


def _document(record_sha256: str, verdict: str, findings: list[Any]) -> bytes:
    document = {
        "digest_version": DIGEST_VERSION,
        "record_sha256": record_sha256,
        "verdict": verdict,
        "findings": findings,
    }
    return canonical(document)
