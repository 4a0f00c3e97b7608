"""Ingest runs from an MLflow tracking store: the `mlruns` file store (MLflow 2 and 3), the
SQLite store (`mlflow.db`, MLflow 3's default), or a tracking server over its REST API
(auditor.ingest.mlflow.rest). All three fill the same RawRun values, mapped here by one function.

Why the files are read directly, not through MLflow's client:
- MLflow is not a dependency of auditor, and installing it (hundreds of MB, pinned numpy,
  pandas, SQLAlchemy...) to read a few YAML files and tables would drag its whole dependency
  tree into the auditor's environment, and into the packages auditor itself audits.
- No unpickling, ever: the client loads models and some flavors by unpickling; reading files
  as bytes (and hashing them) cannot run a line of the store's code.
- One reader for any MLflow version's files: the client of version N refuses or migrates
  stores of other versions (MLflow 3.17 refuses a file store without
  MLFLOW_ALLOW_FILE_STORE, and upgrades SQLite schemas on open); SQLite is opened read-only.
- Speed: a store of 1,000 runs is read in about a second (benchmarks/ingest_speed.py).
The cost is tracking MLflow's layout ourselves; the tests run MLflow 2 and 3 and compare
every run with what MLflow's own client reports.

What MLflow does not capture (hardware, installed packages, logs) is left Missing by
build_record. Dataset digests are MLflow's display fingerprints: kept as identity hints,
never as integrity hashes. Deleted runs are skipped unless named with run_id. A run MLflow
still shows as RUNNING (or SCHEDULED) is "unfinished", with no end time: it never ended,
whether it is still going or its process died, and auditor cannot tell which.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from auditor.capture.redact import clean_url
from auditor.errors import IngestError
from auditor.files import exists
from auditor.ingest.ingested import Ingested, utc
from auditor.ingest.mlflow import TOOL, is_sqlite
from auditor.ingest.mlflow.artifacts import Found, model_annotations, run_files
from auditor.ingest.mlflow.files import read_file_store
from auditor.ingest.mlflow.model_file import inspect_model_folder
from auditor.ingest.mlflow.raw import RawDataset, RawMetric, RawRun, json_object, safe_id, unique
from auditor.ingest.mlflow.rest import is_server, read_server
from auditor.ingest.mlflow.sqlite import read_sqlite
from auditor.record.base import Missing
from auditor.record.lineage import Column, Dataset, Datasheet, IdentityHint, ModelArtifact
from auditor.record.models import DeclaredRequirements, Metric, ReportedSource, RunStatus

STATUS: dict[str, RunStatus] = {
    "FINISHED": "succeeded",
    "FAILED": "failed",
    "KILLED": "interrupted",
    "RUNNING": "unfinished",
    "SCHEDULED": "unfinished",
}
DIGEST_MEANING = (
    "MLflow's dataset digest: a short fingerprint of the data (of a sample, for large data) made for display;"
    " it names a version of the data, it does not prove the bytes"
)
SOURCE_KEYS = ("uri", "url", "path", "table_name", "delta_table_name", "table", "sql")
Kind = Literal["files", "sqlite"]


def read(source: str, *, run_id: str | None = None, experiment: str | None = None) -> list[Ingested]:
    if is_server(source):
        return read_server(source, ingested, run_id=run_id, experiment=experiment)
    kind, path = locate_store(source)
    if kind == "files":
        raws = read_file_store(path, run_id=run_id, experiment=experiment)
    else:
        raws = read_sqlite(path, run_id=run_id, experiment=experiment)
    now = datetime.now(UTC)
    return [ingested(raw, source, now) for raw in sorted(raws, key=lambda r: (r.start_ms or 0, r.run_id))]


def locate_store(source: str) -> tuple[Kind, Path]:
    """The store a path or URI names: sqlite:///PATH, file:PATH, an mlruns folder (or the
    folder holding it or mlflow.db), or an SQLite file."""
    if source.startswith("sqlite:"):
        if not source.startswith("sqlite:///"):
            raise IngestError(source, None, "expected sqlite:///RELATIVE/PATH or sqlite:////ABSOLUTE/PATH")
        path = Path(unquote(source[len("sqlite:///") :].split("?", 1)[0]))
        if not path.is_file():
            raise IngestError(path, None, "not a regular file" if exists(path) else "no such SQLite file")
        return "sqlite", path
    if source.startswith("file:"):
        parts = urlsplit(source)
        if parts.netloc not in ("", "localhost"):
            raise IngestError(source, None, "only local file: URIs are read")
        path = Path(unquote(parts.path))
    elif "://" in source:
        raise IngestError(
            clean_url(source), None, "expected an mlruns folder, mlflow.db, or a tracking server's http(s):// URL"
        )
    else:
        path = Path(source)
    if path.is_file():
        if is_sqlite(path):
            return "sqlite", path
        raise IngestError(path, None, "neither an mlruns folder nor an SQLite database")
    if not path.is_dir():
        raise IngestError(
            path, None, "neither a regular file nor a folder" if exists(path) else "no such file or folder"
        )
    if (path / "meta.yaml").is_file():
        raise IngestError(
            path, None, "an experiment or run folder: name the mlruns folder (with --experiment or --run-id)"
        )
    if any(path.glob("*/meta.yaml")):
        return "files", path
    files, db = path / "mlruns", path / "mlflow.db"
    if any(files.glob("*/meta.yaml")):
        if db.is_file():
            raise IngestError(path, None, f"holds both {files} and {db}: name the store to read")
        return "files", files
    if db.is_file():
        return "sqlite", db
    raise IngestError(path, None, "no MLflow store here (no <experiment>/meta.yaml, mlruns/ or mlflow.db)")


def ingested(raw: RawRun, source: str, now: datetime) -> Ingested:
    started = utc(raw.start_ms)
    if started is None:
        raise IngestError(raw.where, "start_time", "missing or out of range: MLflow records when every run started")
    metrics, notes = _metrics(raw)
    unfinished = STATUS[raw.status] == "unfinished"
    ended = None if unfinished else utc(raw.end_ms) or max([started, *(m.logged_at for m in metrics)])
    files = run_files(raw, now)
    taken: set[str] = set()
    datasets = [_input(d, taken, notes) for d in raw.datasets]
    datasets += [_artifact(a, taken) for a in files.artifacts]
    models = [_model(m, taken) for m in files.models]
    inspected = {model.id: inspect_model_folder(found) for model, found in zip(models, files.models, strict=True)}
    versions = sorted(
        {m.annotations["mlflow_version"] for m in models if "mlflow_version" in m.annotations}, key=_order
    )
    if raw.datasets:
        notes.append("MLflow's dataset digests are display fingerprints: kept as identity hints, not integrity hashes")
    never_ended = (
        f"MLflow shows the run as {raw.status}: it never ended" if raw.status in ("RUNNING", "SCHEDULED") else None
    )
    if never_ended:
        notes.append(f"{never_ended}: it is still going, or its process died; it is recorded as unfinished")
    if raw.deleted:
        notes.append("MLflow marks this run as deleted")
    tags = dict(raw.tags)
    return Ingested(
        tool=TOOL,
        tool_version=versions[-1] if versions else raw.version_hint,
        source_uri=source,
        source_run_id=raw.run_id,
        project=raw.experiment,
        started_at=started,
        ended_at=ended,
        status=STATUS[raw.status],
        name=raw.name or tags.get("mlflow.runName"),
        error=None,
        user=tags.get("mlflow.user") or raw.user_id or None,
        source=_source(tags),
        declared=DeclaredRequirements(files=tuple(files.requirements)) if files.requirements else None,
        datasets=tuple(datasets),
        models=tuple(models),
        inspected_models=inspected,
        params=dict(raw.params),
        metrics=tuple(metrics),
        tags=tags,
        notes=(*raw.notes, *files.notes, *notes),
    )


def _metrics(raw: RawRun) -> tuple[list[Metric], list[str]]:
    """Every logged value, per key in MLflow's ranking (step, then time, then value), so the last
    value of each name is the one MLflow reports as the metric's latest. NaN and infinities
    cannot be kept in a record: they are named in the notes instead."""
    out: list[Metric] = []
    left_out: dict[str, list[str]] = {}
    ranked: list[RawMetric] = sorted(raw.metrics, key=lambda m: (m.key, m.step, m.timestamp_ms, m.value))
    for m in ranked:
        logged = utc(m.timestamp_ms)
        if logged is None:
            raise IngestError(raw.where, f"metrics.{m.key}", f"timestamp {m.timestamp_ms} is out of range")
        if not math.isfinite(m.value):
            left_out.setdefault(m.key, []).append(f"{m.value} at step {m.step}")
            continue
        out.append(Metric(name=m.key, value=m.value, step=m.step, logged_at=logged))
    notes = [
        f"metric {key!r}: {len(gaps)} value(s) a record cannot hold left out ({', '.join(gaps[:3])})"
        for key, gaps in left_out.items()
    ]
    return out, notes


def _order(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split(".")[:3])


def _source(tags: dict[str, str]) -> ReportedSource | None:
    repo = tags.get("mlflow.source.git.repoURL") or tags.get("mlflow.gitRepoURL")
    commit, branch, path = (tags.get(f"mlflow.source.{k}") for k in ("git.commit", "git.branch", "name"))
    if not (repo or commit or path):
        return None
    return ReportedSource(
        tool=TOOL, repo_url=clean_url(repo) if repo else None, commit=commit, branch=branch, path=path
    )


def _input(raw: RawDataset, taken: set[str], notes: list[str]) -> Dataset:
    source = json_object(raw.source, raw.where, "source")
    text = next((str(source[k]) for k in SOURCE_KEYS if isinstance(source.get(k), str) and source[k]), None)
    if text is None and source:
        text = json.dumps(source, sort_keys=True)[:500]
    clean = clean_url(text) if text else None
    if clean != text:
        notes.append(f"dataset {raw.name!r}: credentials removed from its source")
    annotations = {"name": raw.name, "digest": raw.digest, "source_type": raw.source_type}
    if raw.contexts:
        annotations["context"] = ", ".join(raw.contexts)
    if raw.profile:
        annotations["profile"] = raw.profile[:500]
    columns, schema_kind = _columns(json_object(raw.schema, raw.where, "schema"))
    if schema_kind:
        annotations["schema"] = schema_kind
    return Dataset(
        id=unique(safe_id(f"{raw.name}-{raw.digest}"), taken),
        role="input",
        uri=clean,
        datasheet=Datasheet(source=f"{raw.source_type}: {clean}" if clean else raw.source_type),
        before=IdentityHint(tool=TOOL, algorithm="mlflow-dataset-digest", value=raw.digest, meaning=DIGEST_MEANING),
        columns=columns,
        annotations=annotations,
    )


def _columns(schema: dict[str, object]) -> tuple[tuple[Column, ...], str | None]:
    """Columns from MLflow's column spec; a tensor spec names its tensors, when they have names."""
    colspec, tensorspec = schema.get("mlflow_colspec"), schema.get("mlflow_tensorspec")
    specs: list[object] = []
    if isinstance(colspec, list):
        specs, kind = colspec, "column spec"
    elif isinstance(tensorspec, dict):
        kind = "tensor spec"
        for part in tensorspec.values():
            try:
                loaded = json.loads(part) if isinstance(part, str) else part
            except ValueError:
                continue
            specs += loaded if isinstance(loaded, list) else []
    else:
        return (), ("other" if schema else None)
    columns = []
    for spec in specs:
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            kind_of = spec.get("type")
            tensor = spec.get("tensor-spec")
            if isinstance(tensor, dict):
                kind_of = f"tensor {tensor.get('dtype')} {tensor.get('shape')}"
            columns.append(Column(name=spec["name"], type=str(kind_of) if kind_of is not None else None))
    return tuple(columns), kind


def _artifact(found: Found, taken: set[str]) -> Dataset:
    name = f"/{found.display}".split("/artifacts/", 1)[-1]  # 1/RUN/artifacts/plots, or a server's artifacts/plots
    return Dataset(
        id=unique(safe_id(name, "artifact-"), taken),
        role="output",
        path=found.display,
        datasheet=Datasheet(),
        after=found.after,
        annotations={"artifact": name},
    )


def _model(found: Found, taken: set[str]) -> ModelArtifact:
    candidate = safe_id(found.model_id) if found.model_id else safe_id(found.name or found.path.name, "model-")
    after = found.after if found.after is not None else Missing(reason="not hashed")
    return ModelArtifact(
        id=unique(candidate, taken), path=found.display, after=after, annotations=model_annotations(found)
    )
