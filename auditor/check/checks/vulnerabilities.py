"""Known vulnerabilities in the run's recorded packages (not auditor's own environment).

The audit itself runs once per `auditor check`, before the rules, against the configured
source (see auditor.check.vulns.sources); this check reads its result from the context. A package the
source could not audit is "could not evaluate", never a pass.
"""

from __future__ import annotations

from pydantic import Field

from auditor.check.checks.interface import CheckContext, CheckDef, cannot, missing
from auditor.check.vulns.osv_local import Advisory, PackageAudit
from auditor.check.vulns.severity import cvss_severity
from auditor.record import RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import Verdict
from auditor.record.models import Packages
from auditor.vocabulary import SEVERITY_ORDER, Severity, at_least


class VulnParams(Frozen):
    min_severity: Severity = Field("low", description="Fail on advisories at or above this severity")
    unknown_severity_as: Severity = Field(
        "high", description="The severity assumed for an advisory without a CVSS vector (most PyPA ones)"
    )


def record_packages(record: RunRecord) -> list[tuple[str, str]] | None:
    """(name, version) of every distribution the run's interpreter saw; None when not captured."""
    packages = record.environment.packages
    if not isinstance(packages, Packages):
        return None
    return sorted({(d.name, d.version) for d in packages.distributions if not d.shadowed})


def _no_known_vulnerabilities(record: RunRecord, params: VulnParams, ctx: CheckContext) -> list[Verdict]:
    packages = record.environment.packages
    if not isinstance(packages, Packages):
        return [missing("environment", "installed packages", packages)]
    if ctx.vulns is None:
        return [cannot("environment", "no vulnerability source was configured for this check")]
    by_key = {(p.name, p.version): p for p in ctx.vulns.packages}
    source = ctx.vulns.source.kind
    wanted = record_packages(record) or []
    if not wanted:
        return [Verdict(subject="environment", outcome="not_applicable", message="no packages were installed")]
    shared = _shared_failure(wanted, by_key)
    if shared is not None:
        return [_source_failed(source, shared, wanted)]
    out = []
    for name, version in wanted:
        audit = by_key.get((name, version))
        subject = f"package:{name}"
        if audit is None:
            out.append(cannot(subject, f"{name} {version} was not sent to the source ({source})"))
        else:
            out.append(_verdict(subject, audit, params, source))
    return out


def _shared_failure(wanted: list[tuple[str, str]], by_key: dict[tuple[str, str], PackageAudit]) -> str | None:
    """The one reason no package was audited, when the source failed as a whole (one cause, stated once)."""
    reasons = set()
    for key in wanted:
        audit = by_key.get(key)
        if audit is None or audit.status != "not_audited" or not audit.reason:
            return None
        reasons.add(audit.reason)
    return reasons.pop() if len(wanted) > 1 and len(reasons) == 1 else None


def _source_failed(source: str, reason: str, wanted: list[tuple[str, str]]) -> Verdict:
    listed = ", ".join(f"{name} {version}" for name, version in wanted)
    return Verdict(
        subject=f"source:{source}",
        outcome="could_not_evaluate",
        message=f"none of the {len(wanted)} packages was audited: {reason}",
        evidence={"source": source, "packages": len(wanted), "not_audited": listed, "remedy": SOURCE_REMEDY},
    )


SOURCE_REMEDY = (
    "Give the check an advisory database it can read: a local OSV folder (--advisory-db DIR or "
    "AUDITOR_ADVISORY_DB, with --vuln-source local), or network access to the OSV API (--vuln-source osv)."
)


def _verdict(subject: str, audit: PackageAudit, params: VulnParams, source: str) -> Verdict:
    evidence: dict[str, str | int | None] = {"version": audit.version, "source": source}
    if audit.status == "not_audited":
        return Verdict(
            subject=subject,
            outcome="could_not_evaluate",
            message=f"{audit.name} {audit.version} was not audited: {audit.reason}",
            evidence=evidence,
        )
    rated = [(a, severity_of(a, params)) for a in audit.advisories]
    failing = [(a, s) for a, s in rated if at_least(s, params.min_severity)]
    evidence["advisories"] = ", ".join(a.id for a, _ in rated) or None
    if failing:
        listed = "; ".join(f"{a.id} ({s}{_fix(a)})" for a, s in failing)
        return Verdict(
            subject=subject,
            outcome="fail",
            message=f"{audit.name} {audit.version} is affected by {listed}",
            evidence={**evidence, "failing": ", ".join(a.id for a, _ in failing), "fixed_in": _first_fix(failing)},
            severity=max((s for _, s in failing), key=SEVERITY_ORDER.index),  # the worst advisory's
        )
    if audit.reason and audit.status == "vulnerable":  # affected, below the bar, and something unchecked
        return Verdict(subject=subject, outcome="could_not_evaluate", message=audit.reason, evidence=evidence)
    below = f"; below {params.min_severity}: {evidence['advisories']}" if rated else ""
    return Verdict(subject=subject, outcome="pass", message=f"no known vulnerabilities{below}", evidence=evidence)


def severity_of(advisory: Advisory, params: VulnParams) -> Severity:
    return cvss_severity(advisory.severity) or params.unknown_severity_as


def _fix(advisory: Advisory) -> str:
    return f", fixed in {advisory.fixed_versions[0]}" if advisory.fixed_versions else ", no fix released"


def _first_fix(failing: list[tuple[Advisory, Severity]]) -> str | None:
    """The lowest version that fixes every failing advisory is the caller's to compute; list the fixes."""
    fixes = sorted({v for a, _ in failing for v in a.fixed_versions})
    return ", ".join(fixes) or None


NO_KNOWN_VULNERABILITIES = CheckDef(
    "no_known_vulnerabilities",
    VulnParams,
    _no_known_vulnerabilities,
    "no recorded package is affected by a known advisory at or above a severity",
    needs_vulns=True,
)
