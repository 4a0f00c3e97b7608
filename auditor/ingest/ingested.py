"""One run as another tool recorded it (`Ingested`), and the run record made of it.

An ingester reads another tool's files into an `Ingested` value; `build_record` turns it into a
run record in which every section the tool does not capture is `Missing("not captured by TOOL")`,
so a rule on it is "could not evaluate", never a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from auditor import __version__
from auditor.capture.model.card import reported_model_card
from auditor.errors import IngestError
from auditor.record.base import Missing
from auditor.record.code import Code
from auditor.record.ids import new_ulid
from auditor.record.lineage import Dataset, Lineage, ModelArtifact, ProjectInfo, Step
from auditor.record.model_card import InspectedModel
from auditor.record.models import (
    DeclaredRequirements,
    Environment,
    Hardware,
    Identity,
    Metric,
    Origin,
    Outputs,
    ParamValue,
    ReportedSource,
    Resources,
    RunRecord,
    RunStatus,
    TimeBasis,
)


def not_captured(tool: str, what: str = "") -> Missing:
    return Missing(reason=f"not captured by {tool}" + (f": {what}" if what else ""))


@dataclass
class Ingested:
    """One run as another tool recorded it. Optional evidence left as None becomes Missing."""

    tool: str  # "MLflow", "DVC", "OpenLineage"
    tool_version: str | None
    source_uri: str  # the path or URI the user gave
    source_run_id: str | None
    project: str
    started_at: datetime
    ended_at: datetime | None  # None only when the status is "unfinished"
    status: RunStatus
    name: str | None = None
    exit_code: int | None = None
    error: str | None = None
    user: str | None = None
    host: str | None = None
    argv: tuple[str, ...] = ()
    cwd: str = ""
    source: ReportedSource | Missing | None = None
    declared: DeclaredRequirements | Missing | None = None
    datasets: tuple[Dataset, ...] = ()
    steps: tuple[Step, ...] = ()
    models: tuple[ModelArtifact, ...] = ()
    inspected_models: dict[str, InspectedModel | Missing] = field(default_factory=dict)  # by model id
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    notes: tuple[str, ...] = ()  # what the ingester met: legacy formats, skipped entries, ...
    time_basis: TimeBasis = "recorded"  # "git_commit" or "file_mtime" when the tool records no times
    time_note: str | None = None  # the evidence for the times: which commit, which file
    # What the tool reported of parts auditor observes for its own runs ("hardware.gpus": "2 x H100"),
    # by record part: shown in the part's Missing reason, never as observed evidence.
    reported: dict[str, str] = field(default_factory=dict)
    # The code the run executed, where the tool names it and its files can be read (DVC's code deps).
    code: Code | Missing | None = None


def utc(ms: int | float | None) -> datetime | None:
    """A timestamp in milliseconds since the epoch (MLflow's unit), or None."""
    if ms is None or not isinstance(ms, int | float) or not math.isfinite(ms):
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def build_record(ingested: Ingested, run_id: str | None = None) -> RunRecord:
    tool = ingested.tool
    gap = not_captured(tool)
    started = ingested.started_at
    ended = None if ingested.status == "unfinished" or ingested.ended_at is None else max(started, ingested.ended_at)
    identity = Identity(
        run_id=run_id or new_ulid(int(started.timestamp() * 1000)),
        project=ingested.project,
        name=ingested.name,
        argv=ingested.argv,
        cwd=ingested.cwd,
        started_at=started,
        ended_at=ended,
        duration_s=None if ended is None else (ended - started).total_seconds(),
        exit_code=ingested.exit_code,
        status=ingested.status,
        error=ingested.error,
        user=ingested.user,
        host=ingested.host,
        auditor_version=__version__,
        time_basis=ingested.time_basis,
        time_note=ingested.time_note,
    )

    def part(name: str) -> Missing:
        said = ingested.reported.get(name)
        return Missing(reason=f"reported by {tool}, not observed by auditor: {said}") if said else gap

    environment = Environment(
        os=part("environment.os"),
        python=part("environment.python"),
        packages=not_captured(tool, "the installed packages (the declared requirements are kept separately)"),
        locale=gap,
        timezone=gap,
        variables=(),
        declared=ingested.declared if ingested.declared is not None else gap,
    )
    lineage = Lineage(
        spec_path=None,
        spec_sha256=None,
        project=ProjectInfo(name=ingested.project, owner=ingested.owner),
        datasets=ingested.datasets,
        steps=ingested.steps,
        models=ingested.models,
        observed=not_captured(tool, "which files the run read and wrote"),
        graph=_graph(ingested, identity.run_id),
        notes=ingested.notes,
    )
    parts = ["environment.os", "environment.python", "environment.packages", "hardware", "resources.cpu"]
    parts += ["outputs.logs", "lineage.observed", "fairness"]
    if ingested.source is None or isinstance(ingested.source, Missing):
        parts.append("source")
    no_code = Missing(reason=f"{tool} does not record the code's content")
    record = RunRecord(
        identity=identity,
        origin=Origin(
            kind="ingested",
            tool=tool,
            tool_version=ingested.tool_version,
            source_uri=ingested.source_uri,
            source_run_id=ingested.source_run_id,
            not_captured=tuple(parts),
        ),
        source=ingested.source if ingested.source is not None else gap,
        environment=environment,
        hardware=Hardware(cpu=part("hardware.cpu"), memory=part("hardware.memory"), gpus=part("hardware.gpus")),
        resources=Resources(
            wall_s=identity.duration_s if ingested.time_basis == "recorded" else None,
            user_cpu_s=None,
            system_cpu_s=None,
            peak_rss_bytes=None,
        ),
        outputs=Outputs(stdout=None, stderr=None, notes=(f"{tool} keeps no command logs",)),
        lineage=lineage,
        fairness=not_captured(tool, "no fairness evaluation"),
        params=ingested.params,
        metrics=ingested.metrics,
        tags=ingested.tags,
        model_card=reported_model_card(tool, ingested.models, ingested.params, ingested.inspected_models),
        code=ingested.code if ingested.code is not None else no_code,
    )
    return record


def _graph(ingested: Ingested, run_id: str) -> dict[str, object]:
    from auditor.capture.lineage import lineage_graph

    try:
        graph = lineage_graph(ingested.datasets, ingested.steps, ingested.models, run_id, not_captured(ingested.tool))
    except RuntimeError as exc:  # a hostile or broken source can describe a cyclic pipeline
        raise IngestError(ingested.source_uri, None, f"the recorded pipeline is not acyclic: {exc}") from exc
    return graph.node_link_data()
