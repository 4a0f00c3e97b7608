"""From what capture collected to one run record.

Kept apart from run.py, which decides when each piece is collected (before, beside or after
the command) and what happens on an interrupt; here nothing waits and nothing is slow: only
the user, host and timezone are read, as the record is put together."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import main as pydantic_main

from auditor import __version__
from auditor.capture.collect.system import collect_timezone
from auditor.capture.data import DataEvidence
from auditor.capture.execute.interface import ExecutionResult, RunEnvironment
from auditor.capture.logsink import RedactingLog
from auditor.capture.redact import RedactionPolicy, TextRedactor
from auditor.project.spec import ProjectSpec
from auditor.record.lineage import FileAccess, Lineage, Observation, ProjectInfo
from auditor.record.models import (
    CpuInfo,
    DeclaredRequirements,
    Distribution,
    Environment,
    EnvVar,
    GitSource,
    Gpu,
    Gpus,
    Hardware,
    Identity,
    LocaleInfo,
    LogFile,
    MemoryInfo,
    Missing,
    NoGpu,
    NotARepository,
    Origin,
    OsInfo,
    Outputs,
    Packages,
    PythonInfo,
    Resources,
    RunRecord,
    TimezoneInfo,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from auditor.capture.request import CaptureRequest

# The models first built once the command runs (found by tracing `auditor run -- python3 -c pass`),
# leaves first, so each build reuses the schemas of the models it holds; RunRecord, last,
# validates the whole record (capture/run.py's last pass). The environment's and the hardware's are
# listed too, although their collectors instantiate them meanwhile: RunRecord's build reuses only
# the schemas of models already built, and would otherwise generate theirs again. One left out of
# this list is built when first used, as before; one listed that a run never uses costs a build.
ASSEMBLED: tuple[type[BaseModel], ...] = (
    OsInfo,
    PythonInfo,
    Distribution,
    Packages,
    LocaleInfo,
    CpuInfo,
    MemoryInfo,
    Gpu,
    Gpus,
    NoGpu,
    Hardware,
    ProjectInfo,
    ProjectSpec,
    FileAccess,
    Observation,
    Lineage,
    Identity,
    EnvVar,
    TimezoneInfo,
    Environment,
    Origin,
    Resources,
    LogFile,
    Outputs,
    RunRecord,
)


def build_models(models: tuple[type[BaseModel], ...] = ASSEMBLED) -> None:
    """Build the validators of `models` now (the record models defer their build: record/base.py).

    capture/run.py calls this on a thread while the command runs and auditor only waits on it,
    so the builds (~30 ms of CPU for a minimal run) no longer follow the command. Only with a
    pydantic that serializes model builds under one lock (`_rebuild_lock`, in main.py): without
    it, a build here and one on another thread (the collectors', which instantiate their models
    meanwhile) could see each other's half-built class. Otherwise, or when a build fails here,
    nothing is built: each model is built where it is first used, as before, and a failure is
    raised there."""
    if getattr(pydantic_main, "_rebuild_lock", None) is None:
        return
    for model in models:
        try:
            model.model_rebuild()
        except Exception:  # raised again, and reported, where the model is used
            return


@dataclass(frozen=True)
class Collected:
    """Everything about the run except what the command did and the data it touched."""

    source: GitSource | NotARepository | Missing
    declared: DeclaredRequirements | Missing
    environment: RunEnvironment
    hardware: Hardware


def assemble(
    request: CaptureRequest,
    run_id: str,
    project: str,
    result: ExecutionResult,
    evidence: Collected,
    data: DataEvidence,
    policy: RedactionPolicy,
    redactor: TextRedactor,
    logs: tuple[RedactingLog, RedactingLog],
) -> RunRecord:
    """The record as the run left it, before a reproduction's verdict and the last redaction pass."""
    stdout, stderr = logs
    identity = Identity(
        run_id=run_id,
        project=project,
        name=request.name,
        argv=tuple(redactor(arg)[0] for arg in policy.argv(request.argv)),
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
        time_basis="observed",
    )
    variables = policy.environment(request.env)
    found = evidence.environment
    environment = Environment(
        os=found.os,
        python=_redact_python(found.python.python, redactor),
        packages=found.python.packages,
        locale=found.python.locale,
        timezone=collect_timezone(request.env),
        variables=variables,
        declared=evidence.declared,
    )
    return RunRecord(
        identity=identity,
        origin=Origin(kind="executed", executor=request.executor.name),
        source=evidence.source,
        environment=environment,
        hardware=evidence.hardware,
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
        lineage=data.lineage,
        fairness=data.fairness,
        params=data.params,
        metrics=data.metrics,
        tags=data.tags,
        container=request.executor.section(found, variables),
        governance=data.governance,
        model_card=data.model_card,
        code=data.code,
    )


def _redact_python(python: PythonInfo | Missing, redactor: TextRedactor) -> PythonInfo | Missing:
    """sys.path is built from PYTHONPATH and .pth files, so it can carry pieces of secrets."""
    if isinstance(python, Missing):
        return python
    return python.model_copy(update={"sys_path": tuple(redactor(p)[0] for p in python.sys_path)})


def _dropped(log: RedactingLog) -> tuple[str, ...]:
    if not log.dropped:
        return ()
    return (f"{log.path.name}: {log.dropped} bytes written after the command ended were not kept",)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
