"""Known vulnerabilities in the run's recorded packages (not auditor's own environment).

The audit itself runs once per `auditor check`, before the rules, against the configured
source (see auditor.check.vulns.sources); this check reads its result from the context. A package the
source could not audit is "could not evaluate", never a pass.

A run with no installed packages (an ingested one) is audited on its declared requirements
instead: each exactly pinned one is looked up, labelled declared in message and evidence; one
pinned to no single version cannot be looked up and says so; and the rule still reports that the
installed packages were not checked.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from auditor.check.checks.declared import DECLARED_NOTE, DeclaredPin, declared_requirements, exact_versions, is_exact
from auditor.check.checks.interface import CheckContext, CheckDef, cannot, missing
from auditor.check.vulns.osv_local import Advisory, PackageAudit
from auditor.check.vulns.severity import cvss_score, cvss_severity
from auditor.record import RunRecord
from auditor.record.base import Frozen, Missing
from auditor.record.findings import Verdict
from auditor.record.models import Packages
from auditor.vocabulary import SEVERITY_ORDER, Severity, at_least


class VulnParams(Frozen):
    min_severity: Severity = Field("low", description="Fail on advisories at or above this severity")
    unknown_severity_as: Severity = Field(
        "high", description="The severity assumed for an advisory without a CVSS vector (most PyPA ones)"
    )


def record_packages(record: RunRecord) -> list[tuple[str, str]] | None:
    """(name, version) of every distribution the run's interpreter saw; when none was captured, of
    every exactly pinned declared requirement; None when neither was recorded."""
    packages = record.environment.packages
    if not isinstance(packages, Packages):
        return exact_versions(record) or None
    return sorted({(d.name, d.version) for d in packages.distributions if not d.shadowed})


def _no_known_vulnerabilities(record: RunRecord, params: VulnParams, ctx: CheckContext) -> list[Verdict]:
    packages = record.environment.packages
    if not isinstance(packages, Packages):
        return _declared_only(record, packages, params, ctx)
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


def _declared_only(record: RunRecord, packages: Missing, params: VulnParams, ctx: CheckContext) -> list[Verdict]:
    """No installed packages: the rule cannot pass; the declared exact pins are audited, labelled declared."""
    gap = missing("environment", "installed packages", packages)
    found = declared_requirements(record)
    if not found:
        return [gap]
    out = [cannot(gap.subject, f"{gap.message}; {DECLARED_NOTE}")]
    exact, loose = _first_of_each_version([d for d in found if is_exact(d)]), [d for d in found if not is_exact(d)]
    out += [_unpinned(d) for d in loose]
    if not exact:
        return out
    if ctx.vulns is None:
        return [*out, cannot("environment", "no vulnerability source was configured for this check")]
    by_key = {(p.name, p.version): p for p in ctx.vulns.packages}
    source = ctx.vulns.source.kind
    wanted = [(d.pin.name, d.pin.version or "") for d in exact]
    shared = _shared_failure(wanted, by_key)
    if shared is not None:
        return [*out, _source_failed(source, shared, wanted)]
    for declared, key in zip(exact, wanted, strict=True):
        audit = by_key.get(key)
        said = f"declared requirement {declared.written} in {declared.where}"
        if audit is None:
            verdict = cannot(f"package:{key[0]}", f"{key[0]} {key[1]} was not sent to the source ({source})")
        else:
            verdict = _verdict(f"package:{key[0]}", audit, params, source)
        evidence = {**verdict.evidence, **declared.evidence()}
        out.append(
            replace(verdict, message=f"{said}: {verdict.message} (declared, not observed installed)", evidence=evidence)
        )
    return out


def _first_of_each_version(pins: list[DeclaredPin]) -> list[DeclaredPin]:
    """One declared requirement per (name, version): `x==1` and `x==1; python_version>'3'` are one lookup."""
    seen: dict[tuple[str, str | None], DeclaredPin] = {}
    for declared in pins:
        seen.setdefault((declared.name, declared.pin.version), declared)
    return list(seen.values())


def _unpinned(declared: DeclaredPin) -> Verdict:
    return Verdict(
        subject=f"package:{declared.pin.name}",
        outcome="could_not_evaluate",
        message=f"declared requirement {declared.written} in {declared.where} names no single version: "
        "which one would be installed is unknown, so it was not looked up",
        evidence=declared.evidence(),
    )


SOURCE_REMEDY = (
    "Give the check an advisory database it can read: one installed by `auditor advisories update`, a local "
    "OSV folder (--advisory-db DIR or AUDITOR_ADVISORY_DB, with --vuln-source local), or network access to "
    "the OSV API (--vuln-source osv)."
)


def _verdict(subject: str, audit: PackageAudit, params: VulnParams, source: str) -> Verdict:
    evidence: dict[str, str | int | float | None] = {"version": audit.version, "source": source}
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
            evidence={**evidence, "failing": ", ".join(a.id for a, _ in failing), "fixed_in": _first_fix(failing)}
            | _cvss(failing),
            severity=max((s for _, s in failing), key=SEVERITY_ORDER.index),  # the worst advisory's
        )
    if audit.reason and audit.status == "vulnerable":  # affected, below the bar, and something unchecked
        return Verdict(subject=subject, outcome="could_not_evaluate", message=audit.reason, evidence=evidence)
    below = f"; below {params.min_severity}: {evidence['advisories']}" if rated else ""
    return Verdict(subject=subject, outcome="pass", message=f"no known vulnerabilities{below}", evidence=evidence)


def _cvss(failing: list[tuple[Advisory, Severity]]) -> dict[str, float]:
    """The failing advisories' highest CVSS base score, when they have one: what code scanning ranks by."""
    scores = [s for a, _ in failing if (s := cvss_score(a.severity)) is not None]
    return {"cvss": max(scores)} if scores else {}


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
