"""GitLab Code Quality (a subset of Code Climate's issue format), so merge requests show the findings.

GitLab reads a JSON array of issues, each with `description`, `check_name`, `fingerprint`,
`severity` (info, minor, major, critical, blocker) and `location.path` with `location.lines.begin`.
Failures, inconclusive and could-not-evaluate findings become issues at the rule's (or the
advisory's) severity; waived failures stay visible as `info`; passes are left out, as every issue
is a problem in GitLab's widget. A finding without a place of its own (auditor/check/locations.py)
points at the record file's first line, since GitLab requires a line (or auditor.yaml's, when the
record lies outside the repository; with neither inside it, at the record's file name, its full
path said in the description, as GitLab takes only relative paths). Fingerprints hash the rule
and subject only, so GitLab tracks one issue across pipelines. Written by `json.dumps`: run text
can only ever be a JSON string value.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from auditor.check.report import CheckReport
from auditor.record.findings import Finding
from auditor.render.sarif import fingerprint
from auditor.text import json_value
from auditor.vocabulary import OUTCOMES, SEVERITY_ORDER, Severity

SEVERITY: dict[Severity, str] = {"low": "minor", "medium": "major", "high": "critical", "critical": "blocker"}
REPORTED = ("fail", "inconclusive", "could_not_evaluate", "waived")
PREFIX = {"fail": "", "inconclusive": "inconclusive: ", "could_not_evaluate": "could not evaluate: "}


def render_codequality(report: CheckReport) -> str:
    findings = sorted(
        (f for f in report.findings if f.outcome in REPORTED),
        key=lambda f: (OUTCOMES.index(f.outcome), -SEVERITY_ORDER.index(f.severity), f.rule_id, f.subject),
    )
    seen: set[str] = set()
    issues = []
    for finding in findings:
        print_ = fingerprint(finding.rule_id, finding.subject)
        if print_ in seen:  # one rule, one subject, two outcomes: each issue needs its own fingerprint
            print_ = fingerprint(finding.rule_id, f"{finding.subject}|{finding.outcome}")
        seen.add(print_)
        issues.append(_issue(report, finding, print_))
    return json.dumps(json_value(issues), indent=2, allow_nan=False) + "\n"


def _issue(report: CheckReport, finding: Finding, print_: str) -> dict[str, Any]:
    where = finding.location
    fallback = report.location
    if fallback.startswith("/"):
        fallback = PurePosixPath(fallback).name
        finding = finding.model_copy(update={"message": f"{finding.message} (record: {report.location})"})
    if finding.outcome == "waived":
        description, severity = f"waived by {finding.waiver}: {finding.message}", "info"
    else:
        description, severity = PREFIX[finding.outcome] + finding.message, SEVERITY[finding.severity]
    return {
        "type": "issue",
        "description": f"{finding.rule_id} {finding.subject}: {description}",
        "check_name": finding.rule_id,
        "fingerprint": print_,
        "severity": severity,
        "categories": [
            "Security" if (rule := report.rule(finding.rule_id)) is not None and rule.security else "Bug Risk"
        ],
        "location": {
            "path": where.path if where is not None else fallback,
            "lines": {"begin": where.line if where is not None and where.line is not None else 1},
        },
    }
