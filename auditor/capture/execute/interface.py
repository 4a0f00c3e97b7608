"""What every executor takes and returns, so capture does not care where a command ran."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Literal, Protocol

from auditor.record.models import RunStatus


@dataclass(frozen=True)
class ExecutionSpec:
    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]


@dataclass(frozen=True)
class Streams:
    """Where output goes: the live terminal and the (redacting) log files."""

    stdout_live: IO[bytes] | None
    stderr_live: IO[bytes] | None
    stdout_log: LogSink
    stderr_log: LogSink


class LogSink(Protocol):
    def write(self, chunk: bytes) -> None: ...


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


class Executor(Protocol):
    name: Literal["local", "container"]

    def execute(self, spec: ExecutionSpec, streams: Streams) -> ExecutionResult: ...
