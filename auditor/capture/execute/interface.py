"""What every executor takes and returns, so capture does not care where a command ran.

An executor is one place a command can run (this machine, a container). Besides running the
command it answers the questions whose answer depends on that place: which folders the
command can write and as which uid (what the data capture may hash and must share), what
environment the command saw (this machine's interpreter, or the image's), and which record
section says where it ran. capture_run asks only these questions, so a new place is one new
executor (registered in registry.py), not another branch in capture.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Literal, Protocol

from auditor.capture.collect.python_env import PythonEvidence
from auditor.record.models import Container, EnvVar, Missing, OsInfo, RunStatus, SystemPackages

ExecutorName = Literal["local", "container"]  # what a record's origin.executor says
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # stop the command, then record


@dataclass(frozen=True)
class ExecutionSpec:
    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]


class StopRequest:
    """Raised by capture when the run's evidence can no longer be kept (a log cannot be written):
    the executor then stops the command as on an interrupt (SIGTERM, SIGKILL after the grace
    period) and records the run as failed, with `reason` as its error."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


class LogSink(Protocol):
    def write(self, chunk: bytes) -> None:
        """Never raises: a pump that stopped reading would block the command on a full pipe."""
        ...


@dataclass(frozen=True)
class Streams:
    """Where output goes: the live terminal and the (redacting) log files; `stop`: see StopRequest;
    `running`: set by the executor once the command runs and auditor only waits on it (see
    capture_run: work that may wait for the command starts then, off the command's way)."""

    stdout_live: IO[bytes] | None
    stderr_live: IO[bytes] | None
    stdout_log: LogSink
    stderr_log: LogSink
    stop: StopRequest = field(default_factory=StopRequest)
    running: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ExecutionResult:
    started_at: datetime
    ended_at: datetime
    exit_code: int
    status: RunStatus
    wall_s: float
    signal: str | None = None
    error: str | None = None
    user_cpu_s: float | None = None
    system_cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DataScope:
    """What the command can write, and as whom.

    `allowed_roots`: the only folders the command sees at their own paths (a logged path
    elsewhere is refused); None when it sees this whole machine. `owner`: the uid and gid that
    the folders auditor shares with the command must belong to; None when they are auditor's.
    """

    allowed_roots: tuple[Path, ...] | None = None
    owner: tuple[int, int] | None = None


@dataclass(frozen=True)
class RunEnvironment:
    """The environment the command ran in, as its executor found it.

    `system_packages` is None where it is not collected (this machine: the OS's package
    database is not the command's environment the way an image's is)."""

    python: PythonEvidence
    os: OsInfo | Missing
    system_packages: SystemPackages | Missing | None = None


class Executor(Protocol):
    name: ExecutorName

    def data_scope(self) -> DataScope:
        """May raise UsageError (an unusable --user): before anything has run."""
        ...

    def environment(self, spec: ExecutionSpec, cancel: threading.Event) -> RunEnvironment:
        """Runs beside the command, with the command as asked (no auditor hook variables);
        `cancel` set (Ctrl-C) stops it as soon as it can and says so in the evidence."""
        ...

    def environment_missing(self, why: Missing) -> RunEnvironment:
        """The evidence to record when `environment` failed or did not finish in time."""
        ...

    def execute(self, spec: ExecutionSpec, streams: Streams) -> ExecutionResult: ...

    def section(self, environment: RunEnvironment, variables: tuple[EnvVar, ...]) -> Container | None:
        """The record's `container` section (None: the command ran on this machine)."""
        ...
