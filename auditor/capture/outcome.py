"""How a run ended, read from its record: the one place that decides what `auditor run` and
`auditor reproduce` exit with.

A timeout is recorded without a field of its own: the executor that stopped the command
writes status `interrupted`, exit code 124 and exactly `timeout_error(limit)` as the error,
and `timed_out` recognises exactly that, never a prefix of some other message.
"""

from __future__ import annotations

import re

from auditor.errors import EXIT_INTERRUPTED, EXIT_TIMEOUT
from auditor.record.models import Identity

_TIMEOUT_ERROR = re.compile(r"timed out after [0-9.e+-]+ s")


def timeout_error(limit_s: float) -> str:
    """The error an executor records for a command it stopped at its time limit."""
    return f"timed out after {limit_s:g} s"


def timed_out(identity: Identity) -> bool:
    return (
        identity.status == "interrupted"
        and identity.exit_code == EXIT_TIMEOUT
        and identity.error is not None
        and _TIMEOUT_ERROR.fullmatch(identity.error) is not None
    )


def exit_code(identity: Identity, completed: int) -> int:
    """124 when the run was stopped at its time limit, 130 when it was interrupted (Ctrl-C or a
    signal), else `completed`: the command's own code for `run`, the verdict's for `reproduce`."""
    if timed_out(identity):
        return EXIT_TIMEOUT
    if identity.status == "interrupted":
        return EXIT_INTERRUPTED
    return completed
