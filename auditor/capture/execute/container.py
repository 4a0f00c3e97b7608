"""Run a command in a container through the Docker Engine API (Docker, or podman's service).

Paths are the same inside and out: the project is mounted read-only at its own path, each
output folder writable at its own path, and auditor's observation folder likewise, so the
start-up hook, the tree diff and the content hashes work exactly as for local runs. The
network is off unless asked for. Output streams live into the redacting logs. Ctrl-C or the
timeout stops the container (SIGTERM, then SIGKILL after the grace period) and the run is
recorded as interrupted (a timeout as outcome.timed_out reads it); a log that cannot be written
stops it the same way, and the run is recorded as failed. The container is removed whatever
happens; if auditor itself is killed, its watchdog (watchdog.py) stops and removes the container
through the engine. The environment is the image's, probed in a sibling container (collect/image.py).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from auditor.capture.collect.python_env import PythonEvidence
from auditor.capture.execute.container_plan import ContainerPlan
from auditor.capture.execute.init_failure import init_exec_failure, start_failure_code
from auditor.capture.execute.interface import (
    HANDLED_SIGNALS,
    DataScope,
    ExecutionResult,
    ExecutionSpec,
    ExecutorName,
    RunEnvironment,
    StopRequest,
    Streams,
)
from auditor.capture.execute.local import _grace_from_env
from auditor.capture.execute.sharing import container_owner
from auditor.capture.execute.watchdog import guarding_container
from auditor.capture.observe.session import ACCESS_ENV
from auditor.capture.outcome import timeout_error
from auditor.errors import EXIT_ENGINE, EXIT_TIMEOUT
from auditor.record.models import Container, EnvVar, Missing

if TYPE_CHECKING:
    from docker.models.containers import Container as DockerContainer


PUMP_JOIN_S = 5.0
TAIL_BYTES = 512


class ContainerExecutor:
    name: ExecutorName = "container"

    def __init__(self, plan: ContainerPlan, grace_s: float | None = None) -> None:
        self.plan = plan
        self._grace_s = grace_s if grace_s is not None else _grace_from_env()

    def data_scope(self) -> DataScope:
        """The command sees only its mounts, maybe as another uid (see auditor.files)."""
        return DataScope(
            allowed_roots=tuple(Path(m.source) for m in self.plan.mounts()),
            owner=container_owner(self.plan.settings.user),
        )

    def environment(self, spec: ExecutionSpec, cancel: threading.Event) -> RunEnvironment:
        from auditor.capture.collect.image import collect_image  # it reads init failures with this module

        image = collect_image(self.plan, spec.argv, spec.env, cancel)
        return RunEnvironment(python=image.python, os=image.os, system_packages=image.system_packages)

    def environment_missing(self, why: Missing) -> RunEnvironment:
        return RunEnvironment(python=PythonEvidence(why, why, why, None), os=why, system_packages=why)

    def section(self, environment: RunEnvironment, variables: tuple[EnvVar, ...]) -> Container | None:
        packages = environment.system_packages
        return self.plan.section(variables, packages if packages is not None else Missing(reason="not collected"))

    def execute(self, spec: ExecutionSpec, streams: Streams) -> ExecutionResult:
        received: list[str] = []
        with _signals(received):  # from the first API call on: Ctrl-C during create or start counts too
            result = self._execute(spec, streams, received)
        if received and result.status != "interrupted":
            # It came after the command had ended: pass it on to whoever handles signals now
            # (capture, which then stops collecting and records the run at once).
            signal.raise_signal(signal.Signals[received[0]])
        return result

    def _execute(self, spec: ExecutionSpec, streams: Streams, received: list[str]) -> ExecutionResult:
        from docker.errors import DockerException

        started_at, t0 = _now(), time.monotonic()
        kwargs = self.plan.create_kwargs(list(spec.argv), spec.cwd, spec.env)
        session = spec.env.get(ACCESS_ENV)
        if session:  # the observation folder: the hook writes its reports there
            from docker.types import Mount as DockerMount

            root = str(Path(session).parent)
            kwargs["mounts"].append(DockerMount(root, root, type="bind", read_only=False))
        try:
            container = self.plan.client.containers.create(**kwargs)
        except DockerException as exc:
            return self._failed(
                streams, started_at, t0, EXIT_ENGINE, f"the engine could not create the container: {_why(exc)}"
            )
        with guarding_container(str(container.id), self._grace_s):  # auditor killed: it must not run on
            return self._attach_and_run(container, spec, streams, received, started_at, t0)

    def _attach_and_run(
        self,
        container: DockerContainer,
        spec: ExecutionSpec,
        streams: Streams,
        received: list[str],
        started_at: datetime,
        t0: float,
    ) -> ExecutionResult:
        from docker.errors import APIError, DockerException

        try:
            dropped = self._dropped_request(container)
            if dropped is not None:
                return self._failed(streams, started_at, t0, EXIT_ENGINE, dropped)
            # Attached before it starts, so no output is missed: podman's log-follow stream drops
            # chunks under load (containers/podman#21914); the attach stream does not.
            output = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
            pump, stderr = _pump(output, streams)
            if received:
                return self._interrupted_before_start(streams, started_at, t0, received[0])
            try:
                container.start()
            except APIError as exc:
                code = start_failure_code(_why(exc))
                return self._failed(
                    streams, started_at, t0, code, f"cannot run {spec.argv[0]} in the image: {_why(exc)}"
                )
            streams.running.set()
            return self._follow(container, pump, stderr, received, streams.stop, started_at, t0)
        finally:
            with contextlib.suppress(DockerException):
                container.remove(force=True)

    def _dropped_request(self, container: DockerContainer) -> str | None:
        """An engine that silently drops the GPU request would run the command without GPUs."""
        if not self.plan.settings.gpus:
            return None
        requests = (container.attrs.get("HostConfig") or {}).get("DeviceRequests") or []
        if requests:
            return None
        return (
            f"the container engine ignored --gpus {self.plan.settings.gpus} (podman needs the NVIDIA "
            "Container Toolkit's CDI devices; Docker needs the NVIDIA runtime): not run without the GPUs"
        )

    def _interrupted_before_start(self, streams: Streams, started_at: datetime, t0: float, why: str) -> ExecutionResult:
        message = f"interrupted by {why} before the command started"
        streams.stderr_log.write(f"auditor: {message}\n".encode())
        return ExecutionResult(
            started_at=started_at,
            ended_at=_now(),
            exit_code=130,
            status="interrupted",
            wall_s=time.monotonic() - t0,
            error=message,
        )

    def _follow(
        self,
        container: DockerContainer,
        pump: threading.Thread,
        stderr: _Captured,
        received: list[str],
        stop: StopRequest,
        started_at: datetime,
        t0: float,
    ) -> ExecutionResult:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def wait() -> None:
            try:
                outcome["result"] = container.wait()
            except Exception as exc:
                outcome["error"] = exc
            done.set()

        threading.Thread(target=wait, daemon=True, name="auditor-wait").start()
        stopped = _supervise(container, done, received, stop, self.plan.settings.timeout_s, self._grace_s, t0)
        ended_at, wall = _now(), time.monotonic() - t0
        notes = [] if _joined(pump) else ["the engine kept the output stream open after the container ended"]
        notes.append("CPU time and peak memory are not reported by the container engine")
        code = int((outcome.get("result") or {}).get("StatusCode", EXIT_ENGINE))
        error = None if "error" not in outcome else f"lost track of the container: {_why(outcome['error'])}"
        with contextlib.suppress(Exception):
            container.reload()
            if container.attrs.get("State", {}).get("OOMKilled"):
                notes.append("the container was killed for exceeding its memory limit")
                error = error or "killed: out of memory"
        sig = _signal_name(code)
        failed_exec = init_exec_failure(code, stderr.only_output())
        if failed_exec is not None:
            args = " ".join(container.attrs.get("Args") or [])[:200]
            code, error = failed_exec[0], f"cannot run {args} in the image: {failed_exec[1]}"
        if stopped is not None:
            status: Literal["succeeded", "failed", "interrupted"] = "interrupted" if stopped.interrupted else "failed"
            error = stopped.error
            if stopped.timed_out:
                code, sig = EXIT_TIMEOUT, None
        else:
            status = "succeeded" if code == 0 and error is None else "failed"
        return ExecutionResult(
            started_at=started_at,
            ended_at=ended_at,
            exit_code=code,
            status=status,
            wall_s=wall,
            signal=sig,
            error=error,
            notes=tuple(notes),
        )

    def _failed(self, streams: Streams, started_at: datetime, t0: float, code: int, message: str) -> ExecutionResult:
        streams.stderr_log.write(f"auditor: {message}\n".encode())
        return ExecutionResult(
            started_at=started_at,
            ended_at=_now(),
            exit_code=code,
            status="failed",
            wall_s=time.monotonic() - t0,
            error=message,
        )


class _Stopped(NamedTuple):
    error: str
    timed_out: bool
    interrupted: bool = True  # False: auditor stopped it (a log could not be written): a failure


def _supervise(
    container: DockerContainer,
    done: threading.Event,
    received: list[str],
    stop: StopRequest,
    timeout_s: float | None,
    grace_s: float,
    t0: float,
) -> _Stopped | None:
    """Wait for the container; on a signal, the timeout or a stop request stop it, and say why."""
    reason: _Stopped | None = None
    killed = False
    while not done.wait(0.05):
        if reason is None and received:
            reason = _Stopped(f"interrupted by {received[0]}", timed_out=False)
            _stop(container, grace_s)
        elif reason is None and timeout_s is not None and time.monotonic() - t0 > timeout_s:
            reason = _Stopped(timeout_error(timeout_s), timed_out=True)
            _stop(container, grace_s)
        elif reason is None and stop.is_set():
            reason = _Stopped(f"stopped by auditor: {stop.reason}", timed_out=False, interrupted=False)
            _stop(container, grace_s)
        elif len(received) > 1 and not killed:  # a second interrupt: no more waiting
            killed = True
            _stop(container, 0)
    return reason


def _stop(container: DockerContainer, grace_s: float) -> None:
    def stop() -> None:
        with contextlib.suppress(Exception):
            container.stop(timeout=int(grace_s))

    threading.Thread(target=stop, daemon=True, name="auditor-stop").start()


@contextlib.contextmanager
def _signals(received: list[str]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def remember(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, remember) for sig in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Captured:
    """The first bytes of stderr, and whether there was more: enough to recognise an init's
    exec failure, which is only trusted when it is all the command's stderr."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.total = 0
        self.stdout_bytes = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if len(self.head) < TAIL_BYTES:
            self.head += chunk[: TAIL_BYTES - len(self.head)]

    def only_output(self) -> bytes:
        """All of stderr, when it was short and nothing reached stdout (an init that could not
        exec the command prints one line and nothing else ran); else nothing to match."""
        return bytes(self.head) if self.total == len(self.head) and self.stdout_bytes == 0 else b""


def _pump(output: Iterator[tuple[bytes | None, bytes | None]], streams: Streams) -> tuple[threading.Thread, _Captured]:
    stderr = _Captured()

    def pump() -> None:
        live = {1: streams.stdout_live, 2: streams.stderr_live}
        logs = {1: streams.stdout_log, 2: streams.stderr_log}
        with contextlib.suppress(Exception):  # the engine closing the stream ends the pump
            for frame in output:
                for fd, chunk in ((1, frame[0]), (2, frame[1])):
                    if not chunk:
                        continue
                    logs[fd].write(chunk)
                    if fd == 2:
                        stderr.add(chunk)
                    else:
                        stderr.stdout_bytes += len(chunk)
                    sink = live[fd]
                    if sink is not None:
                        try:
                            sink.write(chunk)
                            sink.flush()
                        except (BrokenPipeError, ValueError, OSError):
                            live[fd] = None

    thread = threading.Thread(target=pump, daemon=True, name="auditor-output")
    thread.start()
    return thread, stderr


def _joined(thread: threading.Thread) -> bool:
    thread.join(PUMP_JOIN_S)
    return not thread.is_alive()


def _signal_name(code: int) -> str | None:
    if code > 128:
        with contextlib.suppress(ValueError):
            return signal.Signals(code - 128).name
    return None


def _why(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _now() -> datetime:
    return datetime.now(UTC)
