"""The digest of a check's findings: what a sign-off covers besides the record's bytes.

It is the SHA-256 of canonical JSON (sorted keys, no spaces, ASCII) holding the record's digest,
the verdict that counts, and every finding (rule, severity, subject, outcome, message, evidence,
waiver), in the report's own order. Where a finding points (its location, relative to wherever the
check ran), the time of the check, the tool's version and the rules' prose are left out: checking
the same record against the same policy, waivers and advisory data gives the same digest tomorrow,
and anything that changes a finding changes the digest.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from auditor.sign.canonical import canonical

if TYPE_CHECKING:
    from auditor.check.report import CheckReport

DIGEST_VERSION = 1


def findings_digest(report: CheckReport) -> str:
    # one call, not 32,000; a finding's location is where it is shown, not what was decided
    adapter = _findings_adapter(type(report))
    findings = adapter.dump_python(report.findings, mode="json", exclude={"__all__": {"location"}})
    return _digest(report.run.record_sha256, report.with_waivers.verdict, findings)


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
    return _digest(report["run"]["record_sha256"], report["with_waivers"]["verdict"], findings)


def _digest(record_sha256: str, verdict: str, findings: list[Any]) -> str:
    document = {
        "digest_version": DIGEST_VERSION,
        "record_sha256": record_sha256,
        "verdict": verdict,
        "findings": findings,
    }
    return hashlib.sha256(canonical(document)).hexdigest()
