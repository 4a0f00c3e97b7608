"""Appending the check's Markdown summary to `$GITHUB_STEP_SUMMARY`, the file GitHub Actions
shows on the workflow run's summary page. Only when that variable is set (a GitHub Actions step).

The file is the runner's, shared by everything the step runs: auditor only appends, within what
is left of GitHub's 1 MiB per step. It is a courtesy, not the check's result: a summary that
cannot be written is one warning line, and the check's exit code stays what the findings say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from auditor.check.report import CheckReport

ENV = "GITHUB_STEP_SUMMARY"
MIN_ROOM = 4096  # bytes: below this, a summary would be only its heading


def append_step_summary(report: CheckReport, env: Mapping[str, str]) -> str | None:
    """Append the summary when `$GITHUB_STEP_SUMMARY` names a file; a warning to print when it cannot."""
    target = env.get(ENV)
    if not target:
        return None
    from auditor.render.github import SUMMARY_LIMIT, render_step_summary

    path = Path(target)
    try:
        used = path.stat().st_size if path.exists() else 0
        room = SUMMARY_LIMIT - used
        if room < MIN_ROOM:
            return f"${ENV} ({path}) is nearly full ({used} bytes): no summary appended"
        text = render_step_summary(report, limit=room)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if used else "") + text)
    except OSError as exc:
        return f"cannot append to ${ENV} ({path}): {exc.strerror or exc}"
    return None
