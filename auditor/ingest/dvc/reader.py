"""`auditor ingest dvc`: a DVC repository's pipeline, as it was last reproduced, as one run record.

The files are read directly (dvc.yaml, dvc.lock, params and metrics files), not through DVC's
Python API: DVC is a large application (about a hundred packages), not a library auditor may
depend on, and everything a reader needs is in those few documented files. Reading them
directly also reads the lock exactly as written, legacy entries included, instead of DVC's
interpretation of it.

What DVC records, and so what the record can hold: each stage's command, the MD5 of every
dependency and output when it last ran, the parameter values it used. What it does not: when
anything ran (the times here are file modification times: approximations), the exit code,
logs, the environment or hardware (`build_record` marks those "not captured by DVC"), and
which DVC wrote the lock. Its MD5s are identity hints, never integrity hashes; `rehash=True`
recomputes them to report what changed since dvc.lock, and takes SHA-256 hashes of what did not.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import IngestError
from auditor.files import exists
from auditor.ingest.dvc import TOOL
from auditor.ingest.dvc.code import CodeCheck
from auditor.ingest.dvc.files import MAX_IGNORE_BYTES, MAX_PIPELINE_BYTES, find_pipelines, read_bytes
from auditor.ingest.dvc.git import git_source
from auditor.ingest.dvc.lineage import build, is_local, location
from auditor.ingest.dvc.pipeline import Pipeline, StageBudget, join, read_pipeline
from auditor.ingest.dvc.rehash import rehash as rehash_workspace
from auditor.ingest.dvc.values import ValuesFile, flatten, metrics_from, param_value, read_values, record_key
from auditor.ingest.ingested import Ingested
from auditor.record.models import ParamValue

TIMES_NOTE = (
    "times are approximations: DVC records no run times; ended_at is dvc.lock's modification time and "
    "started_at the oldest modification time among the locked outputs (outputs a later `dvc repro` "
    "skipped keep older times)"
)
HINTS_NOTE = "DVC's MD5s are kept as identity hints (MD5 names a version of the data, it does not prove its bytes)"


def read(repo: Path, *, rehash: bool = False) -> list[Ingested]:
    repo = Path(repo)
    if not repo.is_dir():
        raise IngestError(repo, None, "not a folder (a DVC repository holds dvc.yaml)")
    found = find_pipelines(repo)
    if not found.pipelines:
        raise IngestError(repo, None, "no dvc.yaml: not a DVC pipeline (`dvc stage add` writes one)")
    budget = StageBudget()  # one for the whole repository: each dvc.yaml may hold a matrix
    pipelines = [read_pipeline(path, repo, budget) for path in found.pipelines]
    notes = [TIMES_NOTE, HINTS_NOTE, *found.notes, *(n for p in pipelines for n in p.notes)]
    notes += _legacy_notes(pipelines)
    graph = build(pipelines, CodeCheck(repo))
    now = datetime.now(UTC)
    changed: list[str] = []
    if rehash:
        changed = rehash_workspace(graph, repo, now)
        if _dvcignore_patterns(repo):
            notes.append(".dvcignore has patterns: auditor does not apply them, so a folder's MD5 may differ for that")
    notes += graph.notes
    params = _params(pipelines, repo, notes)
    started, ended = _times(pipelines, repo)
    metrics = metrics_from(_metric_files(pipelines, repo, notes), ended, notes)
    locked = any(p.lock is not None for p in pipelines)
    stale = graph.stale if locked else ["no dvc.lock: the pipeline has never been reproduced"]
    notes += [f"not as dvc.lock recorded: {why}" for why in stale]
    notes += [f"changed since dvc.lock: {path}" for path in changed]
    if not rehash:
        notes.append("workspace files not re-hashed (use --rehash to compare them with dvc.lock)")
    return [
        Ingested(
            tool=TOOL,
            tool_version=None,
            source_uri=str(repo),
            source_run_id=_fingerprint(pipelines, repo),
            project=repo.resolve().name or "dvc",
            name=None,
            started_at=started,
            ended_at=ended,
            status="succeeded" if not stale else "interrupted",
            error=None if not stale else "; ".join(stale[:5])[:2000],
            cwd=str(repo),
            source=git_source(repo, notes),
            datasets=tuple(graph.datasets.values()),
            steps=tuple(graph.steps),
            params=params,
            metrics=metrics,
            notes=tuple(notes),
        )
    ]


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


def _dvcignore_patterns(repo: Path) -> bool:
    ignore = repo / ".dvcignore"
    if not exists(ignore):
        return False
    try:  # a FIFO or a link to /dev/zero here must not hang the ingest or fill memory
        text = read_bytes(ignore, ".dvcignore", MAX_IGNORE_BYTES).decode("utf-8", "replace")
    except IngestError:
        return True  # unreadable: it may ignore anything, so say so, as for patterns
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


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


def _times(pipelines: list[Pipeline], repo: Path) -> tuple[datetime, datetime]:
    locks = [p.lock.path for p in pipelines if p.lock is not None]
    marks = [_mtime(path) for path in locks] or [_mtime(repo / p.label) for p in pipelines]
    ended = max((mark for mark in marks if mark is not None), default=None) or datetime.now(UTC)
    outs = [
        _mtime(repo / location(stage.wdir, entry.path))
        for p in pipelines
        if p.lock is not None
        for stage in p.stages
        if (locked := p.lock.stages.get(stage.key)) is not None
        for entry in locked.outs
        if is_local(location(stage.wdir, entry.path))
    ]
    started = min((mark for mark in outs if mark is not None and mark <= ended), default=ended)
    return started, ended


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except (OSError, ValueError, OverflowError):
        return None


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
