"""A run's times in words, for every renderer: what the evidence says about when it ran.

Where the times come from (`identity.time_basis`) decides what is shown. A file's modification
time is never shown as the run's time (a fresh clone dates every file today), and an unfinished
run has no end: both say so instead of printing a time or a duration that would mislead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from auditor.record.models import Identity


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def short_duration(seconds: float) -> str:
    """A duration for a table column: 12.3s, 4m 05s, 3h 12m, 15d 8h."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"


def recorded_duration(duration_s: float | None, basis: str | None, tool: str | None) -> str:
    """How long a run took, in words, only when its times are its own: commit dates bound a DVC run
    and file times date nothing, so neither is shown as a duration."""
    gap = f"not recorded by {tool}" if tool else "not recorded"
    if basis in ("git_commit", "file_mtime"):
        return gap
    if duration_s is None:
        return "unknown (no end recorded)"
    return short_duration(duration_s)


@dataclass(frozen=True)
class RunTimes:
    started: str
    ended: str
    duration: str
    basis: str | None  # one sentence on where the times come from; None when auditor observed them
    known: bool  # False when no time shown is the run's own (file times only)
    finished: bool  # False for an unfinished run: no end was ever recorded


def run_times(identity: Identity, tool: str | None = None, fmt: Callable[[datetime], str] = iso) -> RunTimes:
    """STARTED, ENDED and DURATION as words, and where they come from. `tool` names the source
    tool of an ingested run ("MLflow")."""
    basis = identity.time_basis
    note = f" ({identity.time_note})" if identity.time_note else ""
    if basis == "file_mtime":
        unknown = f"not recorded by {tool}" if tool else "not recorded"
        return RunTimes(
            started=unknown,
            ended=unknown,
            duration=unknown,
            basis=f"{tool or 'The source tool'} records no run times and no history dates this run; "
            f"only file modification times exist, which are not the run's{note}",
            known=False,
            finished=identity.ended_at is not None,
        )
    started = fmt(identity.started_at)
    if identity.ended_at is None or identity.duration_s is None:
        ended = "not recorded (unfinished)"
        duration = "unknown"
    else:
        ended, duration = fmt(identity.ended_at), f"{identity.duration_s:.1f} s"
    if basis == "git_commit":  # commit dates bound the run; how long it took is not recorded
        duration = f"not recorded by {tool}" if tool else "not recorded"
    words = {
        "observed": None,
        "recorded": f"as {tool} recorded them{note}" if tool else None,
        "git_commit": f"commit dates from the git history, not the run's own clock{note}",
        None: None,
    }
    finished = identity.ended_at is not None
    return RunTimes(started, ended, duration, basis=words[basis], known=True, finished=finished)


def span(times: RunTimes, status: str) -> str:
    """One line for when a run ran: "S to E (succeeded)"; an unfinished run, or one with no
    times of its own, says so instead of giving a span."""
    if not times.known:
        return f"{times.started} ({status})"
    if not times.finished:
        return f"started {times.started}; no end recorded ({status})"
    return f"{times.started} to {times.ended} ({status})"
