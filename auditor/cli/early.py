"""What the command line does before the argument parser and auditor's models load.

The environment probe and git's reading: `auditor run` starts the probe in the command's interpreter
and reads git on a thread first (~0.3 s of imports follow), so they overlap; `run` takes the probe
only if it was started for exactly its command, folder and env, and the git reading only for its
folder and env (capture/collect/gitread.py).

Pydantic plugins: none are loaded (see without_pydantic_plugins).

The cyclic garbage collector: paused while a command starts up (see pause_collection_for_start_up).

The plain form of `auditor run`: `auditor [-q|-v] run [--name X] [--project X] [--store DIR] --
COMMAND...` with no variable that could set an option, read here as Typer would read it, so `run`
starts without importing Typer and building its parser (0.04-0.06 s of CPU before the command
starts). Anything else (help, another option, a value Typer might refuse or read otherwise, an
AUDITOR_ variable that may set an option, a completion request) is left to Typer, whose help,
errors and variables therefore stay the only ones; tests/test_cli_plain_run.py holds the two
readings to each other.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from auditor.capture.collect.probe_runner import RunningProbe

EARLY_PROBE: dict[str, RunningProbe] = {}
START_UP: dict[str, bool] = {}  # "collection paused": by pause_collection_for_start_up, until start_up_done

ROOT_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}
RUN_OPTIONS = ("--name", "--project", "--store")
# AUDITOR_ variables that are no option's variable (`run` or other parts of auditor read them
# themselves): any other AUDITOR_ variable may set an option, and leaves the command line to Typer.
NOT_OPTIONS = frozenset(
    {
        "AUDITOR_ACCESS_DIR",
        "AUDITOR_API_FALLBACK",
        "AUDITOR_ARTIFACTS",
        "AUDITOR_CACHE_DIR",
        "AUDITOR_ENV_ALLOW",
        "AUDITOR_EVENTS",
        "AUDITOR_INDEX_URL",
        "AUDITOR_SECRET_FLAGS",
        "AUDITOR_STOP_GRACE_S",
    }
)


PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"


def pause_collection_for_start_up() -> None:
    """Start-up (importing auditor, pydantic and the modules a command uses; creating their classes)
    makes long-lived objects, a few hundred thousand, and next to no garbage: the cyclic garbage
    collector's ~90 passes over them are wasted, ~20 ms of CPU of `auditor run -- python3 -c pass`.
    Paused from the start of `main` until the command's own work begins (start_up_done); a command
    that ends before, as `--help` does, never collects."""
    if gc.isenabled():
        gc.disable()
        START_UP["collection paused"] = True


def start_up_done() -> None:
    """The collector runs again, if start-up paused it. What start-up made goes straight to the
    oldest generation, as after surviving two collections (freeze, then unfreeze, as capture/heap.py
    does), so the frequent young passes never walk it; not while someone else holds objects frozen,
    so as not to thaw them. Called again, or without the pause, it does nothing."""
    if not START_UP.pop("collection paused", False):
        return
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()


def without_pydantic_plugins() -> None:
    """Build auditor's models with no third-party pydantic plugin: none may see or change the values
    of a record (a plugin is handed every value validated), and looking for them scans the entry
    points of every installed distribution (importlib.metadata and email imported, 0.02-0.03 s of
    CPU before the first model is built). Pydantic's own switch, PYDANTIC_DISABLE_PLUGINS, is an
    environment variable: set here it would reach the commands `run` starts, and their records.

    Pydantic asks its loader module for the plugins each time it builds a validator; this puts a
    loader that has none in its place. Should pydantic move its loader, this does nothing (the
    plugins are looked for, and loaded, as before). Only the command line calls this."""
    if PYDANTIC_PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(
        PYDANTIC_PLUGIN_LOADER, "No pydantic plugins for auditor's models (auditor/cli/early.py)."
    )
    loader.__dict__["get_plugins"] = _no_plugins
    sys.modules[PYDANTIC_PLUGIN_LOADER] = loader


def _no_plugins() -> tuple[()]:
    return ()


def start_probe_early(args: list[str]) -> None:
    if len(args) >= 3 and args[0] == "run" and "--" in args:
        command = args[args.index("--") + 1 :]
        if command:
            from auditor.capture.collect.probe_runner import start_probe

            probe = start_probe(command, dict(os.environ), str(Path.cwd()), at_start=True)
            if probe is not None:
                EARLY_PROBE["run"] = probe
            # after the probe, which may read this process's sys.path as it started (probe_runner.py)
            from auditor.capture.collect import gitread

            gitread.start_early(Path.cwd())


@dataclass(frozen=True)
class PlainRun:
    """`auditor run`'s arguments, as Typer would pass them (the options not given at their defaults)."""

    command: list[str]
    name: str | None = None
    project: str | None = None
    store: Path | None = None
    quiet: bool = False
    verbose: bool = False


def plain_run(args: Sequence[str], env: Mapping[str, str]) -> PlainRun | None:
    """The plain form of `auditor run` (see the module's docstring), or None: Typer reads the rest."""
    if os.name == "nt":  # where Typer expands wildcards in the arguments itself
        return None
    for variable in env:
        if variable.startswith("AUDITOR_") and variable not in NOT_OPTIONS:
            return None
        if variable.startswith("_") and variable.endswith("_COMPLETE"):  # shell completion asks Typer
            return None
    if not all(_text(arg) for arg in args):
        return None
    flags: set[str] = set()
    at = 0
    while at < len(args) and args[at] in ROOT_FLAGS:
        flags.add(ROOT_FLAGS[args[at]])
        at += 1
    if at == len(args) or args[at] != "run":
        return None
    at += 1
    values: dict[str, str] = {}
    while at < len(args) and args[at] != "--":
        option, equals, value = args[at].partition("=")
        if option not in RUN_OPTIONS or option in values:
            return None
        if not equals:
            at += 1
            if at == len(args):
                return None
            value = args[at]
        if not value or value.startswith("-"):
            return None
        values[option] = value
        at += 1
    command = list(args[at + 1 :])
    if not command:
        return None
    store = values.get("--store")
    return PlainRun(
        command=command,
        name=values.get("--name"),
        project=values.get("--project"),
        store=Path(store) if store is not None else None,
        quiet="quiet" in flags,
        verbose="verbose" in flags,
    )


def _text(arg: str) -> bool:
    """Text Typer takes as it is: no bytes that are not UTF-8 (kept as surrogates in argv)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
