"""The command line: parses arguments, hands off to one function of a stage, prints its result.

Thin on purpose. One module per stage of the flow (`capture`: run, reproduce, ingest; `records`:
runs, show, schema, init; `check`: check, report, rules, demo; `store`: log head/verify/prove, store
migrate; `evidence`: keys, approve); `app` holds the Typer app and the shared options; `commands`
is the table of every command and its module (a new command module is registered there, one line a
command), so a command imports only its own module; `main`, here,
is the one place where an `AuditorError` becomes one line on stderr and its documented exit code,
and a bug becomes exit 70 with a crash log.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import traceback
from typing import TYPE_CHECKING, NoReturn, cast

from auditor import __version__
from auditor.cli.early import (
    EARLY_PROBE,
    PlainRun,
    pause_collection_for_start_up,
    plain_run,
    start_probe_early,
    without_pydantic_plugins,
)
from auditor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, AuditorError, UsageError

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["main"]


def main() -> NoReturn:
    """Entry point: one line and a documented exit code for every user error."""
    pause_collection_for_start_up()
    args = sys.argv[1:]
    without_pydantic_plugins()
    start_probe_early(args)  # before typer and the models load, so the two overlap
    plain = plain_run(args, os.environ)
    try:
        code = _run_plain(plain) if plain is not None else _parse_and_run()
    except AuditorError as exc:
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:  # a name too long is always the user's input, wherever it was looked up
            _fail(f"internal error (a bug in auditor); details in {_crash_log()}", EXIT_INTERNAL)
        _fail(f"{exc.filename or 'a path'}: file name too long", UsageError.exit_code)
    except ModuleNotFoundError as exc:  # an optional extra not installed, reached by a path that did not ask first
        from auditor.extras import missing_message

        message = missing_message(exc.name or "")
        if message is None:
            _fail(f"internal error (a bug in auditor); details in {_crash_log()}", EXIT_INTERNAL)
        _fail(message, UsageError.exit_code)
    except Exception:
        log = _crash_log()
        _fail(f"internal error (a bug in auditor); details in {log}", EXIT_INTERNAL)
    _exit(code if isinstance(code, int) else 0)


def _parse_and_run() -> object:
    """Typer reads the command line and runs the command; its own exits and refusals end here."""
    import typer

    from auditor.cli.app import app
    from auditor.cli.commands import command_group  # commands are registered there, loaded when used

    try:
        return command_group(app).main(standalone_mode=False)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except typer.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # bad usage, reported by the argument parser
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _fail(exc.format_message(), UsageError.exit_code)
        sys.exit(UsageError.exit_code)


def _run_plain(plain: PlainRun) -> int:
    """The plain form of `auditor run` (see early.py), ended as Typer ends a command it runs."""
    from auditor import progress
    from auditor.cli.running import run_here

    try:
        progress.configure(quiet=plain.quiet, verbose=plain.verbose)  # the root options, as app._root sets them
        return run_here(plain.command, plain.name, plain.project, plain.store)
    except EOFError:
        if sys.stderr is not None:
            sys.stderr.write("\n")
        _fail("interrupted", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # Typer's parser turns it into this exit code, without a message
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper  # as Typer's parser leaves on a closed pipe

        sys.stdout = cast("TextIO", PacifyFlushWrapper(sys.stdout))
        sys.stderr = cast("TextIO", PacifyFlushWrapper(sys.stderr))
        sys.exit(1)


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
