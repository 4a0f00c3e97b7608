"""Reproduction verdicts as terminal lines: after `auditor reproduce`, and in `auditor show`."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.record.models import RunRecord
from auditor.text import run_outcome, safe

VERDICT_WORDS = {
    "identical": "identical: every output has the same content hash and every metric the same value",
    "equivalent": "equivalent within tolerance",
    "diverged": "diverged",
}


def render_reproduction(record: RunRecord) -> list[str]:
    repro = record.reproduction
    if repro is None:
        return [f"run {record.identity.run_id} is not a reproduction"]
    lines = [
        f"verdict: {VERDICT_WORDS[repro.verdict]}",
        f"  original     {repro.original_run_id}",
        f"  reproduction {record.identity.run_id} ({run_outcome(record.identity.status, record.identity.exit_code)})",
        f"  environment  {safe(repro.environment_check)}",
        f"  inputs       {len(repro.inputs_checked)} verified unchanged before the run"
        + (f" ({safe(', '.join(repro.inputs_checked))})" if repro.inputs_checked else ""),
    ]
    tolerances = ", ".join(f"{safe(k)} rel {v.rel:g} abs {v.abs:g}" for k, v in repro.tolerances.items())
    lines.append(f"  tolerances   {tolerances}")
    for d in repro.differences:
        mark = "within tolerance" if d.within_tolerance else "OUTSIDE tolerance" if d.kind == "metric" else "differs"
        if d.kind == "run":
            mark = "NOT REPRODUCED"
        if d.kind == "output" and d.within_tolerance:
            mark = "content differs (metrics decide)"
        lines.append(f"  {d.kind:<7} {safe(d.name)}: {short_value(d.original)} -> {short_value(d.reproduced)}  {mark}")
    return lines


def short_value(value: str) -> str:
    """Digests shortened to 16 hex digits; words and numbers whole."""
    if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256:{value[:16]}…"
    return safe(value)


def render_reproductions(reproductions: Sequence[RunRecord]) -> list[str]:
    """The verdicts of every re-run of one original, newest last."""
    if not reproductions:
        return ["Reproductions", "  none (run `auditor reproduce RUN`)"]
    lines = ["Reproductions"]
    for record in reproductions:
        repro = record.reproduction
        if repro is None:
            continue
        differing = sum(1 for d in repro.differences)
        extra = f", {differing} differences" if differing else ""
        lines.append(
            f"  {record.identity.run_id}  {repro.verdict}{extra}  ({record.identity.started_at:%Y-%m-%d %H:%M})"
        )
    return lines
