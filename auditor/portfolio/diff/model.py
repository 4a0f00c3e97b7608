"""The result of comparing two runs: sections of changes, and the substantial-modification summary.

Every section says explicitly whether it is the same, changed, or not recorded on one side: a
section whose evidence is missing is never shown as "no change". A `Change` is one line of a
section: something added, removed or changed, something that differs but within its tolerance or
intervals ("within"), or evidence that is not recorded ("missing"). Values are text as a reader
sees them; renderers only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DIFF_KIND = "auditor.run-diff"
DIFF_VERSION = "1.0"

State = Literal["same", "changed", "not recorded in A", "not recorded in B", "not recorded in A or B"]
ChangeKind = Literal["added", "removed", "changed", "within", "missing", "note"]
# Kinds that make a section "changed"; "within" (inside a tolerance or the intervals) does not.
CHANGING: tuple[ChangeKind, ...] = ("added", "removed", "changed")

SECTION_TITLES: dict[str, str] = {
    "project": "Project and intended use",
    "code": "Code",
    "environment": "Environment",
    "hardware": "Hardware",
    "data": "Data and models",
    "params": "Parameters",
    "metrics": "Metrics",
    "fairness": "Fairness",
    "findings": "Findings",
}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    what: str  # e.g. "package numpy", "commit", "dataset raw (input)"
    a: str | None = None  # A's value as text; None when A has none
    b: str | None = None
    detail: str | None = None  # why, e.g. "outside tolerance rel:1e-06, abs:1e-09"
    missing_in: Literal["A", "B", "A and B"] | None = None  # for kind "missing"


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    state: State
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for change in self.changes:
            found[change.kind] = found.get(change.kind, 0) + 1
        return found


def section(name: str, changes: list[Change], notes: tuple[str, ...] = ()) -> Section:
    """A section with its state decided from its changes: changed when anything was added, removed
    or changed; else not recorded (in A, B or both) when evidence is missing; else the same."""
    if any(c.kind in CHANGING for c in changes):
        state: State = "changed"
    else:
        sides = {c.missing_in for c in changes if c.kind == "missing"}
        if not sides:
            state = "same"
        elif sides == {"A"}:
            state = "not recorded in A"
        elif sides == {"B"}:
            state = "not recorded in B"
        else:
            state = "not recorded in A or B"
    ordered = sorted(changes, key=lambda c: _RANK[c.kind])  # stable: each section's own order within a rank
    return Section(name, SECTION_TITLES[name], state, tuple(ordered), notes)


# Most important first: differences, then what cannot be compared, then what is inside its bounds.
_RANK = {"added": 0, "removed": 0, "changed": 0, "missing": 1, "within": 2, "note": 3}


Criterion = Literal["training data", "model type", "intended purpose"]
Indicated = Literal["indicated", "not indicated", "could not tell"]


@dataclass(frozen=True)
class Indication:
    """One criterion of a substantial modification (EU AI Act, Article 3(23)) and its evidence."""

    criterion: Criterion
    verdict: Indicated
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class RunSide:
    run_id: str
    project: str
    name: str | None
    status: str
    started_at: datetime
    record_sha256: str
    verdict: str  # the check's verdict with the policy used


@dataclass(frozen=True)
class RunDiff:
    a: RunSide
    b: RunSide
    sections: tuple[Section, ...]
    substantial: tuple[Indication, ...]
    policy: str  # the packs both runs were checked against
    tolerances: dict[str, str] = field(default_factory=dict)  # metric name ('*': any other) -> "rel:X, abs:Y"

    @property
    def differs(self) -> bool:
        """True when any section is not the same (changed, or not recorded on a side)."""
        return any(s.state != "same" for s in self.sections)

    @property
    def substantial_indicated(self) -> bool:
        return any(i.verdict == "indicated" for i in self.substantial)
