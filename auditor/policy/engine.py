"""Evaluate a pack's rules against a record. A check that raises becomes that rule's
'could not evaluate' finding and never stops the others."""

from __future__ import annotations

from auditor.policy.checks import REGISTRY
from auditor.policy.findings import Finding, Verdict
from auditor.policy.pack import Pack
from auditor.record import RunRecord


def evaluate(record: RunRecord, pack: Pack) -> list[Finding]:
    findings: list[Finding] = []
    for loaded in pack.rules:
        rule = loaded.rule
        try:
            verdicts = list(REGISTRY[rule.check.kind].run(record, loaded.params))
        except Exception as exc:  # one broken check must not hide the others' verdicts
            verdicts = [
                Verdict(
                    subject="run",
                    outcome="could_not_evaluate",
                    message=f"the check failed: {type(exc).__name__}: {exc}",
                )
            ]
        if not verdicts:
            verdicts = [Verdict(subject="run", outcome="could_not_evaluate", message="the check returned no verdict")]
        findings += [
            Finding(
                rule_id=rule.id,
                severity=rule.severity,
                subject=v.subject,
                outcome=v.outcome,
                message=v.message,
                evidence=v.evidence,
            )
            for v in verdicts
        ]
    return findings
