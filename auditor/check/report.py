"""The result of `auditor check`: one versioned, self-describing document.

Every output format (text, JSON, SARIF, JUnit, GitHub annotations) and the dossier render
this model and nothing else, so they cannot disagree. The JSON form is this model dumped with
sorted keys; its JSON Schema is committed beside this file (`check-report.schema.json`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from auditor.record.base import Frozen
from auditor.record.findings import Finding
from auditor.vocabulary import Severity

REPORT_KIND: Literal["auditor.check-report"] = "auditor.check-report"
# 1.1 added findings[].location and made `location` the record (where unlocated findings point).
REPORT_VERSION: Literal["1.1"] = "1.1"

# could_not_evaluate: compliance could not be established (findings could not be evaluated or were inconclusive)
Verdict = Literal["compliant", "violations", "could_not_evaluate"]


class RunRef(Frozen):
    run_id: str
    project: str | None
    status: str
    started_at: AwareDatetime
    record_path: str = Field(description="The record file that was checked")
    record_sha256: str = Field(description="sha256 of the record file's bytes")


class PackRef(Frozen):
    name: str
    version: int
    file: str
    sha256: str


class RuleInfo(Frozen):
    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...]
    check: str = Field(description="The check kind")
    params: dict[str, Any] = Field(default_factory=dict, description="The check's parameters, overrides applied")
    pack: str
    source: str = Field(description="file:line of the rule's definition")
    security: bool = Field(False, description="A security rule (vulnerabilities): SARIF tags it 'security'")


class Override(Frozen):
    rule_id: str
    changed: dict[str, str] = Field(description="What was changed: field -> new value, as text")
    reason: str
    source: str = Field(description="file:line of the override")


class AdvisoryRef(Frozen):
    id: str
    aliases: tuple[str, ...] = ()
    severity: Severity | None = Field(None, description="From the advisory's CVSS vectors; None when it has none")
    fixed_versions: tuple[str, ...] = ()
    summary: str | None = None


class PackageResult(Frozen):
    name: str
    version: str
    status: Literal["vulnerable", "clean", "not_audited"]
    reason: str | None = None
    advisories: tuple[AdvisoryRef, ...] = ()


class VulnSummary(Frozen):
    source: Literal["osv-local", "osv-api", "pip-audit-pypi", "pip-audit-osv"]
    location: str
    date: str | None = Field(None, description="Date of the advisory data (YYYY-MM-DD), when known")
    commit: str | None = None
    tool_version: str | None = None
    advisories: int | None = None
    age_days: int | None = None
    max_age_days: int | None = None
    stale: bool = Field(False, description="Older than max_age_days")
    error: str | None = Field(None, description="Why the source could not be used at all")
    problems: tuple[str, ...] = ()
    coverage: str | None = Field(None, description="What the source covers, and how that was checked")
    incomplete: str | None = Field(
        None, description="Why the source covers fewer packages than it should (undeclared, damaged)"
    )
    packages: tuple[PackageResult, ...] = ()

    def package_counts(self) -> dict[str, int]:
        """Packages by status, every status present (0 when none): vulnerable, clean, not audited."""
        counts = {"vulnerable": 0, "clean": 0, "not_audited": 0}
        for package in self.packages:
            counts[package.status] += 1
        return counts


class WaiverSummary(Frozen):
    file: str
    sha256: str
    used: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()
    partial: tuple[str, ...] = Field((), description="Waivers that cover only some of a finding's advisories")


class ClauseRow(Frozen):
    pack: str
    id: str
    title: str
    rules: tuple[str, ...]
    status: Literal["satisfied", "partial", "missing", "waived", "inconclusive", "could_not_evaluate", "not_evidenced"]
    counts: dict[str, int]
    outside_run: str | None = Field(None, description="For 'not_evidenced': the evidence a run cannot give")


class Totals(Frozen):
    """Counts of findings by outcome, and of failures by severity."""

    outcomes: dict[str, int]
    failing_by_severity: dict[str, int]


class Result(Frozen):
    verdict: Verdict
    exit_code: int = Field(
        description="0 compliant, 1 violations at or above fail_on, 3 inconclusive or could not evaluate"
    )
    totals: Totals


class CheckReport(Frozen):
    kind: Literal["auditor.check-report"] = REPORT_KIND
    report_version: Literal["1.1"] = REPORT_VERSION
    tool: str = "auditor"
    tool_version: str
    checked_at: AwareDatetime
    run: RunRef
    location: str = Field(
        description="What SARIF and Code Quality point a finding without a location of its own at: the record "
        "file relative to the repository root when inside it, else auditor.yaml when inside it, else the record's "
        "absolute path"
    )
    config: str | None = Field(None, description="The auditor.yaml whose policy section was used, if any")
    packs: tuple[PackRef, ...]
    fail_on: Severity
    overrides: tuple[Override, ...] = ()
    rules: tuple[RuleInfo, ...]
    findings: tuple[Finding, ...] = Field(description="Sorted by rule id, then subject; waivers applied")
    with_waivers: Result = Field(description="The verdict that counts: waivers in force applied")
    without_waivers: Result = Field(description="The verdict had no waiver applied")
    waivers: WaiverSummary | None = None
    vulnerabilities: VulnSummary | None = None
    clauses: tuple[ClauseRow, ...] = ()
    warnings: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _waivers_named_exactly_when_waived(self) -> CheckReport:
        """Each finding is checked for this when it is validated; a report holds findings that were not
        (a `model_copy` with an update, `model_construct`), so it checks again, in one pass over them."""
        if any((f.waiver is not None) != (f.outcome == "waived") for f in self.findings):
            raise ValueError("a finding names a waiver exactly when its outcome is 'waived'")
        return self

    def rule(self, rule_id: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.id == rule_id), None)
