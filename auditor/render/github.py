"""GitHub Actions workflow commands, so failures show as annotations on the workflow run.

The runner reads a command from any line of a step's output that starts with `::`. Text
from a record, pack or waiver must therefore never start a line of its own: escaping CR and
LF (and `%`, so escapes cannot be forged) keeps all of it inside the one command this module
writes, after `::error`/`::warning`/`::notice`. That also defeats `::stop-commands::TOKEN`
and `::add-mask::` tricks, which act only at the start of a line. Property values are
further cut at `:` and `,`, so untrusted text cannot end the property list early (`::`) or
add properties of its own (`,`).
"""

from __future__ import annotations

from auditor.check.report import CheckReport
from auditor.record.findings import Finding
from auditor.render.json_report import scrub_text
from auditor.vocabulary import OUTCOMES

ERROR_SEVERITIES = frozenset({"critical", "high"})


def escape_data(text: str) -> str:
    # `%` first, so the escapes added after it are not escaped again.
    return scrub_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(report: CheckReport) -> str:
    lines = [line for finding in report.findings if (line := _annotation(report, finding))]
    lines += [command("notice", warning, title="auditor warning") for warning in report.warnings]
    lines.append(command("notice", summary(report), title="auditor check"))
    return "\n".join(lines) + "\n"


def _annotation(report: CheckReport, finding: Finding) -> str | None:
    where = {"file": report.location, "line": "1", "title": f"{finding.rule_id} {finding.subject}"}
    if finding.outcome == "fail":
        return command("error" if finding.severity in ERROR_SEVERITIES else "warning", finding.message, **where)
    if finding.outcome == "inconclusive":
        return command("warning", f"inconclusive: {finding.message}", **where)
    if finding.outcome == "could_not_evaluate":
        return command("warning", f"could not evaluate: {finding.message}", **where)
    if finding.outcome == "waived":
        return command("notice", f"waived by {finding.waiver}: {finding.message}", **where)
    return None  # pass and not_applicable: nothing to point at


def summary(report: CheckReport) -> str:
    outcomes = report.with_waivers.totals.outcomes
    order = [*OUTCOMES, *sorted(set(outcomes) - set(OUTCOMES))]
    counts = ", ".join(f"{outcomes[key]} {key.replace('_', ' ')}" for key in order if outcomes.get(key))
    text = f"{report.with_waivers.verdict} (exit {report.with_waivers.exit_code}); {counts or 'no findings'}"
    if report.without_waivers.verdict != report.with_waivers.verdict:
        text += f"; without waivers: {report.without_waivers.verdict}"
    return text
