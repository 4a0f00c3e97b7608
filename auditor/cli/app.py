"""The Typer app, the options several commands share, and `main`: the one place where an
`AuditorError` becomes one line on stderr and its documented exit code."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from auditor import __version__
from auditor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, AuditorError, UsageError

if TYPE_CHECKING:
    from auditor.capture.collect.probe_runner import RunningProbe

app = typer.Typer(
    name="auditor",
    help="Make machine-learning runs auditable: capture, check, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Run store folder [default: $AUDITOR_STORE or ./.auditor]", show_default=False),
]


def store_path(store: Path | None) -> Path:
    from auditor.store.runs import default_store_path

    return store if store is not None else default_store_path(Path.cwd())


def one_shot() -> None:
    """check, report and demo build large object graphs (a record of 10,000 datasets is millions of
    objects) that live until exit: the cyclic collector would only rescan them, tripling the time."""
    gc.disable()


def choice(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """auditor: execute or ingest -> run record -> check -> dossier."""


# `auditor run` starts the environment probe in the command's interpreter before the
# argument parser and auditor's models load (~0.3 s), so the two overlap; `run`
# takes the probe only if it was started for exactly its command, folder and env.
EARLY_PROBE: dict[str, RunningProbe] = {}


def _start_probe_early(args: list[str]) -> None:
    if len(args) >= 3 and args[0] == "run" and "--" in args:
        command = args[args.index("--") + 1 :]
        if command:
            from auditor.capture.collect.probe_runner import start_probe

            probe = start_probe(command, dict(os.environ), str(Path.cwd()))
            if probe is not None:
                EARLY_PROBE["run"] = probe


def main() -> NoReturn:
    """Entry point: one line and a documented exit code for every user error."""
    _start_probe_early(sys.argv[1:])
    from auditor.cli import capture, check, records  # noqa: F401 - each registers its commands

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
