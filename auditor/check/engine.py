"""Evaluate a pack's rules against a record. A check that raises becomes that rule's
'could not evaluate' finding and never stops the others."""

from __future__ import annotations

from pydantic import TypeAdapter

from auditor.check.checks import REGISTRY
from auditor.check.checks.interface import CheckContext
from auditor.check.packs import Pack
from auditor.record import RunRecord
from auditor.record.findings import Finding, Verdict

_FINDINGS = TypeAdapter(list[Finding])


def evaluate(record: RunRecord, pack: Pack, context: CheckContext) -> list[Finding]:
    findings: list[dict[str, object]] = []
    for loaded in pack.rules:
        rule = loaded.rule
        try:
            verdicts = list(REGISTRY[rule.check.kind].run(record, loaded.params, context))
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
            {
                "rule_id": rule.id,
                "severity": v.severity or rule.severity,
                "subject": v.subject,
                "outcome": v.outcome,
                "message": v.message,
                "evidence": dict(v.evidence),
            }
            for v in verdicts
        ]
    return _FINDINGS.validate_python(findings)  # one call for all: 32,000 findings validate in ~0.1 s
