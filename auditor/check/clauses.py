"""Clause by clause: whether a run's findings show each mapped clause is met.

A clause is satisfied only when every finding of its rules passes (or does not
apply); evidence that could not be evaluated, or was inconclusive, never counts towards "satisfied". A clause
that needs evidence from outside a run (`Clause.outside_run`) is "not evidenced" whatever
the run's findings are: a training run cannot show, say, a deployed system's logging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from auditor.check.packs import Clause
from auditor.record.findings import Finding

ClauseStatus = Literal[
    "satisfied", "partial", "missing", "waived", "inconclusive", "could_not_evaluate", "not_evidenced"
]


@dataclass(frozen=True)
class ClauseResult:
    clause: Clause
    status: ClauseStatus
    counts: dict[str, int]


def clause_status(findings: Sequence[Finding], clause: Clause) -> ClauseResult:
    if clause.outside_run is not None:
        return ClauseResult(clause=clause, status="not_evidenced", counts={})
    mine = [f for f in findings if f.rule_id in clause.rules]
    outcomes = ("pass", "fail", "inconclusive", "waived", "could_not_evaluate")
    counts = {o: sum(1 for f in mine if f.outcome == o) for o in outcomes}
    status: ClauseStatus
    if not mine or (counts["could_not_evaluate"] and not counts["fail"]):
        status = "could_not_evaluate"
    elif counts["inconclusive"] and not counts["fail"]:
        status = "inconclusive"
    elif counts["fail"]:
        status = "partial" if counts["pass"] or counts["waived"] else "missing"
    elif counts["waived"]:
        status = "waived"
    else:
        status = "satisfied"
    return ClauseResult(clause=clause, status=status, counts=counts)


def clause_table(findings: Sequence[Finding], clauses: Sequence[Clause]) -> list[ClauseResult]:
    return [clause_status(findings, clause) for clause in clauses]
