"""The terminal view of a check: the verdict first, then what needs attention, then every rule.

Passing subjects are counted, not listed (a run has thousands of packages); every failure,
waiver, inconclusive and "could not evaluate" is listed with its subject, so nothing that matters is hidden.
"""

from __future__ import annotations

from auditor.check.report import CheckReport, Result
from auditor.record.findings import Finding, tallies_by_rule, tally
from auditor.render.bounds import bounded, first
from auditor.text import NOT_APPLICABLE, clip, table

_LABEL = {
    "fail": "FAIL",
    "inconclusive": "INCONCLUSIVE",
    "could_not_evaluate": "COULD NOT EVALUATE",
    "waived": "waived",
    "pass": "pass",
    "not_applicable": "n/a",
}
_ATTENTION = ("fail", "inconclusive", "could_not_evaluate", "waived")
_MESSAGE_WIDTH = 110


def render_text(report: CheckReport) -> str:
    lines = [
        f"auditor check: run {bounded(report.run.run_id)} ({bounded(report.run.project or '-')}, {report.run.status})",
        f"  record    {bounded(report.run.record_path)} (sha256 {report.run.record_sha256[:16]}...)",
        f"  packs     {bounded(_packs(report))}; fail on {report.fail_on} and above",
        f"  policy    {bounded(report.config) if report.config else 'no auditor.yaml: the options and defaults only'}",
    ]
    lines += _vuln_lines(report)
    lines += [f"  override  {o.rule_id}: {_changes(o.changed)} ({bounded(o.reason)})" for o in report.overrides]
    lines += ["", _verdict_line("VERDICT", report.with_waivers)]
    if report.waivers is not None:
        lines.append(_verdict_line("without waivers", report.without_waivers))
    attention = [f for f in report.findings if f.outcome in _ATTENTION]
    if attention:
        lines += ["", "Needs attention", _findings_table(attention)]
    lines += ["", "Rules", _rules_table(report)]
    if report.clauses:
        rows = [[c.pack, bounded(c.id), c.status.replace("_", " "), bounded(c.title)] for c in report.clauses]
        lines += ["", "Clauses", table(["PACK", "CLAUSE", "STATUS", "TITLE"], rows)]
    if report.waivers is not None:
        w = report.waivers
        lines += [
            "",
            f"Waivers ({bounded(w.file)}): used {_ids(w.used)}; unused {_ids(w.unused)}; expired {_ids(w.expired)}"
            + (f"; covering only part of a finding {_ids(w.partial)}" if w.partial else ""),
        ]
    lines += [f"warning: {bounded(text)}" for text in report.warnings]
    return "\n".join(lines) + "\n"


def _packs(report: CheckReport) -> str:
    return ", ".join(f"{p.name} v{p.version}" for p in report.packs)


def _vuln_lines(report: CheckReport) -> list[str]:
    v = report.vulnerabilities
    if v is None:
        return []
    dated = f"dated {v.date}" + (f", {v.age_days} days old" if v.age_days is not None else "") if v.date else "undated"
    counts = v.package_counts()
    line = (
        f"  vulns     {v.source} {bounded(v.location)} ({dated}): {counts['vulnerable']} vulnerable, "
        f"{counts['clean']} clean, {counts['not_audited']} not audited of {len(v.packages)} packages"
    )
    if v.error:
        return [line, f"  vulns     source failed: {bounded(v.error)}"]
    return [line] + ([f"  vulns     incomplete: {bounded(v.incomplete)}"] if v.incomplete else [])


def _verdict_line(label: str, result: Result) -> str:
    t = result.totals
    failing = ", ".join(f"{n} {s}" for s, n in t.failing_by_severity.items() if n) or "none"
    counts = ", ".join(f"{n} {_LABEL[o]}" for o, n in t.outcomes.items() if n)
    return (
        f"{label}: {result.verdict.replace('_', ' ').upper()} (exit {result.exit_code}); failing: {failing}; {counts}"
    )


def _findings_table(findings: list[Finding]) -> str:
    order = {o: i for i, o in enumerate(_ATTENTION)}
    shown, note = first(sorted(findings, key=lambda f: (order[f.outcome], f.rule_id, f.subject)), "findings")
    rows = [
        [f.rule_id, f.severity, _LABEL[f.outcome], bounded(f.subject), clip(bounded(f.message), _MESSAGE_WIDTH)]
        for f in shown
    ]
    listed = table(["RULE", "SEVERITY", "OUTCOME", "SUBJECT", "WHY"], rows)
    return listed + (f"\n({note}: --format json lists them all)" if note else "")


def _rules_table(report: CheckReport) -> str:
    rows = []
    tallies = tallies_by_rule(report.findings)
    for rule in report.rules:
        mine = tallies.get(rule.id) or tally(())
        shown = ", ".join(f"{n} {_LABEL[o]}" for o, n in mine.items() if o != "not_applicable")
        rows.append([rule.id, rule.severity, _LABEL[mine.worst], shown or NOT_APPLICABLE, bounded(rule.title)])
    return table(["RULE", "SEVERITY", "RESULT", "SUBJECTS", "TITLE"], rows)


def _changes(changed: dict[str, str]) -> str:
    return ", ".join(f"{k} = {bounded(v)}" for k, v in sorted(changed.items()))


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(bounded(i) for i in ids) or "none"


def terminal_notes(report: CheckReport, fmt: str, to_file: bool) -> list[str]:
    """What a person watching the terminal must see even when the report goes elsewhere."""
    notes = []
    v = report.vulnerabilities
    if v is not None and v.error:
        notes.append(f"vulnerability source failed: {bounded(v.error)}")
    if fmt != "text" or to_file:
        notes += [f"warning: {bounded(w)}" for w in report.warnings]
        result = report.with_waivers
        notes.append(f"verdict: {result.verdict} (exit {result.exit_code})")
    elif v is not None and v.incomplete:  # in the text too, but a source that covers too little must be seen
        notes += [f"warning: {bounded(w)}" for w in report.warnings if v.incomplete in w]
    return notes
