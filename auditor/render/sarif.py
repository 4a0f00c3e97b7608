"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Failures, inconclusive findings (kind "review"), could-not-evaluate findings (kind "open") and
waived failures become results (a result whose kind is not "fail" has level "none", as SARIF 2.1.0
requires); passes and not-applicables are counted in the run's properties
instead, because GitHub code scanning turns every result into an alert and accepts at most 25,000
per run (a large run's passes alone exceed that). The `sarif-all` format adds them as results
(kind "pass" and "notApplicable", level "none") for viewers that show a full audit. Results are
ordered worst first and capped at that limit, with a notification saying how many were left out.
Waived findings stay failures with an accepted external suppression: the failure is real, the
exception is the waiver's.

Each result points where its finding comes from (a requirements line, an auditor.yaml line; see
auditor/check/locations.py), relative to %SRCROOT%, the repository root; a finding with no place
of its own points at the record file as a whole. A failing vulnerability finding takes its level
from the advisory's severity, not the rule's, and GitHub ranks security alerts by the rule's
`security-severity`, so such results name a per-severity child of the rule (`AUD-VULN-001/high`)
whose score is the highest CVSS base score among them. Fingerprints hash the rule and subject only,
so the same problem is one alert across runs. The log is built as plain data and written by
`json.dumps`, so untrusted text can only ever be a JSON string value.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from auditor.check.report import CheckReport, RuleInfo
from auditor.record.findings import Finding
from auditor.text import json_text, json_value
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
EVERYTHING = (*REPORTED, "pass", "not_applicable")
ROOT = "%SRCROOT%"


def render_sarif(report: CheckReport) -> str:
    """Failing, inconclusive, could-not-evaluate and waived findings: what code scanning should alert on."""
    return _render(report, REPORTED)


def render_sarif_all(report: CheckReport) -> str:
    """Every finding, passes and not-applicables too: for viewers that show a full audit."""
    return _render(report, EVERYTHING)


def _render(report: CheckReport, outcomes: tuple[str, ...]) -> str:
    reported = sorted(
        (f for f in report.findings if f.outcome in outcomes),
        key=lambda f: (outcomes.index(f.outcome), -SEVERITY_ORDER.index(f.severity), f.rule_id, f.subject),
    )
    kept, left_out = reported[:MAX_RESULTS], len(reported) - MAX_RESULTS
    rules = _descriptors(report, kept)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
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
    security = {rule.id for rule in report.rules if rule.security}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": report.tool, "version": report.tool_version, "rules": rules}},
                "automationDetails": {"id": automation_id(report)},
                "originalUriBaseIds": {ROOT: {"description": {"text": "The repository root, where auditor ran"}}},
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
                "results": [_result(report, f, index[_rule_id(f, security)], security) for f in kept],
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
    return json.dumps(json_value(log), indent=2, allow_nan=False) + "\n"


def automation_id(report: CheckReport) -> str:
    """`auditor/<project>/<run id>`: GitHub reads what precedes the last `/` as the analysis'
    category, so every run of one project updates the same set of alerts."""
    project = re.sub(r"[^A-Za-z0-9._-]+", "-", report.run.project or "") or "no-project"
    return f"auditor/{project}/{report.run.run_id}"


def _rule_id(finding: Finding, security: set[str]) -> str:
    """The rule a result names: a failing security finding names its severity's child of the rule."""
    if finding.rule_id in security and finding.outcome in ("fail", "waived"):
        return f"{finding.rule_id}/{finding.severity}"
    return finding.rule_id


def _descriptors(report: CheckReport, kept: list[Finding]) -> list[dict[str, Any]]:
    """One reportingDescriptor per rule, one per rule id that only findings name, then one per
    severity that failing findings of a security rule carry."""
    out = [_descriptor(rule) for rule in report.rules]
    known = {rule.id for rule in report.rules}
    for finding in report.findings:
        if finding.rule_id not in known:
            known.add(finding.rule_id)
            out.append(_builtin_descriptor(finding))
    security = {rule.id: rule for rule in report.rules if rule.security}
    scores: dict[tuple[str, Severity], float] = {}
    for finding in kept:
        rule = security.get(finding.rule_id)
        if rule is not None and finding.outcome in ("fail", "waived"):
            key = (rule.id, finding.severity)
            scores[key] = max(scores.get(key, 0.0), security_score(finding))
    for (rule_id, severity), score in sorted(
        scores.items(), key=lambda item: (item[0][0], -SEVERITY_ORDER.index(item[0][1]))
    ):
        out.append(_child_descriptor(security[rule_id], severity, score))
    return out


def security_score(finding: Finding) -> float:
    """The advisory's own CVSS base score when it has one, else the middle of its severity's band."""
    score = finding.evidence.get("cvss")
    if isinstance(score, int | float) and not isinstance(score, bool) and 0.0 <= score <= 10.0:
        return float(score)
    return float(SECURITY_SEVERITY[finding.severity])


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


def _child_descriptor(rule: RuleInfo, severity: Severity, score: float) -> dict[str, Any]:
    """The rule as it applies to findings of one advisory severity: GitHub ranks by this score."""
    descriptor = _descriptor(rule)
    descriptor["id"] = f"{rule.id}/{severity}"
    descriptor["shortDescription"] = {"text": f"{rule.title} ({severity} advisories)"}
    descriptor["defaultConfiguration"] = {"level": FAIL_LEVEL[severity]}
    descriptor["properties"] = {
        **descriptor["properties"],
        "problem.severity": PROBLEM_SEVERITY[severity],
        "security-severity": f"{score:.1f}",
    }
    return descriptor


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


def _result(report: CheckReport, finding: Finding, rule_index: int, security: set[str]) -> dict[str, Any]:
    kind = KIND[finding.outcome]
    properties: dict[str, Any] = {
        "subject": finding.subject,
        "outcome": finding.outcome,
        "severity": finding.severity,
        "evidence": dict(finding.evidence),
    }
    if finding.rule_id in security and finding.outcome in ("fail", "waived"):
        properties["security-severity"] = f"{security_score(finding):.1f}"
    result: dict[str, Any] = {
        "ruleId": _rule_id(finding, security),
        "ruleIndex": rule_index,
        "kind": kind,
        "level": FAIL_LEVEL[finding.severity] if kind == "fail" else "none",
        "message": {"text": f"{finding.subject}: {finding.message}"},
        "locations": [{"physicalLocation": _physical_location(finding, report.location)}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding.rule_id, finding.subject)},
        "properties": properties,
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
    path = json_text(location)  # quote() encodes UTF-8, which a lone surrogate cannot be
    if path.startswith("/"):
        return "file://" + quote(path, safe="/"), False
    return quote(path, safe="/"), True


def _physical_location(finding: Finding, record: str) -> dict[str, Any]:
    """The finding's own file and line; without one, the record file as a whole (no made-up line)."""
    where = finding.location
    uri, relative = artifact_uri(where.path if where is not None else record)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = ROOT
    location: dict[str, Any] = {"artifactLocation": artifact}
    if where is not None and where.line is not None:
        location["region"] = {"startLine": where.line}
    return location


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))
