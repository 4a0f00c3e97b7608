"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Failures, inconclusive findings (kind "review", level "warning"), could-not-evaluate findings and
waived failures become results; passes and
not-applicables are counted in the run's properties instead, because GitHub code scanning turns
every result into an alert and accepts at most 25,000 per run (a large run's passes alone exceed
that). Results are ordered worst first and capped at that limit, with a notification saying how
many were left out. Waived findings stay failures with an accepted external suppression: the
failure is real, the exception is the waiver's. The log is built as plain data and written by `json.dumps`, so
untrusted text can only ever be a JSON string value.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from auditor.check.report import CheckReport, RuleInfo
from auditor.record.findings import Finding
from auditor.render.json_report import scrub, scrub_text
from auditor.vocabulary import SEVERITY_ORDER, Severity

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "auditorFinding/v1"

# GitHub ranks security alerts by this CVSS-like score; it counts only on rules tagged "security".
SECURITY_SEVERITY: dict[Severity, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
FAIL_LEVEL: dict[Severity, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
PROBLEM_SEVERITY: dict[Severity, str] = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "recommendation",
}
KIND = {
    "fail": "fail",
    "waived": "fail",
    "pass": "pass",
    "not_applicable": "notApplicable",
    "could_not_evaluate": "open",  # SARIF: evaluated, but not enough information to decide
    "inconclusive": "review",  # SARIF: needs a person to decide whether it is a problem
}


# GitHub code scanning's limit on results in one run.
MAX_RESULTS = 25_000
REPORTED = ("fail", "inconclusive", "could_not_evaluate", "waived")


def render_sarif(report: CheckReport) -> str:
    rules = _descriptors(report)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    reported = sorted(
        (f for f in report.findings if f.outcome in REPORTED),
        key=lambda f: (REPORTED.index(f.outcome), -SEVERITY_ORDER.index(f.severity), f.rule_id, f.subject),
    )
    kept, left_out = reported[:MAX_RESULTS], len(reported) - MAX_RESULTS
    notifications = (
        [
            {
                "level": "warning",
                "message": {"text": f"{left_out} more results left out: GitHub accepts at most {MAX_RESULTS} per run"},
            }
        ]
        if left_out > 0
        else []
    )
    counted = {o: sum(1 for f in report.findings if f.outcome == o) for o in ("pass", "not_applicable")}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": report.tool, "version": report.tool_version, "rules": rules}},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                        "properties": {
                            "verdict": report.with_waivers.verdict,
                            "verdictWithoutWaivers": report.without_waivers.verdict,
                            "exitCode": report.with_waivers.exit_code,
                            "exitCodeWithoutWaivers": report.without_waivers.exit_code,
                        },
                    }
                ],
                "results": [_result(report, finding, index[finding.rule_id]) for finding in kept],
                "properties": {
                    "passes": counted["pass"],
                    "notApplicable": counted["not_applicable"],
                    "runId": report.run.run_id,
                    "recordPath": report.run.record_path,
                    "recordSha256": report.run.record_sha256,
                    "checkedAt": report.checked_at.isoformat(),
                },
            }
        ],
    }
    return json.dumps(scrub(log), indent=2, allow_nan=False) + "\n"


def _descriptors(report: CheckReport) -> list[dict[str, Any]]:
    """One reportingDescriptor per rule, then one per rule id that only findings name."""
    out = [_descriptor(rule) for rule in report.rules]
    known = {rule.id for rule in report.rules}
    for finding in report.findings:
        if finding.rule_id not in known:
            known.add(finding.rule_id)
            out.append(_builtin_descriptor(finding))
    return out


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    tags = list(dict.fromkeys([rule.pack, rule.check, *(["security"] if rule.security else [])]))  # unique
    properties: dict[str, Any] = {
        "tags": tags,
        "problem.severity": PROBLEM_SEVERITY[rule.severity],
        "precision": "very-high",  # checks read recorded facts; they do not guess
        "references": list(rule.references),
        "source": rule.source,
    }
    if rule.security:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return {
        "id": rule.id,
        "name": _pascal(rule.title) or rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.remediation},
        "defaultConfiguration": {"level": FAIL_LEVEL[rule.severity]},
        "properties": properties,
    }


def _builtin_descriptor(finding: Finding) -> dict[str, Any]:
    """A rule that auditor itself reports (e.g. AUD-WAIVER-EXPIRED), not one from a pack."""
    return {
        "id": finding.rule_id,
        "name": finding.rule_id,
        "shortDescription": {"text": f"{finding.rule_id}: reported by auditor itself, not by a rule pack"},
        "defaultConfiguration": {"level": FAIL_LEVEL[finding.severity]},
        "properties": {
            "tags": ["auditor"],
            "problem.severity": PROBLEM_SEVERITY[finding.severity],
            "precision": "very-high",
        },
    }


def _result(report: CheckReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    kind = KIND[finding.outcome]
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": FAIL_LEVEL[finding.severity] if kind == "fail" else "none",
        "message": {"text": f"{finding.subject}: {finding.message}"},
        "locations": [{"physicalLocation": _physical_location(report.location)}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding.rule_id, finding.subject)},
        "properties": {"subject": finding.subject, "outcome": finding.outcome, "evidence": dict(finding.evidence)},
    }
    if finding.outcome == "waived":
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f"waiver {finding.waiver or '(unnamed)'}"}
        ]
    return result


def fingerprint(rule_id: str, subject: str) -> str:
    """Stable across runs for the same rule and subject, so code scanning tracks one alert."""
    return hashlib.sha256(f"{rule_id}|{subject}".encode("utf-8", "surrogatepass")).hexdigest()


def artifact_uri(location: str) -> tuple[str, bool]:
    """The location as a URI reference, and whether it is relative (to %SRCROOT%)."""
    path = scrub_text(location)  # quote() encodes UTF-8, which a lone surrogate cannot be
    if path.startswith("/"):
        return "file://" + quote(path, safe="/"), False
    return quote(path, safe="/"), True


def _physical_location(location: str) -> dict[str, Any]:
    uri, relative = artifact_uri(location)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    return {"artifactLocation": artifact, "region": {"startLine": 1}}


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))
