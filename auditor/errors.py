"""One root error type carrying an exit code; only the CLI turns it into a message.

Exit codes are part of auditor's contract with CI systems (see README, "Exit codes").
They never overlap "success": nothing that could not be checked exits 0.
"""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_COULD_NOT_EVALUATE = 3
# evidence that does not verify: a record not in the store's log, a rewritten log, a bad bundle or signature
EXIT_UNVERIFIED = 4
EXIT_INTERNAL = 70
EXIT_NOT_RECORDED = 74  # sysexits' EX_IOERR: the run store could not be written during a run
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_TIMEOUT = 124
EXIT_ENGINE = 125
EXIT_INTERRUPTED = 130


class AuditorError(Exception):
    """Base of every error auditor reports to a user as one line."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(AuditorError):
    """Bad command-line usage or bad input supplied by the user."""

    exit_code = EXIT_USAGE


class InvalidRecordError(UsageError):
    """A stored run record that cannot be read: bad JSON, wrong types, unknown version."""

    def __init__(self, path: str, field: str | None, problem: str) -> None:
        where = f"{path}: field {field}: " if field else f"{path}: "
        super().__init__(where + problem)
        self.path = path
        self.field = field
        self.problem = problem


class RunNotFoundError(UsageError):
    """A run reference that matches no run, or more than one."""


class StoreError(UsageError):
    """The run store cannot be created, read or written."""


class StoreWriteError(AuditorError):
    """The run store failed under a run (disk full, I/O error, read-only): the command was
    stopped or had ended, and its record is either absent or incomplete; the message says
    which. Never exit 0 and never a usage error: the command may have run, with its effects."""

    exit_code = EXIT_NOT_RECORDED


class CouldNotEvaluateError(AuditorError):
    """Something required could not be checked; never reported as a pass."""

    exit_code = EXIT_COULD_NOT_EVALUATE


class IngestError(UsageError):
    """The source cannot be read: one line naming the file (or URI) and the field. Exit 2."""

    def __init__(self, where: str | os.PathLike[str], field: str | None, problem: str) -> None:
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")
        self.where = str(where)
        self.field = field
        self.problem = problem


class EvidenceError(AuditorError):
    """Evidence that does not verify: a record whose bytes are not the ones the store's log holds,
    a log that was rewritten, a bundle, signature or sign-off that does not check out. One line
    naming the file and the reason; never a verdict or a dossier from such evidence. Exit 4."""

    exit_code = EXIT_UNVERIFIED
