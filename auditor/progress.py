"""Progress on stderr for the steps that can take more than a second or two (hashing, ingesting,
rendering a PDF), and the one switch that says how talkative auditor is.

Shown when stderr is a terminal (one line, rewritten in place) or with `--verbose` (plain lines,
fit for a CI log); never with `--quiet`. Never in colour, so `NO_COLOR` has nothing to strip.
Stdout is never touched: it carries the data asked for.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditor.text import safe

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["configure", "is_quiet", "is_verbose", "item", "say", "step", "wanted"]

_LEVEL = {"quiet": False, "verbose": False}
TICK_S = 0.5  # a terminal line is redrawn this often while a step runs
_CLEAR = "\r\x1b[K"  # back to the line's start and erase it (a cursor control, not a colour)


def configure(*, quiet: bool, verbose: bool) -> None:
    """Set once by the command line's global options (`--quiet` wins over `--verbose`)."""
    _LEVEL["quiet"] = quiet
    _LEVEL["verbose"] = verbose and not quiet


def is_quiet() -> bool:
    return _LEVEL["quiet"]


def is_verbose() -> bool:
    return _LEVEL["verbose"]


def _terminal() -> bool:
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed
        return False


def wanted() -> bool:
    """Whether progress goes to stderr at all."""
    return not _LEVEL["quiet"] and (_LEVEL["verbose"] or _terminal())


def _write(text: str) -> None:
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stderr never stops the work
        return


def say(text: str) -> None:
    """An informational line (`auditor: TEXT`): shown unless --quiet. Text from a run is escaped."""
    if not _LEVEL["quiet"]:
        _write(f"auditor: {safe(text)}\n")


def item(text: str) -> None:
    """One line per finished item (a run ingested): shown when progress is wanted."""
    if wanted():
        _write(f"{_CLEAR if _terminal() else ''}auditor: {safe(text)}\n")


@contextmanager
def step(label: str) -> Iterator[None]:
    """A step of unknown length: on a terminal one line with the seconds so far, redrawn until it
    ends; with --verbose and no terminal, a line when it starts and one with its duration."""
    if not wanted():
        yield
        return
    started = time.monotonic()
    label = safe(label)
    live = _terminal()
    stop = threading.Event()
    ticker = None
    if live:

        def tick() -> None:
            while not stop.wait(TICK_S):
                _write(f"{_CLEAR}auditor: {label}... {time.monotonic() - started:.0f} s")

        ticker = threading.Thread(target=tick, name="auditor-progress", daemon=True)
        ticker.start()
    else:
        _write(f"auditor: {label}...\n")
    try:
        yield
    finally:
        stop.set()
        if ticker is not None:
            ticker.join()
        elapsed = time.monotonic() - started
        if live:
            _write(_CLEAR if not _LEVEL["verbose"] else f"{_CLEAR}auditor: {label}: done in {elapsed:.1f} s\n")
        else:
            _write(f"auditor: {label}: done in {elapsed:.1f} s\n")
