"""What the verdict page shows (built by build_verdict.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Blocker:
    number: int
    severity: str
    outcome: str
    title: str  # the rule's title: what should hold
    rule_id: str
    subject: str
    subjects: tuple[str, ...]  # the subjects of the findings this row stands for
    what: str  # what was found, in the finding's own words
    owner: str
    fix: str


@dataclass(frozen=True)
class NotPerformed:
    checks: tuple[tuple[str, str], ...]  # (rule title, rule id) of every check this cause stopped
    severity: str  # the worst of those checks' severities
    subjects: int
    why: str
    fix: str


@dataclass(frozen=True)
class VerdictPage:
    ready: bool
    headline: str  # "Ready for sign-off" / "Not ready for sign-off"
    reason: str  # one sentence: why, with counts
    outcomes: tuple[str, ...]  # the outcome columns of the counts table, worst first
    counts: tuple[tuple[str, tuple[int, ...]], ...]  # per severity, most severe first: counts per outcome
    blockers: tuple[Blocker, ...]
    owner: str | None  # when every blocker has the same owner: said once, not per row
    not_performed: tuple[NotPerformed, ...]
    below_threshold: int  # failures below fail_on: not blocking, listed in the findings section

    def numbers(self) -> dict[tuple[str, str], int]:
        """(rule id, subject) -> the number of the blocker row that lists it."""
        return {(b.rule_id, s): b.number for b in self.blockers for s in b.subjects}
