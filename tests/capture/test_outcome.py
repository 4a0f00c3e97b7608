"""How a run ended decides what `auditor run` and `auditor reproduce` exit with, in one place."""

from __future__ import annotations

import pytest

from auditor.capture.outcome import exit_code, timed_out, timeout_error
from auditor.errors import EXIT_INTERRUPTED, EXIT_TIMEOUT
from tests.factories import make_record

COMPLETED = 7  # the command's own code (run) or the verdict's (reproduce)


@pytest.mark.parametrize(
    ("status", "code", "error", "timed", "exits"),
    [
        ("succeeded", 0, None, False, COMPLETED),
        ("failed", 3, None, False, COMPLETED),
        ("interrupted", EXIT_TIMEOUT, timeout_error(1), True, EXIT_TIMEOUT),
        ("interrupted", EXIT_TIMEOUT, timeout_error(2.5), True, EXIT_TIMEOUT),
        ("interrupted", EXIT_TIMEOUT, timeout_error(1e20), True, EXIT_TIMEOUT),
        ("interrupted", 143, "interrupted by SIGINT", False, EXIT_INTERRUPTED),
        ("interrupted", 130, "interrupted by SIGTERM before the command started", False, EXIT_INTERRUPTED),
        # Not a timeout unless all three say so: a command that exits 124 on Ctrl-C, a message
        # that merely begins like one, a failed run whose error says "timed out".
        ("interrupted", EXIT_TIMEOUT, "interrupted by SIGINT", False, EXIT_INTERRUPTED),
        ("interrupted", EXIT_TIMEOUT, "timed out after 1 s, and more", False, EXIT_INTERRUPTED),
        ("interrupted", 143, timeout_error(1), False, EXIT_INTERRUPTED),
        ("failed", EXIT_TIMEOUT, timeout_error(1), False, COMPLETED),
    ],
)
def test_exit_code_is_124_for_a_timeout_130_for_an_interrupt_else_the_completed_code(
    status: str, code: int, error: str | None, timed: bool, exits: int
) -> None:
    identity = make_record(status=status, exit_code=code, error=error).identity
    assert timed_out(identity) is timed
    assert exit_code(identity, COMPLETED) == exits


def test_the_timeout_error_is_the_one_the_record_keeps() -> None:
    assert timeout_error(1) == "timed out after 1 s"  # as tests/container/test_container_run.py reads it
    assert timeout_error(0.25) == "timed out after 0.25 s"
