"""One `auditor check`: evidence gathered once, rules evaluated, waivers applied, one report.

Pure apart from the vulnerability audit, which asks the configured source. The verdict and exit
code are decided here and nowhere else:
  1  a failure at or above `fail_on` (waivers in force applied);
  3  otherwise, a finding at or above `fail_on` is inconclusive or could not be evaluated
     (compliance could not be established);
  0  otherwise: compliant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path

from auditor import __version__
from auditor.check.checks import REGISTRY
from auditor.check.checks.interface import CheckContext
from auditor.check.checks.vulnerabilities import VulnParams, record_packages, severity_of
from auditor.check.clauses import clause_status
from auditor.check.engine import evaluate
from auditor.check.locations import Places
from auditor.check.packs import LoadedRule, Pack
from auditor.check.report import (
    AdvisoryRef,
    CheckReport,
    ClauseRow,
    Override,
    PackageResult,
    PackRef,
    Result,
    RuleInfo,
    RunRef,
    Totals,
    VulnSummary,
    WaiverSummary,
)
from auditor.check.vulns.audit import VulnAudit
from auditor.check.vulns.sources import SourceChoice, audit_packages
from auditor.check.waivers import WAIVER_RULE, Waiver, WaiverReport, apply_waivers
from auditor.errors import EXIT_COULD_NOT_EVALUATE, EXIT_OK, EXIT_VIOLATIONS
from auditor.record import RunRecord
from auditor.record.findings import Finding
from auditor.vocabulary import SEVERITY_ORDER, UNESTABLISHED, Severity, at_least

EXPIRED_WAIVER_RULE = RuleInfo(
    id=WAIVER_RULE,
    title="Waivers in force have not expired",
    severity="high",
    rationale="An expired waiver no longer covers its finding; nobody has re-approved the exception.",
    remediation="Fix the finding, or renew the waiver with a new expiry date and approval.",
    references=("auditor waivers",),
    check="waiver_expiry",
    pack="auditor",
    source="auditor/policy/waivers.py",
)


@dataclass(frozen=True)
class CheckRequest:
    record: RunRecord
    record_path: Path
    record_sha256: str
    pack: Pack
    fail_on: Severity
    location: str
    now: datetime
    waivers: tuple[Waiver, ...] = ()
    waivers_file: tuple[str, str] | None = None  # (path, sha256)
    vuln_source: SourceChoice | None = None
    max_db_age_days: int = 30
    stale_fails: bool = False
    cache_dir: Path | None = None
    config: str | None = None
    # The run's folder in a store, verified by the store; None for a loose record file, whose
    # named files (logs) are never read: a record must not make auditor read local files.
    run_folder: Path | None = None
    # Who audits the packages (default: `audit_packages`); many checks in one process (the
    # portfolio) pass one that opens the source once and audits each package once.
    vuln_audit: Callable[[SourceChoice, list[tuple[str, str]], Path | None], VulnAudit] | None = None
    # Where the run's packages and datasets are written in the repository (auditor/check/locations.py).
    places: Places = field(default_factory=Places)


def run_check(request: CheckRequest) -> CheckReport:
    today = request.now.date()
    vulns = _audit_vulns(request)
    raw = evaluate(request.record, request.pack, CheckContext(today=today, vulns=vulns))
    waived = apply_waivers(raw, request.waivers, today)
    findings = sorted(request.places.locate(waived.findings), key=_FINDING_ORDER)
    rules = [_rule_info(loaded) for loaded in request.pack.rules]
    if any(f.rule_id == WAIVER_RULE for f in findings):
        rules.append(EXPIRED_WAIVER_RULE)
    summary = _vuln_summary(vulns, request, today) if vulns is not None else None
    result = _result(findings, request.fail_on)  # without waivers, the same findings: counted once
    return CheckReport(
        tool_version=__version__,
        checked_at=request.now,
        run=_run_ref(request),
        location=request.location,
        config=request.config,
        packs=tuple(PackRef(**ref.model_dump()) for ref in request.pack.files),
        fail_on=request.fail_on,
        overrides=tuple(Override(**o.model_dump()) for o in request.pack.overrides),
        rules=tuple(rules),
        findings=tuple(findings),
        with_waivers=result,
        without_waivers=_result(raw, request.fail_on) if request.waivers else result,
        waivers=_waiver_summary(request, waived),
        vulnerabilities=summary,
        clauses=tuple(_clauses(findings, request.pack)),
        warnings=tuple(_warnings(summary, waived)),
    )


def _audit_vulns(request: CheckRequest) -> VulnAudit | None:
    wanted = any(REGISTRY[r.rule.check.kind].needs_vulns for r in request.pack.rules)
    packages = record_packages(request.record)
    if not wanted or packages is None or request.vuln_source is None:
        return None  # the rule itself reports what is missing
    audit = (request.vuln_audit or audit_packages)(request.vuln_source, packages, request.cache_dir)
    source = audit.source
    if request.stale_fails and source.kind == "osv-local" and audit.error is None:
        age = _age_days(source.date, request.now.date())
        if age is None or age > request.max_db_age_days:
            why = f"{age} days old" if age is not None else "undated"
            limit = f"the advisory database is {why} (limit {request.max_db_age_days} days, on_stale: fail)"
            return VulnAudit.failed(source, packages, limit)
    return audit


def _result(findings: Sequence[Finding], fail_on: Severity) -> Result:
    # One pass in C over every finding (32,000 for 10,000 datasets), then the verdict from the counts.
    pairs = Counter(map(_OUTCOME_SEVERITY, findings))
    outcomes: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    for (outcome, severity), count in pairs.items():
        outcomes[outcome] += count
        if outcome == "fail":
            failing[severity] += count
    totals = Totals(
        outcomes={
            o: outcomes.get(o, 0)
            for o in ("pass", "fail", "inconclusive", "waived", "not_applicable", "could_not_evaluate")
        },
        failing_by_severity={s: failing.get(s, 0) for s in reversed(SEVERITY_ORDER)},
    )
    if any(o == "fail" and at_least(s, fail_on) for o, s in pairs):
        return Result(verdict="violations", exit_code=EXIT_VIOLATIONS, totals=totals)
    if any(o in UNESTABLISHED and at_least(s, fail_on) for o, s in pairs):
        return Result(verdict="could_not_evaluate", exit_code=EXIT_COULD_NOT_EVALUATE, totals=totals)
    return Result(verdict="compliant", exit_code=EXIT_OK, totals=totals)


_OUTCOME_SEVERITY = attrgetter("outcome", "severity")
# The report's order of findings: by rule, subject, outcome (attrgetter: the key made in C, not a lambda).
_FINDING_ORDER = attrgetter("rule_id", "subject", "outcome")


def _rule_info(loaded: LoadedRule) -> RuleInfo:
    rule = loaded.rule
    return RuleInfo(
        id=rule.id,
        title=rule.title,
        severity=rule.severity,
        rationale=rule.rationale,
        remediation=rule.remediation,
        references=rule.references,
        check=rule.check.kind,
        params=loaded.params.model_dump(mode="json", exclude_none=True),
        pack=loaded.pack,
        source=loaded.source,
        security=REGISTRY[rule.check.kind].needs_vulns,
    )


def _age_days(dated: str | None, today: date) -> int | None:
    return (today - date.fromisoformat(dated)).days if dated else None


def _run_ref(request: CheckRequest) -> RunRef:
    ident = request.record.identity
    return RunRef(
        run_id=ident.run_id,
        project=ident.project,
        status=ident.status,
        started_at=ident.started_at,
        record_path=str(request.record_path),
        record_sha256=request.record_sha256,
    )


def _vuln_summary(vulns: VulnAudit, request: CheckRequest, today: date) -> VulnSummary:
    params = next((r.params for r in request.pack.rules if isinstance(r.params, VulnParams)), VulnParams())
    source = vulns.source
    age = _age_days(source.date, today)
    limit = request.max_db_age_days if source.kind == "osv-local" else None
    return VulnSummary(
        source=source.kind,
        location=source.location,
        date=source.date,
        commit=source.commit,
        tool_version=source.tool_version,
        advisories=source.advisories,
        age_days=age,
        max_age_days=limit,
        stale=bool(limit is not None and age is not None and age > limit),
        error=vulns.error,
        problems=source.problems,
        coverage=source.coverage,
        incomplete=source.incomplete,
        packages=tuple(
            PackageResult(
                name=p.name,
                version=p.version,
                status=p.status,
                reason=p.reason,
                advisories=tuple(
                    AdvisoryRef(
                        id=a.id,
                        aliases=a.aliases,
                        severity=severity_of(a, params) if a.severity else None,
                        fixed_versions=a.fixed_versions,
                        summary=a.summary,
                    )
                    for a in p.advisories
                ),
            )
            for p in vulns.packages
        ),
    )


def _waiver_summary(request: CheckRequest, waived: WaiverReport) -> WaiverSummary | None:
    if request.waivers_file is None:
        return None
    path, digest = request.waivers_file
    partial = tuple(sorted({p.waiver for p in waived.partial}))
    return WaiverSummary(
        file=path, sha256=digest, used=waived.used, unused=waived.unused, expired=waived.expired, partial=partial
    )


def _clauses(findings: Sequence[Finding], pack: Pack) -> list[ClauseRow]:
    rows = []
    for pack_name, clause in pack.clauses:
        result = clause_status(findings, clause)
        rows.append(
            ClauseRow(
                pack=pack_name,
                id=clause.id,
                title=clause.title,
                rules=clause.rules,
                status=result.status,
                counts=result.counts,
                outside_run=clause.outside_run,
            )
        )
    return rows


def _warnings(vulns: VulnSummary | None, waived: WaiverReport) -> list[str]:
    out = []
    if vulns is not None and vulns.incomplete and vulns.error is None:
        out.append(f"vulnerability source {vulns.location}: {coverage_note(vulns.incomplete)}")
    if vulns is not None and vulns.source == "osv-local" and vulns.date is None and vulns.error is None:
        out.append("the advisory database has no date: auditor cannot tell how current it is")
    if vulns is not None and vulns.stale:
        out.append(
            f"the advisory database is {vulns.age_days} days old (dated {vulns.date}; limit {vulns.max_age_days}):"
            " update it, or findings may miss recent advisories"
        )
    if vulns is not None and vulns.problems:
        out.append(f"{len(vulns.problems)} advisory file(s) could not be read; affected packages are not audited")
    out += [f"waiver {w} matched no finding: remove it if the problem is gone" for w in waived.unused]
    out += [
        f"waiver {p.waiver} covers only part of {p.subject} ({p.rule}): it accepts {', '.join(p.covered)}, "
        f"but the finding also fails on {', '.join(p.uncovered)}, so it still fails; keep the waiver and fix "
        "or add the rest"
        for p in waived.partial
    ]
    return out


def coverage_note(incomplete: str) -> str:
    """One line for a source that covers less than it should (`incomplete` says why)."""
    return f"the advisory database {incomplete}; packages it does not cover are not audited, never clean"
