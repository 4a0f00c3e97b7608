"""Interrupts outside the command's lifetime: remembered, never fatal half-way through a record.

During the command its executor handles SIGINT, SIGTERM and SIGHUP (stop the command, then
record). Before and after it, capture installs these handlers instead, so a signal can never
stop auditor between writing a log and committing the record.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from auditor.capture.execute.interface import HANDLED_SIGNALS


class Interrupts:
    """Signals that arrive outside the command's lifetime (the executor handles those during it).

    `received`: every one, in order. `any`: set by the first (hashing the inputs stops: nothing
    will run). `hurry`: set by a second interrupt, or by the first after the run was already
    interrupted: the evidence still being collected (output hashes, fairness) is given up and
    the record says so, so a user who presses Ctrl-C twice is not kept waiting."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.any = threading.Event()
        self.hurry = threading.Event()
        self._ended_at: int | None = None
        self._interrupted = False

    def remember(self, signum: int, _frame: FrameType | None) -> None:
        if self.received or self._interrupted:
            self.hurry.set()
        self.received.append(signal.Signals(signum).name)
        self.any.set()

    def command_ended(self, before: int, interrupted: bool) -> None:
        """`before`: how many had arrived when the command was started; later ones came after it ended."""
        late = self.received[before:]
        self._ended_at = before
        self._interrupted = interrupted or bool(late)
        if (interrupted and late) or len(late) > 1:
            self.hurry.set()

    @property
    def after_command(self) -> list[str]:
        return [] if self._ended_at is None else self.received[self._ended_at :]


@contextmanager
def deferred_signals() -> Iterator[Interrupts]:
    """Outside the command's lifetime, remember interrupts instead of dying half-way."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {sig: signal.signal(sig, interrupts.remember) for sig in HANDLED_SIGNALS}
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
