"""The `github` format within GitHub's annotation limits, and the step summary's Markdown escaping."""

from __future__ import annotations

import re

import markdown_it

from auditor.record.findings import Finding, FindingLocation
from auditor.render.github import PER_JOB, PER_LEVEL, markdown_text, render_github, render_step_summary
from tests.render.test_formats import NASTY, make_report, parse_command


def many(count: int, severity: str, outcome: str = "fail") -> tuple[Finding, ...]:
    return tuple(
        Finding(rule_id=f"R-{severity}", severity=severity, subject=f"dataset:d{i:03}", outcome=outcome,
                message=f"{severity} problem {i}", location=FindingLocation(path="auditor.yaml", line=i + 1))
        for i in range(count)
    )  # fmt: skip


def test_critical_findings_survive_the_cut_and_the_cut_is_said() -> None:
    # 30 low failures printed first by rule id would once have hidden every critical one.
    findings = many(30, "low") + many(12, "critical") + many(15, "medium")
    waived = tuple(f.model_copy(update={"outcome": "waived", "waiver": "W"}) for f in many(14, "high"))  # notices
    report = make_report().model_copy(update={"findings": findings + waived, "warnings": ()})
    lines = render_github(report).splitlines()
    parsed = [parse_command(line) for line in lines]
    levels = [name for name, _, _ in parsed]
    assert levels.count("error") == PER_LEVEL and levels.count("warning") == PER_LEVEL
    assert levels.count("notice") <= PER_LEVEL and len(lines) <= PER_JOB
    errors = [message for name, _, message in parsed if name == "error"]
    assert errors == [f"critical problem {i}" for i in range(10)]  # critical first: none cut for a low one
    warnings = [message for name, _, message in parsed if name == "warning"]
    assert warnings == [f"medium problem {i}" for i in range(10)]  # medium before low
    overflow = parsed[-2]
    left_out = len(findings) + len(waived) - (len(lines) - 2)
    assert overflow[0] == "notice" and overflow[2].startswith(f"{left_out} more annotations left out")
    assert parsed[-1][1] == {"title": "auditor check"}


def test_nothing_cut_means_no_overflow_line() -> None:
    text = render_github(make_report())
    assert "left out" not in text


def test_every_message_is_escaped_in_every_annotation() -> None:
    odd = NASTY + "\r\n::error::forged"
    findings = tuple(
        f.model_copy(update={"message": f.message + odd, "subject": f.subject + ",x:y"}) for f in many(25, "high")
    )
    report = make_report().model_copy(update={"findings": findings, "warnings": (odd,)})
    for line in render_github(report).splitlines():
        assert re.fullmatch(r"::(error|warning|notice)( [^:]*)?::[^\r\n]*", line), line
        _, props, _ = parse_command(line)  # a property list that `,` or `:` in the subject could not split
        assert set(props) <= {"file", "line", "title"}


def test_markdown_text_is_literal() -> None:
    hostile = "x | y ![i](https://evil.example/a.png) <img src=x onerror=alert(1)> **b** [l](javascript:alert(1))\n# h"
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(f"| a |\n|---|\n| {markdown_text(hostile)} |\n")
    assert "<img" not in html and "<a " not in html and "<strong>" not in html and "<h1>" not in html
    assert html.count("<td>") == 1  # the pipe did not open a second cell
    assert "x | y" in html.replace("&lt;", "<").replace("&gt;", ">")


def test_step_summary_fits_the_limit_and_says_what_was_left_out() -> None:
    report = make_report().model_copy(update={"findings": many(500, "high")})
    text = render_step_summary(report, limit=8_000)
    assert len(text.encode()) <= 8_000
    kept = text.count("| high | fail |")
    assert 0 < kept < 500 and f"{500 - kept} more findings left out" in text
    assert render_step_summary(report).count("| high | fail |") == 500
