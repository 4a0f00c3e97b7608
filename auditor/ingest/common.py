"""What every ingester shares: honest gaps, the record's skeleton, and an all-or-nothing commit.

An ingester reads another tool's files into an `Ingested` value; `build_record` turns it into a
run record in which every section the tool does not capture is `Missing("not captured by TOOL")`,
so a rule on it is "could not evaluate", never a pass. Everything read is untrusted: the record
goes through the same secret redaction as a captured run before it is written, and it is
written only when complete (a corrupt source writes nothing).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.capture.redact import SECRET_NAME, TextRedactor
from auditor.errors import UsageError
from auditor.record.base import Missing
from auditor.record.ids import new_ulid
from auditor.record.lineage import Dataset, Lineage, ModelArtifact, ProjectInfo, Step
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
)
from auditor.store.runs import RunStore

SECRET_MASK = "[REDACTED:secret-name]"  # noqa: S105 - the mask, not a password


class IngestError(UsageError):
    """The source cannot be read: one line naming the file (or URI) and the field. Exit 2."""

    def __init__(self, where: str | Path, field: str | None, problem: str) -> None:
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")
        self.where = str(where)
        self.field = field
        self.problem = problem


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
    ended_at: datetime
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
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    notes: tuple[str, ...] = ()  # what the ingester met: legacy formats, skipped entries, ...


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
    started, ended = ingested.started_at, max(ingested.started_at, ingested.ended_at)
    identity = Identity(
        run_id=run_id or new_ulid(int(started.timestamp() * 1000)),
        project=ingested.project,
        name=ingested.name,
        argv=ingested.argv,
        cwd=ingested.cwd,
        started_at=started,
        ended_at=ended,
        duration_s=(ended - started).total_seconds(),
        exit_code=ingested.exit_code,
        status=ingested.status,
        error=ingested.error,
        user=ingested.user,
        host=ingested.host,
        auditor_version=__version__,
    )
    environment = Environment(
        os=gap,
        python=gap,
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
        hardware=Hardware(cpu=gap, memory=gap, gpus=gap),
        resources=Resources(wall_s=identity.duration_s, user_cpu_s=None, system_cpu_s=None, peak_rss_bytes=None),
        outputs=Outputs(stdout=None, stderr=None, notes=(f"{tool} keeps no command logs",)),
        lineage=lineage,
        fairness=not_captured(tool, "no fairness evaluation"),
        params=ingested.params,
        metrics=ingested.metrics,
        tags=ingested.tags,
    )
    return record


def _graph(ingested: Ingested, run_id: str) -> dict[str, object]:
    from auditor.capture.lineage import lineage_graph

    try:
        graph = lineage_graph(ingested.datasets, ingested.steps, ingested.models, run_id, not_captured(ingested.tool))
    except RuntimeError as exc:  # a hostile or broken source can describe a cyclic pipeline
        raise IngestError(ingested.source_uri, None, f"the recorded pipeline is not acyclic: {exc}") from exc
    return graph.node_link_data()


def existing_ingests(store: RunStore) -> dict[tuple[str, str, str | None], str]:
    """Earlier ingests in the store, by (tool, source URI, the tool's run id) -> auditor's run id.

    Read once per `auditor ingest`, from each record's `origin` as plain JSON: looking each new
    run up by loading and validating every stored record made ingest quadratic in the run count.
    A record that cannot be read is skipped here; `auditor runs` reports it."""
    found: dict[tuple[str, str, str | None], str] = {}
    if not store.runs_dir.is_dir():
        return found
    for run_id in store.run_ids():
        try:
            origin = json.loads(store.record_path(run_id).read_bytes()).get("origin") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(origin, dict) and origin.get("kind") == "ingested":
            key = (str(origin.get("tool")), str(origin.get("source_uri")), origin.get("source_run_id"))
            found.setdefault(key, run_id)
    return found


def commit(store: RunStore, record: RunRecord, secrets: Mapping[str, str] | None = None) -> Path:
    """Redact, validate and write one record; nothing is left behind if any step fails."""
    redactor = TextRedactor(tuple((secrets or {}).values()))
    data = record.model_dump(mode="json")
    _mask_named(data)
    clean = RunRecord.model_validate(redactor.data(data))
    staging = store.begin(clean.identity.run_id)
    try:
        return store.commit(staging, clean)
    except BaseException:
        store.discard(staging)
        raise


def _mask_named(data: dict[str, Any]) -> None:
    """Values under secret-looking names (db_password, AWS_SECRET_ACCESS_KEY, fs.s3a.secret.key)
    in params, tags and annotations, nested JSON included: token shapes alone miss them."""
    for section in ("params", "tags"):
        if isinstance(data.get(section), dict):
            data[section] = _masked(data[section])
    lineage = data.get("lineage")
    if isinstance(lineage, dict):
        for kind in ("datasets", "steps", "models"):
            for item in lineage.get(kind) or ():
                if isinstance(item, dict) and isinstance(item.get("annotations"), dict):
                    item["annotations"] = _masked(item["annotations"])


def _masked(mapping: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if SECRET_NAME.search(str(key)) and value not in (None, ""):
            out[key] = SECRET_MASK
        elif isinstance(value, dict):
            out[key] = _masked(value)
        elif isinstance(value, list):
            out[key] = [_masked(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, str) and value[:1] in "{[":
            out[key] = _masked_json(value)
        else:
            out[key] = value
    return out


def _masked_json(text: str) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict):
        return json.dumps(_masked(parsed), sort_keys=True, separators=(",", ":"))
    if isinstance(parsed, list):
        return json.dumps([_masked(v) if isinstance(v, dict) else v for v in parsed], separators=(",", ":"))
    return text


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
