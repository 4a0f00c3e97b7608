"""Capture one run: collect evidence, execute the command, commit one complete record.

Source state is read before the command starts (the command may change the tree);
the slower collectors (interpreter probe, hardware) run beside the command so the
overhead a user waits for stays small. Signals that arrive outside the command's
own lifetime are deferred, so an interrupt never leaves half a record behind.
Where the command runs (this machine, a container) is its executor's business: capture
asks it what the command can write, what environment it saw and how the record says
where it ran (see execute/interface.py), and never which kind it is.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar

from auditor.capture.assemble import Collected, assemble
from auditor.capture.collect.git import collect_git
from auditor.capture.collect.hardware import collect_hardware
from auditor.capture.collect.requirements import collect_requirements
from auditor.capture.data import DataCapture, DataEvidence
from auditor.capture.execute.interface import HANDLED_SIGNALS, ExecutionResult, ExecutionSpec, Executor, Streams
from auditor.capture.logsink import RedactingLog
from auditor.capture.redact import RedactionPolicy, TextRedactor
from auditor.capture.request import CaptureRequest
from auditor.record.ids import new_ulid
from auditor.record.models import GitSource, Hardware, Missing, NotARepository, RunRecord
from auditor.store.runs import RunStore

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


@dataclass
class CaptureContext:
    """Injected seams: the clock, the id factory and where output goes live."""

    clock: Callable[[], datetime] = _utc_now
    new_id: Callable[[], str] = _new_id
    stdout_live: object = None
    stderr_live: object = None
    warn: Callable[[str], None] = field(default=lambda message: _stderr_warning(message))


def capture_run(store: RunStore, request: CaptureRequest, ctx: CaptureContext | None = None) -> RunRecord:
    ctx = ctx or CaptureContext(stdout_live=_buffer(sys.stdout), stderr_live=_buffer(sys.stderr))
    executor = request.executor
    source = collect_git(request.cwd)  # before the command: it may change the tree
    scope = executor.data_scope()
    data = DataCapture(  # a bad auditor.yaml or an unusable --user stops here, before anything runs
        request.cwd, store.root, ctx.clock, allowed_roots=scope.allowed_roots, owner=scope.owner
    )
    # Only now: the salt is the store's first write, and a run refused above leaves no store behind.
    policy = RedactionPolicy(salt=store.salt(), extra_allow=_extra_allow(request.env))
    redactor = TextRedactor(policy.secret_values(request.env))
    cancel_collect = threading.Event()  # set: collecting the environment stops (a probe container is removed)
    project = request.project or (data.spec.project.name if data.spec else _project_name(request.cwd, source))
    declared = collect_requirements(request.cwd, data.spec.environment.requirements if data.spec else ())
    asked = ExecutionSpec(argv=request.argv, cwd=str(request.cwd), env=request.env)
    with _deferred_signals() as pending:
        staging = store.begin(ctx.new_id())
        try:
            data.prepare()
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="auditor-collect") as pool:
                environment_f = pool.submit(executor.environment, asked, cancel_collect)
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
                    spec = ExecutionSpec(argv=request.argv, cwd=str(request.cwd), env=data.environment(request.env))
                    result = _execute(ctx, executor, spec, streams, pending)
                finally:
                    stdout.close()
                    stderr.close()
                _cancel_on_interrupt(environment_f, pending, cancel_collect)
                evidence = Collected(
                    source=source,
                    declared=declared,
                    environment=_result(environment_f, executor.environment_missing),
                    hardware=_result(hardware_f, lambda why: Hardware(cpu=why, memory=why, gpus=why)),
                )
            try:
                data_evidence = data.finish(staging.run_id, project)
            except Exception as exc:  # the command has run: its record must not be lost to a bug here
                data_evidence = _evidence_failed(exc)

            def finalise(data_evidence: DataEvidence) -> RunRecord:
                record = assemble(
                    request,
                    staging.run_id,
                    project,
                    result,
                    evidence,
                    data_evidence,
                    policy,
                    redactor,
                    (stdout, stderr),
                )
                if request.reproduces is not None:
                    record = request.reproduces.attach(record)
                # One last pass over every string: whatever the run put into the record (logged
                # params, dataset paths, errors, branch names) is masked like the logs are.
                return RunRecord.model_validate(redactor.data(record.model_dump(mode="json")))

            try:
                record = finalise(data_evidence)
            except Exception as exc:
                data_evidence = _evidence_failed(exc)
                record = finalise(data_evidence)
            store.commit(staging, record)
        except BaseException:
            data.close()
            store.discard(staging)
            raise
    for warning in data_evidence.warnings:
        ctx.warn(warning)
    return record


def _evidence_failed(exc: Exception) -> DataEvidence:
    why = Missing(reason=f"could not be captured: internal error {type(exc).__name__}: {exc}")
    return DataEvidence(lineage=why, fairness=why, warnings=[f"lineage and fairness {why.reason}"])


def _execute(
    ctx: CaptureContext, executor: Executor, spec: ExecutionSpec, streams: Streams, pending: list[str]
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
    return executor.execute(spec, streams)


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


def _project_name(cwd: Path, source: GitSource | NotARepository | Missing) -> str:
    root = Path(source.root) if isinstance(source, GitSource) else cwd
    return root.name or str(root)


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
