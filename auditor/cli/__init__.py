"""The command line: parses arguments, hands off to one function of a stage, prints its result.

Thin on purpose. One module per stage of the flow (`capture`: run, reproduce, ingest; `records`:
runs, show, schema, init; `check`: check, report, rules, demo; `store`: log head/verify/prove, store
migrate; `evidence`: keys, approve); `app` holds the Typer app and the shared options; `main`, here,
is the one place where an `AuditorError` becomes one line on stderr and its documented exit code,
and a bug becomes exit 70 with a crash log.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
import tempfile
import traceback
from typing import NoReturn

from auditor import __version__
from auditor.cli.early import EARLY_PROBE, start_probe_early
from auditor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, AuditorError, UsageError

__all__ = ["main"]

COMMAND_MODULES = (
    "auditor.cli.capture",
    "auditor.cli.records",
    "auditor.cli.check",
    "auditor.cli.store",
    "auditor.cli.evidence",
    "auditor.cli.notes",
    "auditor.cli.diff",
    "auditor.cli.lineage",
    "auditor.cli.portfolio",
    "auditor.cli.index",
    "auditor.cli.advisories",
)


def main() -> NoReturn:
    """Entry point: one line and a documented exit code for every user error."""
    start_probe_early(sys.argv[1:])  # before typer and the models load, so the two overlap
    import typer

    from auditor.cli.app import app

    for commands in COMMAND_MODULES:  # each registers its commands; `--help` lists them in this order
        importlib.import_module(commands)

    try:
        code = app(standalone_mode=False)
    except AuditorError as exc:
        _fail(exc.message, exc.exit_code)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except typer.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # bad usage, reported by the argument parser
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _fail(exc.format_message(), UsageError.exit_code)
        sys.exit(UsageError.exit_code)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:  # a name too long is always the user's input, wherever it was looked up
            _fail(f"internal error (a bug in auditor); details in {_crash_log()}", EXIT_INTERNAL)
        _fail(f"{exc.filename or 'a path'}: file name too long", UsageError.exit_code)
    except Exception:
        log = _crash_log()
        _fail(f"internal error (a bug in auditor); details in {log}", EXIT_INTERNAL)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """Leave without tearing the interpreter down (~0.1 s with pydantic loaded).

    Safe because everything auditor writes is already flushed and fsynced by then."""
    for probe in EARLY_PROBE.values():
        probe.cancel()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # None when started closed
            stream.flush()
    os._exit(code)


def _fail(message: str, code: int) -> NoReturn:
    from auditor.text import safe

    if sys.stderr is not None:
        sys.stderr.write(f"auditor: error: {safe(message)}\n")
    _exit(code)


def _crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="auditor-crash-", suffix=".log")
    from auditor.capture.redact import mask

    with os.fdopen(fd, "w") as handle:  # argv and messages can carry secrets: mask them here too
        handle.write(mask(f"auditor {__version__}\nargv: {sys.argv!r}\n\n{traceback.format_exc()}")[0])
    return path
