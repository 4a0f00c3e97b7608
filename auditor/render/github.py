"""GitHub Actions workflow commands, so failures show as annotations on the workflow run, and
the Markdown summary a step appends to `$GITHUB_STEP_SUMMARY`.

The runner reads a command from any line of a step's output that starts with `::`. Text
from a record, pack or waiver must therefore never start a line of its own: escaping CR and
LF (and `%`, so escapes cannot be forged) keeps all of it inside the one command this module
writes, after `::error`/`::warning`/`::notice`. That also defeats `::stop-commands::TOKEN`
and `::add-mask::` tricks, which act only at the start of a line. Property values are
further cut at `:` and `,`, so untrusted text cannot end the property list early (`::`) or
add properties of its own (`,`).

GitHub shows at most 10 annotations of each level per step and 50 per job, in the order they
are printed, and drops the rest silently. Annotations are therefore printed worst first
(critical failures before low ones), each level is cut at its limit here, and one notice says
how many were left out, so the cut is never silent and never hides a critical finding behind
a low one. Each annotation points at the finding's own file and line when it has one
(auditor/check/locations.py), else at no file: never at a made-up line 1.

The step summary is Markdown, which GitHub renders as HTML: every piece of run text in it has
its ASCII punctuation backslash-escaped (CommonMark makes any escaped punctuation literal, so
no link, image, HTML tag, table cell break or emphasis can come from a record) and its line
breaks flattened. It is cut to stay under GitHub's 1 MiB per step, saying how many rows were left out.
"""

from __future__ import annotations

import re

from auditor.check.report import CheckReport
from auditor.record.findings import Finding
from auditor.text import json_text
from auditor.vocabulary import OUTCOMES, SEVERITY_ORDER

ERROR_SEVERITIES = frozenset({"critical", "high"})
PER_LEVEL = 10  # annotations of one level (error, warning, notice) GitHub shows per step
PER_JOB = 50  # annotations of every level GitHub shows per job
SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub accepts in one step's summary
LEVELS = ("error", "warning", "notice")


def escape_data(text: str) -> str:
    # `%` first, so the escapes added after it are not escaped again.
    return json_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(report: CheckReport) -> str:
    annotations = [a for f in _worst_first(report.findings) if (a := _annotation(f)) is not None]
    annotations += [("notice", command("notice", w, title="auditor warning")) for w in report.warnings]
    kept, left_out = _cap(annotations, reserved=1)  # the summary notice below always shows
    if left_out:
        kept, left_out = _cap(annotations, reserved=2)  # and then the line saying what was cut
    lines = [line for _, line in kept]
    if left_out:
        lines.append(
            command(
                "notice",
                f"{left_out} more annotations left out (GitHub shows {PER_LEVEL} per level and step, "
                f"{PER_JOB} per job): see the step's log or the SARIF upload for all findings",
                title="auditor: annotations left out",
            )
        )
    lines.append(command("notice", summary(report), title="auditor check"))
    return "\n".join(lines) + "\n"


def _worst_first(findings: tuple[Finding, ...]) -> list[Finding]:
    """Failures first, then inconclusive, could not evaluate, waived; each by severity, critical first."""
    return sorted(
        findings, key=lambda f: (OUTCOMES.index(f.outcome), -SEVERITY_ORDER.index(f.severity), f.rule_id, f.subject)
    )


def _cap(annotations: list[tuple[str, str]], reserved: int) -> tuple[list[tuple[str, str]], int]:
    """The annotations GitHub will show, in order, with `reserved` notices kept back; and how many were cut."""
    room = {"error": PER_LEVEL, "warning": PER_LEVEL, "notice": PER_LEVEL - reserved}
    total = PER_JOB - reserved
    kept = []
    for level, line in annotations:
        if room[level] > 0 and total > 0:
            room[level] -= 1
            total -= 1
            kept.append((level, line))
    return kept, len(annotations) - len(kept)


def _annotation(finding: Finding) -> tuple[str, str] | None:
    where: dict[str, str] = {}
    if finding.location is not None:
        where["file"] = finding.location.path
        if finding.location.line is not None:
            where["line"] = str(finding.location.line)
    where["title"] = f"{finding.rule_id} {finding.subject}"
    level, text = {
        "fail": ("error" if finding.severity in ERROR_SEVERITIES else "warning", finding.message),
        "inconclusive": ("warning", f"inconclusive: {finding.message}"),
        "could_not_evaluate": ("warning", f"could not evaluate: {finding.message}"),
        "waived": ("notice", f"waived by {finding.waiver}: {finding.message}"),
    }.get(finding.outcome, (None, ""))
    if level is None:
        return None  # pass and not_applicable: nothing to point at
    return level, command(level, text, **where)


def summary(report: CheckReport) -> str:
    outcomes = report.with_waivers.totals.outcomes
    order = [*OUTCOMES, *sorted(set(outcomes) - set(OUTCOMES))]
    counts = ", ".join(f"{outcomes[key]} {key.replace('_', ' ')}" for key in order if outcomes.get(key))
    text = f"{report.with_waivers.verdict} (exit {report.with_waivers.exit_code}); {counts or 'no findings'}"
    if report.without_waivers.verdict != report.with_waivers.verdict:
        text += f"; without waivers: {report.without_waivers.verdict}"
    return text


# --- the step summary ---------------------------------------------------------------------

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_text(text: str) -> str:
    """Run text as literal Markdown inline text: one line, every ASCII punctuation mark escaped."""
    flat = re.sub(r"[\r\n\t\f\v\x00-\x1f\x7f\u2028\u2029]+", " ", json_text(text))
    return _PUNCTUATION.sub(r"\\\1", flat)


def render_step_summary(report: CheckReport, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown a step appends to $GITHUB_STEP_SUMMARY: verdict, counts, the findings that need
    attention worst first, within `limit` bytes (GitHub's cap per step, less what is already there)."""
    result = report.with_waivers
    run = report.run
    head = [
        f"## auditor check: {markdown_text(result.verdict.replace('_', ' '))} (exit {result.exit_code})",
        "",
        f"Run {markdown_text(run.run_id)}" + (f" of project {markdown_text(run.project)}" if run.project else ""),
        f"checked against {', '.join(markdown_text(p.name) for p in report.packs) or 'no pack'}, "
        f"failing at {report.fail_on} and above.",
        "",
        markdown_text(summary(report)),
        "",
    ]
    rows = [_row(f) for f in _worst_first(report.findings) if f.outcome in OUTCOMES[:4]]
    table = ["| severity | outcome | rule | subject | where | message |", "|---|---|---|---|---|---|"]
    tail = [markdown_text(w) for w in report.warnings]
    return _fit(head, table, rows, tail, limit)


def _fit(head: list[str], table: list[str], rows: list[str], tail: list[str], limit: int) -> str:
    def join(kept: list[str], left_out: int) -> str:
        body = [*table, *kept] if kept or left_out else ["Nothing needs attention."]
        more = ["", f"{left_out} more findings left out to fit GitHub's step summary limit."] if left_out else []
        warnings = ["", "### Warnings", "", *(f"- {w}" for w in tail)] if tail else []
        return "\n".join([*head, *body, *more, *warnings]) + "\n"

    size = len(join([], 0).encode()) + 200  # the lines around the rows, and the 'left out' line
    kept: list[str] = []
    for row in rows:
        size += len(row.encode()) + 1
        if size > limit:
            break
        kept.append(row)
    return join(kept, len(rows) - len(kept))


def _row(finding: Finding) -> str:
    where = ""
    if finding.location is not None:
        line = f":{finding.location.line}" if finding.location.line else ""
        where = markdown_text(f"{finding.location.path}{line}")
    cells = [
        finding.severity,
        finding.outcome.replace("_", " "),
        markdown_text(finding.rule_id),
        markdown_text(finding.subject),
        where,
        markdown_text(finding.message),
    ]
    return "| " + " | ".join(cells) + " |"
