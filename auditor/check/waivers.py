"""Waivers: a named, owned, approved and dated exception to one rule, for one subject or all.

Unlike pip-audit's ignores (which never expire) and conftest's exceptions (which
have no owner), every waiver here must say who asked, who approved, why, and
until when. An expired waiver waives nothing and is reported as a failure of its
own; a waiver whose date cannot be read counts as expired; a waiver that matched
nothing is reported as unused, so stale exceptions do not pile up.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import Field, model_validator

from auditor.project.yamlfile import YamlFileError, load_model, read_text
from auditor.record.base import Frozen
from auditor.record.findings import Finding

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

    @model_validator(mode="after")
    def _two_people(self) -> Waiver:
        if not self.owner.strip() or not self.approver.strip():
            raise ValueError("owner and approver must name someone")
        if self.owner.strip().casefold() == self.approver.strip().casefold():
            raise ValueError("the approver must be someone other than the owner")
        return self


class WaiverFile(Frozen):
    version: int = Field(1, ge=1, le=1)
    waivers: tuple[Waiver, ...]


@dataclass(frozen=True)
class WaiverReport:
    findings: tuple[Finding, ...] = ()  # with waived outcomes, plus one failure per expired waiver
    used: tuple[str, ...] = ()
    unused: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()


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
    """Waive failing findings that an unexpired waiver covers; report expired and unused ones."""
    live = [w for w in waivers if (end := expiry(w)) is not None and today <= end]
    used: set[str] = set()
    out: list[Finding] = []
    for finding in findings:
        match = next((w for w in live if _covers(w, finding)), None) if finding.outcome == "fail" else None
        if match is None:
            out.append(finding)
            continue
        used.add(match.id)
        out.append(finding.model_copy(update={"outcome": "waived", "waiver": match.id}))
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
    return WaiverReport(
        findings=tuple(out),
        used=tuple(sorted(used)),
        unused=tuple(sorted(w.id for w in live if w.id not in used)),
        expired=tuple(sorted(w.id for w in expired)),
    )


def _covers(waiver: Waiver, finding: Finding) -> bool:
    if waiver.rule != finding.rule_id or not fnmatch.fnmatchcase(finding.subject, waiver.scope):
        return False
    if waiver.advisories:  # only the advisories it names: one published later must fail again
        failing = str(finding.evidence.get("failing") or "")
        return bool(failing) and set(failing.split(", ")) <= set(waiver.advisories)
    return True
