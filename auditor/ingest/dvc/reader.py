"""`auditor ingest dvc`: a DVC repository's pipeline, as it was last reproduced, as one run record.

The files are read directly (dvc.yaml, dvc.lock, params and metrics files), not through DVC's
Python API: DVC is a large application (about a hundred packages), not a library auditor may
depend on, and everything a reader needs is in those few documented files. Reading them
directly also reads the lock exactly as written, legacy entries included, instead of DVC's
interpretation of it.

What DVC records, and so what the record can hold: each stage's command, the MD5 of every
dependency and output when it last ran, the parameter values it used; data `dvc add` and
`dvc import` track (`.dvc` files, dvc/dvcfile.py); the models `artifacts:` names
(dvc/artifacts.py). What it does not: when anything ran (the times here are the dates of the
commits that recorded each stage's result, dvc/history.py), the exit code, logs, the
environment or hardware (`build_record` marks those "not captured by DVC"), and which DVC
wrote the lock. Its MD5s are identity hints, never integrity hashes; `rehash=True` recomputes
them to report what changed since dvc.lock and what is absent from the workspace, and takes
SHA-256 hashes of what did not change. Requirements files (requirements.txt at the root, or
one a stage depends on) are kept as the declared environment (dvc/requirements.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import IngestError
from auditor.ingest.dvc import TOOL
from auditor.ingest.dvc.artifacts import inspect_models, models_from
from auditor.ingest.dvc.code import CodeCheck, stage_code
from auditor.ingest.dvc.dvcfile import as_inputs, read_dvcfile
from auditor.ingest.dvc.files import MAX_PIPELINE_BYTES, find_pipelines, read_bytes
from auditor.ingest.dvc.git import git_source
from auditor.ingest.dvc.history import pipeline_times
from auditor.ingest.dvc.ignore import DvcIgnore
from auditor.ingest.dvc.lineage import build, is_local, location
from auditor.ingest.dvc.pipeline import Pipeline, StageBudget, join, read_pipeline
from auditor.ingest.dvc.rehash import Rehashed
from auditor.ingest.dvc.rehash import rehash as rehash_workspace
from auditor.ingest.dvc.requirements import declared_requirements
from auditor.ingest.dvc.values import ValuesFile, flatten, metrics_from, param_value, read_values, record_key
from auditor.ingest.ingested import Ingested
from auditor.record.lineage import Step
from auditor.record.models import ParamValue

HINTS_NOTE = "DVC's MD5s are kept as identity hints (MD5 names a version of the data, it does not prove its bytes)"


def read(repo: Path, *, rehash: bool = False) -> list[Ingested]:
    repo = Path(repo)
    if not repo.is_dir():
        raise IngestError(repo, None, "not a folder (a DVC repository holds dvc.yaml)")
    ignore = DvcIgnore(repo)
    found = find_pipelines(repo, ignore.ignored)
    if not found.pipelines and not found.dvcfiles:
        raise IngestError(repo, None, "no dvc.yaml and no .dvc file: not a DVC pipeline (`dvc stage add` writes one)")
    budget = StageBudget()  # one for the whole repository: each dvc.yaml may hold a matrix
    pipelines = [read_pipeline(path, repo, budget) for path in found.pipelines]
    tracked = [read_dvcfile(path, repo, budget) for path in found.dvcfiles]
    every = pipelines + [t.pipeline for t in tracked]
    notes = [HINTS_NOTE, *found.notes, *(n for p in pipelines for n in p.notes)]
    notes += _legacy_notes(every)
    graph = build(every, CodeCheck(repo))
    as_inputs(graph, tracked)
    now = datetime.now(UTC)
    workspace = Rehashed()
    if rehash:
        workspace = rehash_workspace(graph, repo, now, ignore.ignored)
    models = models_from(pipelines, graph)
    notes += ignore.notes
    notes += graph.notes
    params = _params(pipelines, repo, notes)
    times = pipeline_times(repo, every)
    notes += times.notes
    metrics = metrics_from(_metric_files(pipelines, repo, notes), times.ended, notes)
    locked = any(p.lock is not None for p in pipelines) or not pipelines
    stale = graph.stale if locked else ["no dvc.lock: the pipeline has never been reproduced"]
    notes += [f"not as dvc.lock recorded: {why}" for why in stale]
    notes += [f"changed since dvc.lock: {path}" for path in workspace.changed]
    notes += [f"absent from the workspace (not pulled?): {path}" for path in workspace.absent]
    if not rehash:
        notes.append("workspace files not re-hashed (use --rehash to compare them with dvc.lock)")
    steps = [_dated(step, times.stages.get(step.name)) for step in graph.steps]
    return [
        Ingested(
            tool=TOOL,
            tool_version=None,
            source_uri=str(repo),
            source_run_id=_fingerprint(every, repo),
            project=repo.resolve().name or "dvc",
            name=None,
            started_at=times.started,
            ended_at=times.ended,
            status="succeeded" if not stale else "interrupted",
            error=None if not stale else "; ".join(stale[:5])[:2000],
            cwd=str(repo),
            source=git_source(repo, notes),
            declared=declared_requirements(repo, pipelines, notes),
            datasets=tuple(graph.datasets.values()),
            steps=tuple(steps),
            models=tuple(models),
            inspected_models=inspect_models(repo, models),
            params=params,
            metrics=metrics,
            notes=tuple(notes),
            time_basis=times.basis,
            time_note=times.note,
            code=stage_code(repo, graph.datasets.values()),
        )
    ]


def _dated(step: Step, when: str | None) -> Step:
    return step.model_copy(update={"annotations": {**step.annotations, "dvc.committed": when}}) if when else step


def _legacy_notes(pipelines: list[Pipeline]) -> list[str]:
    notes = []
    for pipeline in pipelines:
        lock = pipeline.lock
        if lock is None:
            continue
        if lock.schema == "1":
            notes.append(f"{lock.label}: DVC 1's unversioned format: every MD5 in it is md5-legacy")
            continue
        legacy = sorted({s.name for s in lock.stages.values() for e in (*s.deps, *s.outs) if e.legacy and e.md5})
        if legacy:
            notes.append(
                f"{lock.label}: entries without `hash:` (written by DVC 2) in stages {', '.join(legacy)}: "
                "their MD5s are md5-legacy (text hashed with CRLF turned into LF)"
            )
        if lock.datasets:
            notes.append(f"{lock.label}: {lock.datasets} `datasets:` entries not read")
    return notes


def _params(pipelines: list[Pipeline], repo: Path, notes: list[str]) -> dict[str, ParamValue]:
    """Every params file's current values, with the values dvc.lock recorded taking precedence."""
    labels: list[str] = ["params.yaml"] if (repo / "params.yaml").is_file() else []
    for pipeline in pipelines:
        labels += [join(pipeline.folder, file) for file in pipeline.params]
        for stage in pipeline.stages:
            labels += [join(stage.wdir, file) for file, _ in stage.params]
    params: dict[str, ParamValue] = {}
    for label in dict.fromkeys(labels):
        loaded = read_values(repo / label, label, repo, notes, "params")
        for key, value in (loaded.values if loaded else {}).items():
            params[record_key(label, key)] = param_value(value)
    recorded: dict[str, tuple[str, ParamValue]] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages:
            lock = pipeline.lock.stages.get(stage.key) if pipeline.lock else None
            for file, values in (lock.params if lock else {}).items():
                label = join(stage.wdir, file)
                for top, value in values.items():
                    for key, leaf in flatten(value, str(top)) if isinstance(value, dict) else [(str(top), value)]:
                        name, kept = record_key(label, key), param_value(leaf)
                        if name in recorded and recorded[name][1] != kept:
                            notes.append(
                                f"params: {name}: stages {recorded[name][0]} and {stage.name} "
                                "recorded different values; the first is kept"
                            )
                            continue
                        recorded.setdefault(name, (stage.name, kept))
    for name, (_, kept) in recorded.items():
        if name in params and params[name] != kept:
            notes.append(
                f"params: {name} is {params[name]!r:.60} in the workspace, {kept!r:.60} in dvc.lock "
                "(the run used dvc.lock's value)"
            )
        params[name] = kept
    if params and any(name not in recorded for name in params):
        notes.append("params: values no stage tracks are the params files' current values (DVC did not record them)")
    return params


def _metric_files(pipelines: list[Pipeline], repo: Path, notes: list[str]) -> list[ValuesFile]:
    labels: list[str] = []
    for pipeline in pipelines:
        for stage in pipeline.stages:
            labels += [
                location(stage.wdir, out.path)
                for out in stage.outs
                if out.kind == "metrics" or out.flags.get("metric") == "true"
            ]
        labels += [location(pipeline.folder, path) for path in pipeline.metrics]
    files = []
    for label in dict.fromkeys(labels):
        if not is_local(label):
            notes.append(f"metrics {label}: not a path inside the repository: not read")
        elif loaded := read_values(repo / label, label, repo, notes, "metrics"):
            files.append(loaded)
    return files


def _fingerprint(pipelines: list[Pipeline], repo: Path) -> str:
    """The run's id at the source: a new `dvc repro` rewrites dvc.lock, so a new lock is a new run."""
    digest = hashlib.sha256()
    for pipeline in pipelines:
        path = pipeline.lock.path if pipeline.lock else repo / pipeline.label
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
        try:
            digest.update(read_bytes(path, pipeline.label, MAX_PIPELINE_BYTES))
        except IngestError:
            digest.update(b"\0unreadable")
    kind = "dvc.lock" if any(p.lock for p in pipelines) else "dvc.yaml"
    return f"{kind}@sha256:{digest.hexdigest()[:16]}"
