"""Waivers: a named, owned, approved and dated exception to one rule, for one subject or all.

Unlike pip-audit's ignores (which never expire) and conftest's exceptions (which
have no owner), every waiver here must say who asked, who approved, why, and
until when. An expired waiver waives nothing and is reported as a failure of its
own; a waiver whose date cannot be read counts as expired; a waiver that matched
nothing is reported as unused, so stale exceptions do not pile up.

A `package:NAME` scope matches the way Python package names do (PEP 503: case, `-`, `_` and `.`
alike), so `package:jinja2` covers the installed `Jinja2`. A waiver limited to some advisories
waives a finding only when it accepts every advisory the finding fails on; one that accepts some of
them is reported as covering part of the finding (never as unused: the problem is still there).
The owner and the approver must be two people once spelling tricks are set aside (see identity.py).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from auditor.check.identity import identity_key, mixed_scripts
from auditor.project.yamlfile import YamlFileError, load_model, read_text
from auditor.record.base import Frozen
from auditor.record.findings import Finding
from auditor.text import safe

WAIVER_RULE = "AUD-WAIVER-EXPIRED"
MAX_WAIVERS_BYTES = 1 << 20  # about 2,000 waivers: more is a backlog, not a list of exceptions


class WaiverError(YamlFileError):
    """waivers.yaml is malformed: one line with file, line, key and what was expected."""


class Waiver(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    rule: str
    scope: str = Field(
        "*", description="A finding subject or glob: 'package:numpy', 'dataset:raw', 'attribute:sex', '*'"
    )
    justification: str = Field(min_length=10)
    owner: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: str = Field(description="YYYY-MM-DD, UTC, the day inclusive; unreadable counts as expired")
    advisories: tuple[str, ...] = Field(
        (), description="For the vulnerability rule: the advisory ids accepted; a new advisory is not covered"
    )

    @field_validator("owner", "approver")
    @classmethod
    def _one_script(cls, name: str) -> str:
        scripts = " and ".join(script.title() for script in mixed_scripts(name))
        if scripts:
            raise ValueError(f"{safe(name)!r} mixes {scripts} letters: write it in one script")
        return name

    @model_validator(mode="after")
    def _two_people(self) -> Waiver:
        if not identity_key(self.owner) or not identity_key(self.approver):
            raise ValueError("owner and approver must name someone")
        if identity_key(self.owner) == identity_key(self.approver):
            raise ValueError(
                "the approver must be someone other than the owner (compared without case, invisible characters"
                " and look-alike letters)"
            )
        return self


class WaiverFile(Frozen):
    version: int = Field(1, ge=1, le=1)
    waivers: tuple[Waiver, ...]


@dataclass(frozen=True)
class PartialWaiver:
    """A live waiver that accepts some, not all, of the advisories a finding fails on."""

    waiver: str
    rule: str
    subject: str
    covered: tuple[str, ...]
    uncovered: tuple[str, ...]


@dataclass(frozen=True)
class WaiverReport:
    findings: tuple[Finding, ...] = ()  # with waived outcomes, plus one failure per expired waiver
    used: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()  # matched no finding at all
    expired: tuple[str, ...] = ()
    partial: tuple[PartialWaiver, ...] = ()  # covered part of a finding, which therefore still fails


def load_waivers(path: Path) -> tuple[Waiver, ...]:
    return parse_waivers(read_text(path, WaiverError, "a waivers file", MAX_WAIVERS_BYTES), path)


def parse_waivers(text: str, path: Path | str) -> tuple[Waiver, ...]:
    waivers, _ = load_model(text, path, WaiverFile, WaiverError, "'version' and 'waivers'")
    return waivers.waivers


def expiry(waiver: Waiver) -> date | None:
    try:
        return date.fromisoformat(waiver.expires.strip())
    except ValueError:
        return None


def apply_waivers(findings: list[Finding], waivers: tuple[Waiver, ...], today: date) -> WaiverReport:
    """Waive failing and inconclusive findings that an unexpired waiver covers; report expired and unused ones.

    An inconclusive finding is waivable like a failure: the waiver accepts that compliance is not shown."""
    live = [w for w in waivers if (end := expiry(w)) is not None and today <= end]
    used: set[str] = set()
    partial: list[PartialWaiver] = []
    out: list[Finding] = [] if live else list(findings)  # no waiver in force: every finding as it is
    for finding in findings if live else ():
        waivable = finding.outcome in ("fail", "inconclusive")
        match = next((w for w in live if _covers(w, finding)), None) if waivable else None
        if match is None:
            out.append(finding)
            if finding.outcome == "fail":
                partial += [p for w in live if (p := _partly(w, finding)) is not None]
            continue
        used.add(match.id)
        # validated, not a model_copy: the finding's own check (a waiver exactly when waived) runs on it
        out.append(Finding(**{**dict(finding), "outcome": "waived", "waiver": match.id}))
    expired = [w for w in waivers if w not in live]
    for waiver in expired:
        end = expiry(waiver)
        why = f"expired on {end.isoformat()}" if end else f"has an unreadable expiry {waiver.expires!r}"
        out.append(
            Finding(
                rule_id=WAIVER_RULE,
                severity="high",
                subject=f"waiver:{waiver.id}",
                outcome="fail",
                message=f"waiver {waiver.id} for {waiver.rule} {why}: renew it or fix the finding",
                evidence={"owner": waiver.owner, "approver": waiver.approver, "expires": waiver.expires},
            )
        )
    touched = used | {p.waiver for p in partial}
    return WaiverReport(
        findings=tuple(out),
        used=tuple(sorted(used)),
        unused=tuple(sorted(w.id for w in live if w.id not in touched)),
        expired=tuple(sorted(w.id for w in expired)),
        partial=tuple(partial),
    )


def _covers(waiver: Waiver, finding: Finding) -> bool:
    if not _applies_to(waiver, finding):
        return False
    if waiver.advisories:  # only the advisories it names: one published later must fail again
        failing = _failing(finding)
        return bool(failing) and {a.casefold() for a in failing} <= {a.casefold() for a in waiver.advisories}
    return True


def _partly(waiver: Waiver, finding: Finding) -> PartialWaiver | None:
    """The part of a failing finding a waiver limited to some advisories covers, when it covers some."""
    if not waiver.advisories or not _applies_to(waiver, finding):
        return None
    accepted = {a.casefold() for a in waiver.advisories}
    failing = _failing(finding)
    covered = tuple(a for a in failing if a.casefold() in accepted)
    uncovered = tuple(a for a in failing if a.casefold() not in accepted)
    if not covered:
        return None
    return PartialWaiver(waiver.id, finding.rule_id, finding.subject, covered, uncovered)


def _applies_to(waiver: Waiver, finding: Finding) -> bool:
    """Same rule, and the scope matches the subject (package names compared as PEP 503 normalises them)."""
    if waiver.rule != finding.rule_id:
        return False
    kind, _, name = waiver.scope.partition(":")
    if kind == "package" and finding.subject.startswith("package:"):
        return fnmatch.fnmatchcase(_package_key(finding.subject.removeprefix("package:")), _package_key(name))
    return fnmatch.fnmatchcase(finding.subject, waiver.scope)


def _package_key(name: str) -> str:
    """PEP 503 normalisation (runs of -, _ and . are one -, lower case), applied to names and globs alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _failing(finding: Finding) -> list[str]:
    """The advisory ids a vulnerability finding fails on (its evidence lists them)."""
    return [a for a in str(finding.evidence.get("failing") or "").split(", ") if a]
