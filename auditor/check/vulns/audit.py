"""The result of auditing a run's packages against one vulnerability source.

Every source (the local OSV database, the OSV API queried in-process, pip-audit against PyPI)
produces a `VulnAudit`: what was asked, of whom, how fresh that source was, what it covers and how
that was checked, and per package one of "vulnerable", "clean" or "not_audited" with the reason.
A source that failed as a whole sets `error` and reports every package as not audited; nothing here
ever turns into a pass by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auditor.check.vulns.osv_local import PackageAudit

SourceKind = Literal["osv-local", "osv-api", "pip-audit-pypi", "pip-audit-osv"]


@dataclass(frozen=True)
class SourceInfo:
    """Which source answered, and how current its data was."""

    kind: SourceKind
    location: str = ""  # a folder for osv-local, a URL for the others
    date: str | None = None  # the newest advisory or the snapshot's date (YYYY-MM-DD), when known
    commit: str | None = None  # the database checkout's commit, when it is a git checkout
    tool_version: str | None = None  # pip-audit's version, for pip-audit sources
    advisories: int | None = None
    problems: tuple[str, ...] = ()  # advisory files that could not be read
    coverage: str | None = None  # what the source covers and how that was checked (a declaration, a canary)
    incomplete: str | None = None  # why it covers less than it should: no declaration, a damaged database


@dataclass(frozen=True)
class VulnAudit:
    source: SourceInfo
    packages: tuple[PackageAudit, ...]
    error: str | None = None  # the source could not be used at all: why

    @classmethod
    def failed(cls, source: SourceInfo, packages: list[tuple[str, str]], why: str) -> VulnAudit:
        """Every package not audited, because the source as a whole failed."""
        audits = tuple(PackageAudit(name, version, "not_audited", (), why) for name, version in packages)
        return cls(source=source, packages=audits, error=why)
