"""Every output format auditor writes, declared once: the CLI's choices and help come from here.

A format names the module and function that render it, imported only when that format is used
(so `auditor check --format json` never loads the SARIF, JUnit or dossier code). Renderers are
pure: a report (or dossier) in, text or bytes out; the CLI writes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from auditor.errors import UsageError

if TYPE_CHECKING:
    from auditor.check.report import CheckReport


@dataclass(frozen=True)
class ReportFormat:
    """A rendering of a check report: text for a person, or a file for a CI system."""

    name: str
    summary: str
    renderer: str  # "module:function", (CheckReport) -> str

    def render(self, report: CheckReport) -> str:
        module, function = self.renderer.split(":")
        render = cast("Callable[[CheckReport], str]", getattr(importlib.import_module(module), function))
        return render(report)


@dataclass(frozen=True)
class DossierFormat:
    """A rendering of the audit dossier; the PDF is printed from the same HTML."""

    name: str
    summary: str
    file_name: str


CHECK_FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("text", "for people: the verdict, what needs attention", "auditor.render.text:render_text"),
        ReportFormat("json", "the check report as JSON (sorted keys)", "auditor.render.json_report:render_json"),
        ReportFormat(
            "sarif", "SARIF 2.1.0 for code scanning (findings to act on)", "auditor.render.sarif:render_sarif"
        ),
        ReportFormat(
            "sarif-all", "SARIF 2.1.0 with passes and not-applicables too", "auditor.render.sarif:render_sarif_all"
        ),
        ReportFormat("junit", "JUnit XML (Ant/Jenkins shape) for CI test reports", "auditor.render.junit:render_junit"),
        ReportFormat("github", "GitHub Actions workflow annotations", "auditor.render.github:render_github"),
        ReportFormat(
            "codequality",
            "GitLab Code Quality JSON for merge requests",
            "auditor.render.codequality:render_codequality",
        ),
    )
}

DOSSIER_FORMATS: dict[str, DossierFormat] = {
    f.name: f
    for f in (
        DossierFormat("html", "one self-contained HTML file (no scripts, no remote loads)", "dossier.html"),
        DossierFormat("pdf", "PDF printed from the same HTML by WeasyPrint", "dossier.pdf"),
    )
}


def check_format(name: str) -> ReportFormat:
    try:
        return CHECK_FORMATS[name]
    except KeyError:
        raise UsageError(f"--format: {name!r} is not one of {', '.join(CHECK_FORMATS)}") from None


def dossier_formats(text: str) -> tuple[str, ...]:
    """The names in `html`, `pdf` or `html,pdf` (any order, repeats ignored)."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names or any(n not in DOSSIER_FORMATS for n in names):
        raise UsageError(f"--format: {text!r}: give {', '.join(DOSSIER_FORMATS)} or {','.join(DOSSIER_FORMATS)}")
    return names
