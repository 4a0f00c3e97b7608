"""Capture one run: collect evidence, execute the command, commit one complete record.

Source state is read before the command starts (the command may change the tree);
the slower collectors (interpreter probe, hardware) run beside the command so the
overhead a user waits for stays small. Signals that arrive outside the command's
own lifetime are deferred, so an interrupt never leaves half a record behind; one that
arrives after the command ended still marks the run interrupted, and a second gives up the
evidence still being collected (see Interrupts). A store that fails under the run (a log or
the record cannot be written) stops the command, and never leaves half a record in runs/:
StoreWriteError says whether the run was recorded, incomplete, or not at all.
Where the command runs (this machine, a container) is its executor's business: capture
asks it what the command can write, what environment it saw and how the record says
where it ran (see execute/interface.py), and never which kind it is.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from auditor.capture.assemble import Collected, assemble, build_models
from auditor.capture.collect.git import collect_git
from auditor.capture.collect.gitread import take_early
from auditor.capture.collect.hardware import collect_hardware
from auditor.capture.collect.requirements import collect_requirements
from auditor.capture.data import DataCapture, DataEvidence
from auditor.capture.execute.interface import (
    ExecutionResult,
    ExecutionSpec,
    Executor,
    StopRequest,
    Streams,
)
from auditor.capture.filelists import attach, detach
from auditor.capture.heap import paused_collection
from auditor.capture.interrupts import Interrupts, deferred_signals
from auditor.capture.logsink import RedactingLog
from auditor.capture.redact import RedactionPolicy, TextRedactor
from auditor.capture.request import CaptureRequest
from auditor.capture.scrub import secret_flags
from auditor.capture.secretnames import mask_named
from auditor.errors import StoreError, StoreWriteError
from auditor.record.ids import new_ulid
from auditor.record.models import GitSource, Hardware, Missing, NotARepository, RunRecord
from auditor.store.runs import RunStore, Staging

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
    """Run the command and commit its record. Raises StoreWriteError (exit 74) when the store
    failed under the run: a log or the record could not be written (see _not_recorded and
    _refuse_incomplete_logs)."""
    ctx = ctx or CaptureContext(stdout_live=_buffer(sys.stdout), stderr_live=_buffer(sys.stderr))
    executor = request.executor
    # before the command: it may change the tree (`auditor run` began reading it as it started)
    source = collect_git(request.cwd, take_early(request.cwd))
    scope = executor.data_scope()
    data = DataCapture(  # a bad auditor.yaml or an unusable --user stops here, before anything runs
        request.cwd, store.root, ctx.clock, allowed_roots=scope.allowed_roots, owner=scope.owner, argv=request.argv
    )
    # Only now: the salt is the store's first write, and a run refused above leaves no store behind.
    policy = RedactionPolicy(
        salt=store.salt(), extra_allow=_extra_allow(request.env), secret_flags=secret_flags(request.env)
    )
    redactor = TextRedactor(policy.secret_values(request.env, request.argv))
    cancel_collect = threading.Event()  # set: collecting the environment stops (a probe container is removed)
    project = request.project or (data.spec.project.name if data.spec else _project_name(request.cwd, source))
    declared = collect_requirements(request.cwd, data.spec.environment.requirements if data.spec else ())
    asked = ExecutionSpec(argv=request.argv, cwd=str(request.cwd), env=request.env)
    stop = StopRequest()  # a log that cannot be written stops the command
    with deferred_signals() as interrupts:
        staging = store.begin(ctx.new_id())
        logs: tuple[RedactingLog, ...] = ()
        ended = ""
        try:
            logs = _open_logs(staging, redactor, stop)
            stdout, stderr = logs
            data.prepare(cancel=interrupts.any)
            running = threading.Event()  # set by the executor once the command runs (or after it, below)
            # Leaving this block waits for all three: nothing below builds a model beside them.
            with ThreadPoolExecutor(max_workers=3, thread_name_prefix="auditor-collect") as pool:
                environment_f = pool.submit(executor.environment, asked, cancel_collect)
                hardware_f = pool.submit(_once_running, running, collect_hardware)
                pool.submit(_once_running, running, build_models)  # what assemble needs (see build_models)
                try:
                    streams = Streams(
                        stdout_live=ctx.stdout_live,  # type: ignore[arg-type]
                        stderr_live=ctx.stderr_live,  # type: ignore[arg-type]
                        stdout_log=stdout,
                        stderr_log=stderr,
                        stop=stop,
                        running=running,
                    )
                    spec = ExecutionSpec(argv=request.argv, cwd=str(request.cwd), env=data.environment(request.env))
                    before = len(interrupts.received)
                    result = _execute(ctx, executor, spec, streams, interrupts.received)
                    interrupts.command_ended(before, result.status == "interrupted")
                finally:
                    running.set()  # the command never ran, or its executor does not say when it does
                    stdout.close()
                    stderr.close()
                _cancel_on_interrupt(environment_f, interrupts.received, cancel_collect)
                evidence = Collected(
                    source=source,
                    declared=declared,
                    environment=_result(environment_f, executor.environment_missing),
                    hardware=_result(hardware_f, lambda why: Hardware(cpu=why, memory=why, gpus=why)),
                )
            with paused_collection():  # to the commit: tens of thousands of objects (see heap.py), no cycles
                try:
                    data_evidence = data.finish(staging.run_id, project, cancel=interrupts.hurry)
                except Exception as exc:  # the command has run: its record must not be lost to a bug here
                    data_evidence = _evidence_failed(exc)

                def finalise(data_evidence: DataEvidence) -> RunRecord:
                    record = assemble(
                        request,
                        staging.run_id,
                        project,
                        _as_ended(result, (stdout, stderr), interrupts),
                        evidence,
                        data_evidence,
                        policy,
                        redactor,
                        (stdout, stderr),
                    )
                    if request.reproduces is not None:
                        record = request.reproduces.attach(record)
                    # One last pass over every string: whatever the run put into the record (logged
                    # params, dataset paths, errors, branch names) is masked like the logs are, and
                    # values under secret names as an ingested run's are.
                    # The files of hashed folders are checked apart, in bulk (see filelists.py).
                    record, files = detach(record)
                    dumped = record.model_dump(mode="json")
                    mask_named(dumped)
                    return attach(RunRecord.model_validate(redactor.data(dumped)), files, redactor)

                try:
                    record = finalise(data_evidence)
                except Exception as exc:
                    data_evidence = _evidence_failed(exc)
                    record = finalise(data_evidence)
                ended = _ended(record)
                store.commit(staging, record)
                data.close()  # the observation folder, removed while the record was built and committed
        except StoreWriteError as exc:
            raise _not_recorded(exc, store, staging, data, logs, ended) from exc
        except BaseException:
            for log in logs:
                log.close()
            data.close()
            store.discard(staging)
            raise
    for warning in data_evidence.warnings:
        ctx.warn(warning)
    _refuse_incomplete_logs(store, record, (stdout, stderr))
    return record


def _open_logs(staging: Staging, redactor: TextRedactor, stop: StopRequest) -> tuple[RedactingLog, RedactingLog]:
    """Before anything runs: a store that cannot take a new file is an error (exit 2), not a run."""
    opened: list[RedactingLog] = []
    try:
        for name in ("stdout.log", "stderr.log"):
            opened.append(RedactingLog(staging.path / name, redactor, on_failure=stop.request))
    except OSError as exc:
        for log in opened:
            log.close()
        raise StoreError(f"{staging.path}: cannot start a run: {exc.strerror or exc}") from exc
    return opened[0], opened[1]


def _as_ended(
    result: ExecutionResult, logs: tuple[RedactingLog, RedactingLog], interrupts: Interrupts
) -> ExecutionResult:
    """The executor's result, corrected by what happened around it: a log that could not be
    written makes a run that succeeded a failure (its output is not all kept), and a signal that
    came after the command ended, while its evidence was collected, makes it interrupted (the
    command's own exit code and signal stay as they were)."""
    status, error = result.status, result.error
    failed = [log for log in logs if log.failure is not None]
    if failed and status == "succeeded":
        status, error = "failed", f"{failed[0].path.name} could not be written ({failed[0].failure})"
    late = interrupts.after_command
    if late and status != "interrupted":
        status = "interrupted"
        why = f"interrupted by {late[0]} after the command ended, while its evidence was being collected"
        error = f"{why}; {error}" if error else why
    notes = (*result.notes, *(note for log in logs for note in log.notes()))
    return replace(result, status=status, error=error, notes=notes)


def _exit(code: int | None) -> str:
    return "no exit code" if code is None else f"exit {code}"


def _ended(record: RunRecord) -> str:
    ident = record.identity
    return f"the command {ident.status} ({_exit(ident.exit_code)}{': ' + ident.error if ident.error else ''})"


def _not_recorded(
    exc: StoreWriteError,
    store: RunStore,
    staging: Staging,
    data: DataCapture,
    logs: tuple[RedactingLog, ...],
    ended: str,
) -> StoreWriteError:
    """The store could not take the record: one line naming the store and why. A half-written
    record never reaches runs/ (see RunStore.commit); the staging folder is removed, and named
    when it cannot be (a read-only store)."""
    for log in logs:
        log.close()
    data.close()
    if (store.runs_dir / staging.run_id).exists():
        return exc  # recorded, but not made durable: the message says so
    store.discard(staging)
    left = f"its partial files are left in {staging.path}" if staging.path.exists() else "nothing was kept"
    return StoreWriteError(f"{exc.message}; {ended}; {left}")


def _refuse_incomplete_logs(store: RunStore, record: RunRecord, logs: tuple[RedactingLog, RedactingLog]) -> None:
    """A run whose log could not be written is recorded, and then reported as a store failure:
    its output is not all kept, so auditor never exits as if the run were fully captured."""
    for log in logs:
        if log.failure is not None:
            ident = record.identity
            raise StoreWriteError(
                f"{store.root}: {log.path.name} could not be written ({log.failure}); run {ident.run_id} is "
                f"recorded as {ident.status} ({_exit(ident.exit_code)}) with its output incomplete"
            )


def _evidence_failed(exc: Exception) -> DataEvidence:
    why = Missing(reason=f"could not be captured: internal error {type(exc).__name__}: {exc}")
    return DataEvidence(
        lineage=why, fairness=why, warnings=[f"lineage and fairness {why.reason}"], model_card=why, code=why
    )


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


def _once_running(running: threading.Event, collect: Callable[[], T]) -> T:
    """`collect` once the command runs: the hardware is read (psutil's import, /proc, NVML: ~30 ms
    of CPU) while auditor waits on the command, not while it starts it."""
    running.wait(COLLECT_TIMEOUT_S)  # set at the latest when the command has ended (capture_run)
    return collect()


def _cancel_on_interrupt(future: Future[T], pending: list[str], cancel: threading.Event) -> None:
    """Ctrl-C while the environment is still being collected: stop collecting (the probe's
    container is removed) so the run is recorded now, with that evidence marked missing."""
    deadline = time.monotonic() + COLLECT_TIMEOUT_S
    while not future.done() and time.monotonic() < deadline:
        if pending:
            cancel.set()
            return
        wait([future], timeout=0.05)  # back at once when it is done: no poll interval added to the run


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
