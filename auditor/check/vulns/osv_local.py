"""Offline vulnerability source: a local OSV advisory database, such as a PyPA advisory-database checkout.

It never fails open. A package is "clean" only when the database declares that it covers it (see
osv_coverage), every advisory naming it was evaluated and none applies (or the database names it
nowhere, which is how OSV says "no known vulnerabilities"). A bad file, a version that is not PEP 440,
a range type that cannot be evaluated, or a package outside the declared coverage makes it "not_audited".
Ranges follow the OSV schema's "Evaluation" rules; only ECOSYSTEM ranges apply to PyPI versions.

This module holds the public results and the evaluation of an installed version against the index;
osv_records reads and checks the advisory files, osv_index builds and caches the index over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version

from auditor.check.vulns.osv_coverage import Coverage, read_coverage
from auditor.check.vulns.osv_index import AdvisoryDatabaseError, Index, listed_files, load_index, snapshot_facts
from auditor.check.vulns.osv_records import parse_version

__all__ = ["NOT_IN_DATABASE", "Advisory", "AdvisoryDatabaseError", "DatabaseInfo", "LocalOsvDatabase", "PackageAudit"]

_EVENTS = ("introduced", "fixed", "last_affected")
NOT_IN_DATABASE = "no advisories for this package in the database"
Status = Literal["vulnerable", "clean", "not_audited"]


@dataclass(frozen=True)
class Advisory:
    """One advisory as it applies to one package (fixed_versions are that package's)."""

    id: str
    aliases: tuple[str, ...]
    summary: str | None
    details: str
    fixed_versions: tuple[str, ...]
    severity: tuple[tuple[str, str], ...]
    published: str | None
    modified: str | None
    references: tuple[str, ...]


@dataclass(frozen=True)
class PackageAudit:
    """The outcome for one (name, version); `reason` says why whenever the answer is not plain."""

    name: str
    version: str
    status: Status
    advisories: tuple[Advisory, ...]
    reason: str | None


@dataclass(frozen=True)
class DatabaseInfo:
    """What was audited against, so a report can say how old and how complete the data was."""

    path: str
    kind: Literal["osv-local"]
    advisories: int
    commit: str | None
    date: str | None
    problems: tuple[str, ...]
    coverage: str  # what it declares it covers, and how that was checked
    incomplete: str | None = None  # undeclared or damaged: why it covers no package, when it covers none


class LocalOsvDatabase:
    """An OSV advisory folder indexed by canonical package name; open() it once, audit many packages."""

    def __init__(self, info: DatabaseInfo, index: Index, coverage: Coverage) -> None:
        self.info = info
        self._index = index
        self._coverage = coverage

    @classmethod
    def open(cls, path: Path, cache_dir: Path | None = None) -> LocalOsvDatabase:
        """Index the advisories under `path`, reusing a valid cache in `cache_dir` when one matches."""
        root = Path(path)
        files = listed_files(root)
        index = load_index(root, files, cache_dir)
        if not index["packages"] and not index["broken"]:
            unreadable = f"; {len(index['problems'])} file(s) could not be read" if index["problems"] else ""
            raise AdvisoryDatabaseError(
                f"{root}: no PyPI advisories found (is this an OSV advisory folder?){unreadable}"
            )
        coverage = read_coverage(root, files, index["unattributed"])
        commit, dated = snapshot_facts(root)
        info = DatabaseInfo(
            path=str(root),
            kind="osv-local",
            advisories=index["advisories"],
            commit=commit,
            date=coverage.date or dated or index["newest"],
            problems=tuple(index["problems"]),
            coverage=coverage.description,
            incomplete=coverage.problem,
        )
        return cls(info, index, coverage)

    def audit(self, packages: Sequence[tuple[str, str]]) -> list[PackageAudit]:
        """Audit each (name, installed version); names are matched after PEP 503 canonicalisation."""
        return [self._audit_one(name, version) for name, version in packages]

    def age_days(self, today: date) -> int | None:
        """Days between the database's date and `today`, so a policy can reject stale data."""
        return None if self.info.date is None else (today - date.fromisoformat(self.info.date)).days

    def _audit_one(self, name: str, version: str) -> PackageAudit:
        key = canonicalize_name(name)
        records: list[dict[str, Any]] = self._index["packages"].get(key, [])
        uncovered = self._coverage.why_not(key)
        unknown: list[str] = [*self._index["broken"].get(key, []), *([uncovered] if uncovered else [])]
        if not records and not unknown:
            return PackageAudit(name, version, "clean", (), NOT_IN_DATABASE)
        parsed = parse_version(version)
        if parsed is None and records:  # with no advisory naming the package, its version does not matter
            unknown.append(f"installed version {version!r} is not a PEP 440 version")
        hits: dict[str, Advisory] = {}
        for record in records:
            outcome = applies(record, version, parsed)
            if outcome is True:
                hits.setdefault(record["id"], advisory_of(record))
            elif isinstance(outcome, str):
                unknown.append(outcome)
        why = "; ".join(dict.fromkeys(unknown)) or None
        if hits:  # proven affected: the rest cannot make it any better
            return PackageAudit(name, version, "vulnerable", tuple(hits.values()), why and f"also unchecked: {why}")
        return PackageAudit(name, version, "not_audited" if why else "clean", (), why)


def applies(record: dict[str, Any], raw: str, parsed: Version | None) -> bool | str:
    """True or False when decided, else the reason it could not be (callers must not read that as False)."""
    undecided: str | None = None
    canonical = canonicalize_version(parsed) if parsed is not None else None
    for entry in record["affected"]:
        if raw in entry["versions"] or (canonical is not None and canonical in entry["versions"]):
            return True
        outcomes = [_in_range(record["id"], rng, parsed) for rng in entry["ranges"]]
        if True in outcomes:
            return True
        if not entry["ranges"] and not entry["versions"]:
            outcomes.append(f"{record['id']} ({record['file']}) has no ECOSYSTEM range and no versions list")
        undecided = undecided or next((o for o in outcomes if isinstance(o, str)), None)
    return undecided if undecided is not None else False


def _in_range(advisory_id: str, rng: dict[str, Any], version: Version | None) -> bool | str:
    """OSV evaluation: walk the events sorted by version; the last one at or below `version` decides."""
    if rng["type"] != "ECOSYSTEM":
        return f"{advisory_id}: a {rng['type']} range cannot be evaluated for PyPI versions"
    if version is None:
        return False  # the package is already not audited because of its installed version
    events: list[tuple[bool, Version, str]] = []
    for kind, value in rng["events"]:
        if kind not in _EVENTS:
            return f"{advisory_id}: unsupported range event {kind!r}"
        bound = parse_version(value)
        if bound is None:
            return f"{advisory_id}: {kind} version {value!r} is not a PEP 440 version"
        events.append((not (kind == "introduced" and value == "0"), bound, kind))  # "0" sorts before all
    affected = False
    for after_start, bound, kind in sorted(events, key=lambda event: event[:2]):
        if kind == "introduced" and (not after_start or version >= bound):
            affected = True
        elif (kind == "fixed" and version >= bound) or (kind == "last_affected" and version > bound):
            affected = False
    return affected


def advisory_of(record: dict[str, Any]) -> Advisory:
    ranges = [r for entry in record["affected"] for r in entry["ranges"] if r["type"] == "ECOSYSTEM"]
    fixed = {value for r in ranges for kind, value in r["events"] if kind == "fixed"}
    order = sorted(fixed, key=lambda v: (parse_version(v) is None, parse_version(v) or Version("0"), v))
    return Advisory(
        id=record["id"],
        aliases=tuple(record["aliases"]),
        summary=record["summary"],
        details=record["details"],
        fixed_versions=tuple(order),
        severity=tuple((kind, score) for kind, score in record["severity"]),
        published=record["published"],
        modified=record["modified"],
        references=tuple(record["references"]),
    )
