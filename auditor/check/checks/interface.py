"""What a built-in check is: a name, a parameters model and a function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditor.check.vulns.audit import VulnAudit
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import Verdict


class NoParams(Frozen):
    """For checks that take no parameters: any given is an error at load time."""


MAX_CUSTOM_SECONDS = 120.0  # every custom (CEL) rule of one `auditor check`, together


@dataclass
class Allowance:
    """Wall-clock seconds that the custom rules of one `auditor check` may still spend together:
    each rule has its own budget too, but a pack of a thousand costly rules must not add up to hours."""

    seconds: float = MAX_CUSTOM_SECONDS
    spent: float = 0.0


@dataclass(frozen=True)
class CheckContext:
    """What a check may use beyond the record: evidence gathered once per `auditor check`.

    `vulns` is the vulnerability audit of the record's packages, or None when no rule asked for one.
    """

    today: date
    vulns: VulnAudit | None = None
    custom: Allowance = field(default_factory=Allowance)


@dataclass(frozen=True)
class CheckDef:
    kind: str
    params: type[Frozen]
    run: Callable[[RunRecord, Any, CheckContext], Sequence[Verdict]]
    summary: str
    needs_vulns: bool = False


def cannot(subject: str, why: str) -> Verdict:
    return Verdict(subject=subject, outcome="could_not_evaluate", message=why)


def missing(subject: str, what: str, section: Missing | None) -> Verdict:
    """The record has no evidence for this check: say which and why, never pass."""
    reason = section.reason if section is not None else "absent from this record (schema 1.0)"
    return cannot(subject, f"{what} not captured: {reason}")
