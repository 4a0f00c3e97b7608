"""Pick the vulnerability source a check asked for and audit a run's packages with it.

Sources: `local` (an OSV advisory folder, evaluated in-process, offline, passing only the packages
its declared coverage includes), `osv` (the OSV API or a mirror, queried and checked in-process, after
a canary) and `pypi` (pip-audit against PyPI, strict, after the same canary). Whatever goes wrong, the answer is a
`VulnAudit` whose packages say "not_audited" and why; nothing here raises for a source that
cannot be used, because "could not check" is an outcome the policy reports, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.vocabulary import VulnSource

if TYPE_CHECKING:
    from auditor.check.vulns.audit import VulnAudit

Packages = list[tuple[str, str]]


@dataclass(frozen=True)
class SourceChoice:
    source: VulnSource
    database: Path | None = None
    osv_url: str | None = None
    timeout_s: float = 300


@dataclass(frozen=True)
class VulnSourceDef:
    """One source of vulnerability data. Its name is what `--vuln-source` and auditor.yaml's
    `policy.vulnerabilities.source` take; `audit` imports what it needs only when it runs."""

    name: VulnSource
    summary: str
    audit: Callable[[SourceChoice, Packages, Path | None], VulnAudit]


def audit_packages(choice: SourceChoice, packages: Packages, cache_dir: Path | None) -> VulnAudit:
    return SOURCES[choice.source].audit(choice, packages, cache_dir)


def _osv(choice: SourceChoice, packages: Packages, _cache_dir: Path | None) -> VulnAudit:
    from auditor.check.vulns.osv_api import audit_with_osv_api

    return audit_with_osv_api(packages, choice.osv_url, choice.timeout_s)


def _pypi(choice: SourceChoice, packages: Packages, _cache_dir: Path | None) -> VulnAudit:
    from auditor.check.vulns.pip_audit_source import audit_with_pip_audit

    return audit_with_pip_audit(packages, "pypi", choice.osv_url, choice.timeout_s)


def _local(choice: SourceChoice, packages: Packages, cache_dir: Path | None) -> VulnAudit:
    from auditor.check.vulns.audit import SourceInfo, VulnAudit
    from auditor.check.vulns.osv_index import AdvisoryDatabaseError
    from auditor.check.vulns.osv_local import LocalOsvDatabase

    folder = choice.database
    if folder is None:
        return VulnAudit.failed(SourceInfo(kind="osv-local"), packages, "no local advisory database was given")
    try:
        db = LocalOsvDatabase.open(folder, cache_dir)
    except AdvisoryDatabaseError as exc:
        return VulnAudit.failed(SourceInfo(kind="osv-local", location=str(folder)), packages, exc.message)
    info = db.info
    source = SourceInfo(
        kind="osv-local",
        location=info.path,
        date=info.date,
        commit=info.commit,
        advisories=info.advisories,
        problems=info.problems,
        coverage=info.coverage,
        incomplete=info.incomplete,
    )
    return VulnAudit(source=source, packages=tuple(db.audit(packages)))


SOURCES: dict[str, VulnSourceDef] = {
    s.name: s
    for s in (
        VulnSourceDef("local", "an OSV advisory folder, evaluated in-process (offline)", _local),
        VulnSourceDef("osv", "the OSV API or a mirror (--osv-url), queried and checked in-process", _osv),
        VulnSourceDef("pypi", "pip-audit against PyPI's JSON API", _pypi),
    )
}
