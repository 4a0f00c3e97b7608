"""A run's times in words: file times are never the run's, an unfinished run has no end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from auditor.render.times import run_times, span
from tests.factories import make_record

START = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
END = datetime(2021, 3, 9, 1, 2, 3, tzinfo=UTC)


def test_observed_times_are_shown_as_they_are() -> None:
    identity = make_record(started_at=START, ended_at=END, duration_s=12.5, time_basis="observed").identity
    times = run_times(identity)
    assert (times.started, times.ended, times.duration, times.basis) == (
        "2021-03-04 05:06:07 UTC",
        "2021-03-09 01:02:03 UTC",
        "12.5 s",
        None,
    )
    assert span(times, "succeeded") == "2021-03-04 05:06:07 UTC to 2021-03-09 01:02:03 UTC (succeeded)"


def test_commit_dates_are_labelled_and_have_no_duration() -> None:
    note = "dvc.lock last changed by 1a2b3c4 on 2021-03-09 (stage train)"
    identity = make_record(
        started_at=START, ended_at=END, duration_s=410000.0, time_basis="git_commit", time_note=note
    ).identity
    times = run_times(identity, "DVC")
    assert times.started == "2021-03-04 05:06:07 UTC" and times.duration == "not recorded by DVC"
    assert times.basis == f"commit dates from the git history, not the run's own clock ({note})"


def test_file_times_are_never_the_runs() -> None:
    identity = make_record(
        started_at=START, ended_at=END, duration_s=3.0, time_basis="file_mtime", time_note="no git history"
    ).identity
    times = run_times(identity, "DVC")
    assert not times.known and times.started == times.ended == times.duration == "not recorded by DVC"
    assert "2021" not in span(times, "succeeded") and times.basis is not None and "no git history" in times.basis


def test_an_unfinished_run_has_no_end() -> None:
    identity = make_record(
        started_at=START, ended_at=None, duration_s=None, status="unfinished", exit_code=None, time_basis="recorded"
    ).identity
    times = run_times(identity, "MLflow")
    assert (times.ended, times.duration, times.finished) == ("not recorded (unfinished)", "unknown", False)
    assert times.basis == "as MLflow recorded them"
    assert span(times, "unfinished") == "started 2021-03-04 05:06:07 UTC; no end recorded (unfinished)"


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "unfinished", "ended_at": END, "duration_s": 1.0},
        {"status": "succeeded", "ended_at": None, "duration_s": None},
        {"status": "unfinished", "ended_at": None, "duration_s": 1.0},
    ],
)
def test_an_end_exactly_when_finished(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly when the status is unfinished"):
        make_record(started_at=START, **fields)
