"""The verdict page: ready for sign-off or not, what blocks it, what was not checked, who acts.

A reader who stops after this page must know what to do: every blocker in plain words with its
owner and its fix, every check that was not performed with the reason and the command or field
that supplies it, and the counts per severity and outcome.
"""

from __future__ import annotations

from collections import Counter

from auditor.check.report import CheckReport
from auditor.record import Missing, RunRecord
from auditor.record.findings import Finding
from auditor.render.dossier.views_verdict import Blocker, NotPerformed, VerdictPage
from auditor.vocabulary import OUTCOMES, SEVERITY_ORDER, at_least

# Outcomes that keep a run from sign-off when at or above the threshold, besides failures.
NOT_ESTABLISHED = frozenset(o for o in OUTCOMES if o not in ("fail", "waived", "pass", "not_applicable"))
UNEVALUATED_REMEDY = "Supply the missing evidence named in the reason, then run `auditor check` again."
NO_OWNER = "not declared (set project.owner in auditor.yaml)"


def verdict_page(record: RunRecord, report: CheckReport, limit: int = 20) -> VerdictPage:
    findings = report.findings
    columns = tuple(o for o in OUTCOMES if o != "not_applicable")
    by_severity = Counter((f.severity, f.outcome) for f in findings)
    counts = tuple((s, tuple(by_severity.get((s, o), 0) for o in columns)) for s in reversed(SEVERITY_ORDER))
    blocking = [f for f in findings if _blocks(f, report.fail_on) and f.outcome != "could_not_evaluate"]
    blocking.sort(key=lambda f: (-SEVERITY_ORDER.index(f.severity), OUTCOMES.index(f.outcome), f.rule_id, f.subject))
    owner = _owner(record)
    groups: dict[tuple[str, str, str], list[Finding]] = {}  # one row per rule and cause
    for f in blocking:
        groups.setdefault((f.rule_id, f.outcome, f.message), []).append(f)
    blockers = tuple(
        Blocker(
            number=i,
            severity=same[0].severity,
            outcome=same[0].outcome,
            title=_title(report, same[0]),
            rule_id=same[0].rule_id,
            subject=", ".join(f.subject for f in same),
            subjects=tuple(f.subject for f in same),
            what=same[0].message,
            owner=owner,
            fix=_fix(report, same[0]),
        )
        for i, same in enumerate(list(groups.values())[:limit], start=1)
    )
    unevaluated = [f for f in findings if f.outcome == "could_not_evaluate"]
    ready = report.with_waivers.verdict == "compliant"
    below = sum(1 for f in findings if f.outcome == "fail" and not at_least(f.severity, report.fail_on))
    return VerdictPage(
        ready=ready,
        headline="Ready for sign-off" if ready else "Not ready for sign-off",
        reason=_reason(report, blocking, unevaluated),
        outcomes=columns,
        counts=counts,
        blockers=blockers,
        owner=owner if len({b.owner for b in blockers}) <= 1 else None,
        not_performed=_not_performed(record, report, unevaluated),
        below_threshold=below,
    )


def _blocks(finding: Finding, fail_on: str) -> bool:
    return (finding.outcome == "fail" or finding.outcome in NOT_ESTABLISHED) and at_least(
        finding.severity,
        fail_on,  # type: ignore[arg-type]
    )


def _reason(report: CheckReport, blocking: list[Finding], unevaluated: list[Finding]) -> str:
    exit_code = report.with_waivers.exit_code
    if not blocking and not unevaluated:
        return f"Every rule at or above {report.fail_on} severity passed or was waived; `auditor check` exits 0."
    parts = []
    if blocking:
        worst = Counter(f.severity for f in blocking)
        by = ", ".join(f"{worst[s]} {s}" for s in reversed(SEVERITY_ORDER) if worst[s])
        kinds = Counter(f.outcome for f in blocking)
        how = ", ".join(f"{n} {'failed' if o == 'fail' else o.replace('_', ' ')}" for o, n in kinds.items())
        parts.append(f"{_count(len(blocking), 'blocking finding')} ({how}; {by})")
    checks = {f.rule_id for f in unevaluated}
    if checks:
        causes = len({f.message for f in unevaluated})
        parts.append(f"{_count(len(checks), 'check')} not performed ({_count(causes, 'cause')})")
    return f"{' and '.join(parts)} at or above {report.fail_on} severity; `auditor check` exits {exit_code}."


def _not_performed(record: RunRecord, report: CheckReport, unevaluated: list[Finding]) -> tuple[NotPerformed, ...]:
    """One row per cause: a reason is stated once, with every rule and subject it stopped."""
    groups: dict[str, list[Finding]] = {}
    for f in unevaluated:
        groups.setdefault(f.message, []).append(f)
    rows = []
    for message, same in groups.items():
        rules = list(dict.fromkeys(f.rule_id for f in same))
        subjects = list(dict.fromkeys(f.subject for f in same))
        worst = max((f.severity for f in same), key=SEVERITY_ORDER.index)
        remedy = next((str(f.evidence["remedy"]) for f in same if f.evidence.get("remedy")), None)
        rows.append(
            NotPerformed(
                checks=tuple((_title(report, next(f for f in same if f.rule_id == r)), r) for r in rules),
                severity=worst,
                subjects=len(subjects),
                why=message if len(subjects) == 1 else f"{', '.join(subjects)}: {message}",
                fix=remedy or _gap_remedy(record, message),
            )
        )
    rows.sort(key=lambda r: (-SEVERITY_ORDER.index(r.severity), r.checks[0][1]))
    return tuple(rows)


def _gap_remedy(record: RunRecord, message: str) -> str:
    tool = record.origin.tool if record.origin.kind == "ingested" else None
    if tool and any(s in message for s in (f"not captured by {tool}", "not recorded by", "ingested from")):
        return (
            f"{tool} did not record this. Run the training under auditor (`auditor run -- COMMAND`) to capture "
            "it, or accept the gap with a waiver that says why."
        )
    return UNEVALUATED_REMEDY


def _title(report: CheckReport, finding: Finding) -> str:
    rule = report.rule(finding.rule_id)
    return rule.title if rule else finding.rule_id


INCONCLUSIVE_REMEDY = (
    "Not shown either way: collect more held-out data for the groups named (a narrower interval settles it), "
    "or document why the bound does not apply to this use (a waiver with its justification)."
)


def _fix(report: CheckReport, finding: Finding) -> str:
    remedy = finding.evidence.get("remedy")
    if remedy:
        return str(remedy)
    if finding.outcome == "inconclusive":  # the rule's remedy is for a breach, which was not established
        return INCONCLUSIVE_REMEDY
    rule = report.rule(finding.rule_id)
    return rule.remediation if rule else ""


def _owner(record: RunRecord) -> str:
    lineage = record.lineage
    owner = lineage.project.owner if lineage is not None and not isinstance(lineage, Missing) else None
    return owner or NO_OWNER


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
