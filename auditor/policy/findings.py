"""Findings: one rule's verdict on one subject of a run, and what it rests on.

"Could not evaluate" is an outcome of its own, never folded into pass: a CI gate
must be able to tell "compliant" from "we do not know".
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from auditor.record.base import Frozen

Outcome = Literal["pass", "fail", "waived", "not_applicable", "could_not_evaluate"]
Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: tuple[Severity, ...] = ("low", "medium", "high", "critical")

JsonScalar = str | int | float | bool | None


class Verdict(Frozen):
    """What a check says about one subject, before the engine adds the rule's identity."""

    subject: str = Field(description="What the verdict is about: 'run', 'package:numpy', 'dataset:raw', ...")
    outcome: Literal["pass", "fail", "not_applicable", "could_not_evaluate"]
    message: str
    evidence: dict[str, JsonScalar] = Field(default_factory=dict)


class Finding(Frozen):
    rule_id: str
    severity: Severity
    subject: str
    outcome: Outcome
    message: str
    evidence: dict[str, JsonScalar] = Field(default_factory=dict)
    waiver: str | None = Field(None, description="The waiver in force, when the outcome is 'waived'")


def at_least(severity: Severity, threshold: Severity) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(threshold)
