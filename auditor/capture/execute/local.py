"""Run a command on this machine, streaming its output live and into the run's logs.

The command gets its own process group, so auditor can stop all of it: a signal auditor
receives (SIGINT, SIGTERM, SIGHUP) is passed on to the group, followed by SIGTERM, and
whatever is still there after a grace period is killed, so an interrupted run always ends and
is always recorded. One exception: when auditor is the terminal's foreground job and reads
that terminal, the command stays in auditor's job, so it can read the terminal and Ctrl-C and
Ctrl-Z reach it as they would without auditor (a background group reading the terminal would
be stopped). A log that cannot be written (a full disk) stops the command the same way (see
capture/logsink.py). If auditor itself is killed, its watchdog (watchdog.py) stops the
command's group and process tree. Resource use comes from the kernel (wait4), which accounts
for the whole process tree the command waited for. The environment is this machine's: the
interpreter the command would use, probed in the command's own environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE, Popen
from types import FrameType
from typing import IO, Literal

from auditor.capture.collect.probe_runner import RunningProbe
from auditor.capture.collect.python_env import PythonEvidence, collect_python
from auditor.capture.collect.system import collect_os
from auditor.capture.execute.interface import (
    HANDLED_SIGNALS,
    DataScope,
    ExecutionResult,
    ExecutionSpec,
    ExecutorName,
    LogSink,
    RunEnvironment,
    StopRequest,
    Streams,
)
from auditor.capture.execute.watchdog import Watchdog
from auditor.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND
from auditor.record.models import Container, EnvVar, Missing

GRACE_S = 10.0
GRACE_ENV = "AUDITOR_STOP_GRACE_S"  # seconds between asking a command to stop and killing it
PUMP_JOIN_S = 5.0
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalExecutor:
    """One command on this machine; `probe`: the interpreter probe the caller started early
    (see probe_runner), used once for this run's environment."""

    name: ExecutorName = "local"

    def __init__(
        self, clock: Clock = _utc_now, grace_s: float | None = None, probe: RunningProbe | None = None
    ) -> None:
        self._clock = clock
        self._grace_s = grace_s if grace_s is not None else _grace_from_env()
        self._probe = probe

    def data_scope(self) -> DataScope:
        return DataScope()  # the whole machine, as auditor's own user

    def environment(self, spec: ExecutionSpec, cancel: threading.Event) -> RunEnvironment:
        python = collect_python(spec.argv, spec.env, spec.cwd, self._probe)
        return RunEnvironment(python=python, os=collect_os(python.libc))

    def environment_missing(self, why: Missing) -> RunEnvironment:
        return RunEnvironment(python=PythonEvidence(why, why, why, None), os=collect_os())

    def section(self, environment: RunEnvironment, variables: tuple[EnvVar, ...]) -> Container | None:
        return None

    def execute(self, spec: ExecutionSpec, streams: Streams) -> ExecutionResult:
        started_at, t0 = self._clock(), time.monotonic()
        program = _resolve(spec.argv[0], spec.env.get("PATH", os.defpath), spec.cwd)
        failure = _cannot_start(spec.argv[0], program)
        if failure is not None:
            code, message = failure
            streams.stderr_log.write(f"auditor: {message}\n".encode())
            return ExecutionResult(
                started_at=started_at,
                ended_at=self._clock(),
                exit_code=code,
                status="failed",
                wall_s=time.monotonic() - t0,
                error=message,
            )
        return self._run(spec, streams, _own_group(), started_at, t0)

    def _run(
        self, spec: ExecutionSpec, streams: Streams, own_group: bool, started_at: datetime, t0: float
    ) -> ExecutionResult:
        try:
            proc = Popen(
                list(spec.argv),
                cwd=spec.cwd,
                env=dict(spec.env),
                stdout=PIPE,
                stderr=PIPE,
                process_group=0 if own_group else None,
            )
        except OSError as exc:
            code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            message = f"cannot run {spec.argv[0]}: {exc.strerror}"
            streams.stderr_log.write(f"auditor: {message}\n".encode())
            return ExecutionResult(
                started_at=started_at,
                ended_at=self._clock(),
                exit_code=code,
                status="failed",
                wall_s=time.monotonic() - t0,
                error=message,
            )
        watchdog = Watchdog.start()  # after the command, which need not wait for it
        if watchdog is not None:
            watchdog.guard_processes(proc.pid, own_group, self._grace_s)
        if proc.stdout is None or proc.stderr is None:  # pragma: no cover - PIPE was requested
            raise RuntimeError("subprocess pipes were not created")
        pumps = [
            _start_pump(proc.stdout, streams.stdout_live, streams.stdout_log),
            _start_pump(proc.stderr, streams.stderr_live, streams.stderr_log),
        ]
        guard = _InterruptGuard(proc, self._grace_s, own_group, streams.stop)
        with guard:
            streams.running.set()
            status_word, usage = _wait4(proc.pid)
        if watchdog is not None:
            watchdog.release()  # what the command left running in the background is its own
        proc.returncode = os.waitstatus_to_exitcode(status_word)
        ended_at, wall = self._clock(), time.monotonic() - t0
        deadline = time.monotonic() + PUMP_JOIN_S
        held = []
        for name, pump in zip(("stdout", "stderr"), pumps, strict=True):
            pump.join(max(0.0, deadline - time.monotonic()))
            if pump.is_alive():
                held.append(name)
        notes = [f"a background process kept {' and '.join(held)} open after the command ended"] if held else []
        if watchdog is None:
            notes.append("no watchdog could be started: had auditor been killed, the command would have run on")
        code, sig = _exit_code(proc.returncode)
        status: Literal["succeeded", "failed", "interrupted"]
        if guard.received:
            status, error = "interrupted", f"interrupted by {guard.received}"
        elif guard.stopped:
            status, error = "failed", f"stopped by auditor: {guard.stopped}"
        else:
            status, error = ("succeeded" if code == 0 else "failed"), None
        return ExecutionResult(
            started_at=started_at,
            ended_at=ended_at,
            exit_code=code,
            status=status,
            wall_s=wall,
            signal=sig,
            error=error,
            user_cpu_s=usage.ru_utime,
            system_cpu_s=usage.ru_stime,
            peak_rss_bytes=usage.ru_maxrss * 1024,
            notes=tuple(notes),
        )


def _own_group() -> bool:
    """False when auditor is the foreground job of the terminal on its stdin (see the module
    docstring); True otherwise (no terminal: a CI job, a script, a pipe)."""
    try:
        return os.tcgetpgrp(0) != os.getpgrp()
    except OSError:
        return True


def _grace_from_env() -> float:
    try:
        return max(0.0, float(os.environ.get(GRACE_ENV, GRACE_S)))
    except ValueError:
        return GRACE_S


def _resolve(command: str, search_path: str, cwd: str) -> str | None:
    if "/" in command:
        path = Path(cwd, command)
        return str(path) if path.exists() else None
    return shutil.which(command, mode=os.F_OK, path=search_path)


def _cannot_start(command: str, program: str | None) -> tuple[int, str] | None:
    if program is None:
        return EXIT_NOT_FOUND, f"command not found: {command}"
    if Path(program).is_dir() or not os.access(program, os.X_OK):
        return EXIT_NOT_EXECUTABLE, f"not executable: {command}"
    return None


def _exit_code(returncode: int) -> tuple[int, str | None]:
    """Shell convention: a command killed by signal N exits 128+N."""
    if returncode < 0:
        return 128 - returncode, signal.Signals(-returncode).name
    return returncode, None


def _wait4(pid: int) -> tuple[int, os.struct_rusage]:  # type: ignore[name-defined]
    while True:
        try:
            _, status_word, usage = os.wait4(pid, 0)
            return status_word, usage
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue


def _start_pump(source: IO[bytes], live: IO[bytes] | None, log: LogSink) -> threading.Thread:
    """Reads until the command and everything that inherited the pipe close it. The log's write
    never raises, so the pipe is always drained: a command never blocks on auditor."""

    def pump() -> None:
        sink = live
        fd = source.fileno()
        while chunk := os.read(fd, 65536):
            log.write(chunk)
            if sink is not None:
                try:
                    sink.write(chunk)
                    sink.flush()
                except (BrokenPipeError, ValueError, OSError):
                    sink = None  # the terminal went away; the log keeps everything
        source.close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


class _InterruptGuard:
    """While the child runs: turn SIGINT/SIGTERM/SIGHUP, or a stop request from capture, into
    "stop the child, then record"."""

    def __init__(self, proc: Popen[bytes], grace_s: float, own_group: bool, stop: StopRequest) -> None:
        self._proc = proc
        self._grace_s = grace_s
        self._own_group = own_group
        self._stop = stop
        self._previous: dict[int, object] = {}
        self._killers: list[threading.Timer] = []
        self._done = threading.Event()
        self.received: str | None = None  # the signal that interrupted the run
        self.stopped: str | None = None  # why capture asked for the command to be stopped

    def __enter__(self) -> _InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in HANDLED_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        threading.Thread(target=self._watch_stop, daemon=True, name="auditor-stop-watch").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for killer in self._killers:
            killer.cancel()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None or self.stopped is not None:  # a second interrupt: no more waiting
            self._send(signal.SIGKILL)
            return
        self.received = signal.Signals(signum).name
        if self._own_group and signum != signal.SIGTERM:
            self._send(signum)  # what the terminal or the caller meant for the whole job
        self._terminate()

    def _watch_stop(self) -> None:
        while not self._done.is_set():
            if self._stop.wait(0.1):
                if self.received is None and not self._done.is_set():
                    self.stopped = self._stop.reason or "asked to"
                    self._terminate()
                return

    def _terminate(self) -> None:
        self._send(signal.SIGTERM)
        killer = threading.Timer(self._grace_s, self._send, args=(signal.SIGKILL,))
        killer.daemon = True
        self._killers.append(killer)
        killer.start()

    def _send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self._own_group:
                os.killpg(self._proc.pid, sig)
            else:
                self._proc.send_signal(sig)
