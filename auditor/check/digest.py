"""The digest of a check's findings: what a sign-off covers besides the record's bytes.

It is the SHA-256 of canonical JSON (sorted keys, no spaces, ASCII) holding the record's digest,
the verdict that counts, and every finding (rule, severity, subject, outcome, message, evidence,
waiver), in the report's own order. The time of the check, the tool's version and the rules'
prose are left out: checking the same record against the same policy, waivers and advisory data
gives the same digest tomorrow, and anything that changes a finding changes the digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.check.report import CheckReport

DIGEST_VERSION = 1


def findings_digest(report: CheckReport) -> str:
    document = {
        "digest_version": DIGEST_VERSION,
        "record_sha256": report.run.record_sha256,
        "verdict": report.with_waivers.verdict,
        "findings": [finding.model_dump(mode="json") for finding in report.findings],
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def findings_digest_of_json(report: Mapping[str, Any]) -> str:
    """The same digest, from a check report's JSON form (`auditor check --format json`, a bundle's
    check-report.json) as parsed: what `auditor verify` recomputes from the bytes it is given. A
    KeyError or TypeError when `report` is not shaped like one (the caller names the file)."""
    document = {
        "digest_version": DIGEST_VERSION,
        "record_sha256": report["run"]["record_sha256"],
        "verdict": report["with_waivers"]["verdict"],
        "findings": list(report["findings"]),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
