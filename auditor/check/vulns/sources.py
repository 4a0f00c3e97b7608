"""Pick the vulnerability source a check asked for and audit a run's packages with it.

Sources: `local` (an OSV advisory folder, evaluated in-process, offline), `pypi` and `osv`
(pip-audit, strict, against PyPI or an OSV endpoint). Whatever goes wrong, the answer is a
`VulnAudit` whose packages say "not_audited" and why; nothing here raises for a source that
cannot be used, because "could not check" is an outcome the policy reports, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.check.vulns.audit import SourceInfo, VulnAudit
from auditor.check.vulns.osv_index import AdvisoryDatabaseError
from auditor.check.vulns.osv_local import LocalOsvDatabase
from auditor.project.policy import VulnSource


@dataclass(frozen=True)
class SourceChoice:
    source: VulnSource
    database: Path | None = None
    osv_url: str | None = None
    timeout_s: float = 300


def audit_packages(choice: SourceChoice, packages: list[tuple[str, str]], cache_dir: Path | None) -> VulnAudit:
    if choice.source == "local":
        return _local(choice, packages, cache_dir)
    from auditor.check.vulns.pip_audit_source import audit_with_pip_audit

    return audit_with_pip_audit(packages, choice.source, choice.osv_url, choice.timeout_s)


def _local(choice: SourceChoice, packages: list[tuple[str, str]], cache_dir: Path | None) -> VulnAudit:
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
    )
    return VulnAudit(source=source, packages=tuple(db.audit(packages)))
