"""Capture one run: collect evidence, execute the command, commit one complete record.

Source state is read before the command starts (the command may change the tree);
the slower collectors (interpreter probe, hardware) run beside the command so the
overhead a user waits for stays small. Signals that arrive outside the command's
own lifetime are deferred, so an interrupt never leaves half a record behind.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol, TypeVar

from auditor import __version__
from auditor.capture.collect.git import collect_git
from auditor.capture.collect.hardware import collect_hardware
from auditor.capture.collect.probe_runner import RunningProbe
from auditor.capture.collect.python_env import PythonEvidence, collect_python
from auditor.capture.collect.requirements import collect_requirements
from auditor.capture.collect.system import collect_os, collect_timezone
from auditor.capture.data import DataCapture, DataEvidence
from auditor.capture.execute.interface import ExecutionResult, ExecutionSpec, Executor, Streams
from auditor.capture.execute.local import HANDLED_SIGNALS, LocalExecutor
from auditor.capture.execute.sharing import container_owner
from auditor.capture.logsink import RedactingLog
from auditor.capture.redact import RedactionPolicy, TextRedactor
from auditor.record.ids import new_ulid
from auditor.record.models import (
    DeclaredRequirements,
    Environment,
    GitSource,
    Hardware,
    Identity,
    LogFile,
    Missing,
    NotARepository,
    Origin,
    Outputs,
    PythonInfo,
    Resources,
    RunRecord,
)
from auditor.store.runs import RunStore

if TYPE_CHECKING:
    from auditor.capture.collect.image import ImageEvidence
    from auditor.capture.execute.container_plan import ContainerPlan

T = TypeVar("T")
EXTRA_ALLOW_ENV = "AUDITOR_ENV_ALLOW"
COLLECT_TIMEOUT_S = 120


def _stderr_warning(message: str) -> None:
    if sys.stderr is not None:
        sys.stderr.write(f"auditor: warning: {message}\n")


def _buffer(stream: object) -> object:
    """The binary side of a standard stream, or None when auditor was started with it closed."""
    return getattr(stream, "buffer", None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return new_ulid()


class Amendment(Protocol):
    """What a caller adds to the finished record before it is written (a reproduction's verdict)."""

    def attach(self, record: RunRecord) -> RunRecord: ...


@dataclass(frozen=True)
class CaptureRequest:
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    name: str | None = None
    project: str | None = None
    probe: RunningProbe | None = None  # started early by the caller, see probe_runner
    container: ContainerPlan | None = None  # run in this container instead of on this machine
    reproduces: Amendment | None = None  # this run re-executes an earlier one: the verdict is attached


@dataclass
class CaptureContext:
    """Injected seams: the clock, the id factory, the executor and where output goes live."""

    clock: Callable[[], datetime] = _utc_now
    new_id: Callable[[], str] = _new_id
    executor: Executor = field(default_factory=LocalExecutor)
    stdout_live: object = None
    stderr_live: object = None
    warn: Callable[[str], None] = field(default=lambda message: _stderr_warning(message))


def capture_run(store: RunStore, request: CaptureRequest, ctx: CaptureContext | None = None) -> RunRecord:
    ctx = ctx or CaptureContext(
        stdout_live=_buffer(sys.stdout), stderr_live=_buffer(sys.stderr), executor=_executor(request)
    )
    policy = RedactionPolicy(salt=store.salt(), extra_allow=_extra_allow(request.env))
    redactor = TextRedactor(policy.secret_values(request.env))
    source = collect_git(request.cwd)  # before the command: it may change the tree
    plan = request.container  # the command sees only its mounts, maybe as another uid (see auditor.files)
    data = DataCapture(  # a bad auditor.yaml or an unusable --user stops here, before anything runs
        request.cwd,
        store.root,
        ctx.clock,
        allowed_roots=None if plan is None else tuple(Path(m.source) for m in plan.mounts()),
        owner=None if plan is None else container_owner(plan.settings.user),
    )
    cancel_collect = threading.Event()  # set: the image probe's container is removed at once
    project = request.project or (data.spec.project.name if data.spec else _project_name(request.cwd, source))
    declared = collect_requirements(request.cwd, data.spec.environment.requirements if data.spec else ())
    with _deferred_signals() as pending:
        staging = store.begin(ctx.new_id())
        try:
            data.prepare()
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="auditor-collect") as pool:
                python_f: Future[PythonEvidence | ImageEvidence]
                if request.container is not None:
                    from auditor.capture.collect.image import collect_image

                    python_f = pool.submit(collect_image, request.container, request.argv, request.env, cancel_collect)
                else:
                    python_f = pool.submit(collect_python, request.argv, request.env, str(request.cwd), request.probe)
                hardware_f = pool.submit(collect_hardware)
                stdout = RedactingLog(staging.path / "stdout.log", redactor)
                stderr = RedactingLog(staging.path / "stderr.log", redactor)
                streams = Streams(
                    stdout_live=ctx.stdout_live,  # type: ignore[arg-type]
                    stderr_live=ctx.stderr_live,  # type: ignore[arg-type]
                    stdout_log=stdout,
                    stderr_log=stderr,
                )
                try:
                    result = _execute(ctx, request, data.environment(request.env), streams, pending)
                finally:
                    stdout.close()
                    stderr.close()
                _cancel_on_interrupt(python_f, pending, cancel_collect)
                python = _result(python_f, lambda why: _python_missing(request, why))
                hardware = _result(hardware_f, lambda why: Hardware(cpu=why, memory=why, gpus=why))
            try:
                evidence = data.finish(staging.run_id, project)
            except Exception as exc:  # the command has run: its record must not be lost to a bug here
                evidence = _evidence_failed(exc)

            def finalise(evidence: DataEvidence) -> RunRecord:
                record = _assemble(
                    request,
                    ctx,
                    staging.run_id,
                    project,
                    result,
                    source,
                    python,
                    hardware,
                    policy,
                    redactor,
                    stdout,
                    stderr,
                    evidence,
                    declared,
                )
                if request.reproduces is not None:
                    record = request.reproduces.attach(record)
                # One last pass over every string: whatever the run put into the record (logged
                # params, dataset paths, errors, branch names) is masked like the logs are.
                return RunRecord.model_validate(redactor.data(record.model_dump(mode="json")))

            try:
                record = finalise(evidence)
            except Exception as exc:
                evidence = _evidence_failed(exc)
                record = finalise(evidence)
            store.commit(staging, record)
        except BaseException:
            data.close()
            store.discard(staging)
            raise
    for warning in evidence.warnings:
        ctx.warn(warning)
    return record


def _executor(request: CaptureRequest) -> Executor:
    if request.container is None:
        return LocalExecutor()
    from auditor.capture.execute.container import ContainerExecutor

    return ContainerExecutor(request.container)


def _python_missing(request: CaptureRequest, why: Missing) -> PythonEvidence | ImageEvidence:
    python = PythonEvidence(why, why, why, None)
    if request.container is None:
        return python
    from auditor.capture.collect.image import ImageEvidence

    return ImageEvidence(python=python, os=why, system_packages=why)


def _dropped(log: RedactingLog) -> tuple[str, ...]:
    if not log.dropped:
        return ()
    return (f"{log.path.name}: {log.dropped} bytes written after the command ended were not kept",)


def _evidence_failed(exc: Exception) -> DataEvidence:
    why = Missing(reason=f"could not be captured: internal error {type(exc).__name__}: {exc}")
    return DataEvidence(lineage=why, fairness=why, warnings=[f"lineage and fairness {why.reason}"])


def _execute(
    ctx: CaptureContext, request: CaptureRequest, env: Mapping[str, str], streams: Streams, pending: list[str]
) -> ExecutionResult:
    if pending:  # interrupted before the command could start: record that, run nothing
        now = ctx.clock()
        return ExecutionResult(
            started_at=now,
            ended_at=now,
            exit_code=130,
            status="interrupted",
            wall_s=0.0,
            error=f"interrupted by {pending[0]} before the command started",
        )
    return ctx.executor.execute(ExecutionSpec(argv=request.argv, cwd=str(request.cwd), env=env), streams)


def _cancel_on_interrupt(future: Future[T], pending: list[str], cancel: threading.Event) -> None:
    """Ctrl-C while the environment is still being collected: stop collecting (the probe's
    container is removed) so the run is recorded now, with that evidence marked missing."""
    deadline = time.monotonic() + COLLECT_TIMEOUT_S
    while not future.done() and time.monotonic() < deadline:
        if pending:
            cancel.set()
            return
        time.sleep(0.05)


def _result(future: Future[T], on_missing: Callable[[Missing], T]) -> T:
    try:
        return future.result(timeout=COLLECT_TIMEOUT_S)
    except Exception as exc:  # a collector bug must not cost the user the run's record
        return on_missing(Missing(reason=f"collector failed: {type(exc).__name__}: {exc}"))


def _assemble(
    request: CaptureRequest,
    ctx: CaptureContext,
    run_id: str,
    project: str,
    result: ExecutionResult,
    source: GitSource | NotARepository | Missing,
    evidence_of_env: PythonEvidence | ImageEvidence,
    hardware: Hardware,
    policy: RedactionPolicy,
    redactor: TextRedactor,
    stdout: RedactingLog,
    stderr: RedactingLog,
    evidence: DataEvidence,
    declared: DeclaredRequirements | Missing,
) -> RunRecord:
    identity = Identity(
        run_id=run_id,
        project=project,
        name=request.name,
        argv=tuple(redactor(arg)[0] for arg in request.argv),
        cwd=str(request.cwd),
        started_at=result.started_at,
        ended_at=result.ended_at,
        duration_s=max(0.0, (result.ended_at - result.started_at).total_seconds()),
        exit_code=result.exit_code,
        signal=result.signal,
        status=result.status,
        error=result.error,
        user=_user(),
        host=socket.gethostname(),
        auditor_version=__version__,
    )
    variables = policy.environment(request.env)
    container = None
    if isinstance(evidence_of_env, PythonEvidence):
        python, os_info = evidence_of_env, collect_os(evidence_of_env.libc)
    else:
        python, os_info = evidence_of_env.python, evidence_of_env.os
        if request.container is not None:
            container = request.container.section(variables, evidence_of_env.system_packages)
    environment = Environment(
        os=os_info,
        python=_redact_python(python.python, redactor),
        packages=python.packages,
        locale=python.locale,
        timezone=collect_timezone(request.env),
        variables=variables,
        declared=declared,
    )
    return RunRecord(
        identity=identity,
        origin=Origin(kind="executed", executor=ctx.executor.name),
        source=source,
        environment=environment,
        hardware=hardware,
        resources=Resources(
            wall_s=result.wall_s,
            user_cpu_s=result.user_cpu_s,
            system_cpu_s=result.system_cpu_s,
            peak_rss_bytes=result.peak_rss_bytes,
        ),
        outputs=Outputs(
            stdout=LogFile(path="stdout.log", bytes=stdout.bytes, sha256=stdout.sha256, redactions=stdout.redactions),
            stderr=LogFile(path="stderr.log", bytes=stderr.bytes, sha256=stderr.sha256, redactions=stderr.redactions),
            notes=(*result.notes, *_dropped(stdout), *_dropped(stderr)),
        ),
        lineage=evidence.lineage,
        fairness=evidence.fairness,
        params=evidence.params,
        metrics=evidence.metrics,
        container=container,
    )


def _redact_python(python: PythonInfo | Missing, redactor: TextRedactor) -> PythonInfo | Missing:
    """sys.path is built from PYTHONPATH and .pth files, so it can carry pieces of secrets."""
    if isinstance(python, Missing):
        return python
    return python.model_copy(update={"sys_path": tuple(redactor(p)[0] for p in python.sys_path)})


def _project_name(cwd: Path, source: GitSource | NotARepository | Missing) -> str:
    root = Path(source.root) if isinstance(source, GitSource) else cwd
    return root.name or str(root)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _extra_allow(env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(EXTRA_ALLOW_ENV, "").split(",") if p.strip())


@contextmanager
def _deferred_signals() -> Iterator[list[str]]:
    """Outside the command's lifetime, remember interrupts instead of dying half-way."""
    pending: list[str] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        pending.append(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    previous = {sig: signal.signal(sig, remember) for sig in HANDLED_SIGNALS}
    try:
        yield pending
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
