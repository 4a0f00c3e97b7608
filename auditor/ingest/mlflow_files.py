"""MLflow's file store (`mlruns/`), read as plain files, the way MLflow 2 and 3 write it.

Layout: `<experiment id>/meta.yaml`; `<experiment>/<run id>/meta.yaml` (status as a number,
times in epoch ms), `params/`, `tags/` (one file per key, the value as its text; a key with
'/' is a sub-folder), `metrics/` (one line "timestamp value step" per logged value),
`inputs/<id>/meta.yaml` pointing at `<experiment>/datasets/<id>/meta.yaml`; MLflow 3 adds
`outputs/<model id>/meta.yaml` and `<experiment>/models/m-*/` for logged models. `.trash`
(deleted experiments) and `models/` at the top (the model registry) are not experiments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from auditor.ingest.common import IngestError
from auditor.ingest.mlflow_raw import (
    MAX_METRIC_BYTES,
    RawDataset,
    RawMetric,
    RawModel,
    RawRun,
    int_field,
    load_yaml_mapping,
    read_text,
    status_name,
    text_field,
)

NOT_EXPERIMENTS = {".trash", "models"}
NOT_RUNS = {"tags", "datasets", "traces", "models"}


@dataclass
class _Experiment:
    id: str
    name: str
    folder: Path
    layout3: bool  # the experiment's meta.yaml or folders show MLflow 3
    datasets: dict[str, RawDataset] = field(default_factory=dict)
    models: dict[str, RawModel] | None = None


def read_file_store(root: Path, *, run_id: str | None, experiment: str | None) -> list[RawRun]:
    experiments = [e for e in _experiments(root) if experiment is None or experiment in (e.name, e.id)]
    if experiment is not None and not experiments:
        raise IngestError(root, "experiment", f"no experiment named {experiment!r} in the store")
    runs: list[RawRun] = []
    for exp in experiments:
        if run_id is not None:
            folder = exp.folder / run_id
            if run_id not in NOT_RUNS and (folder.is_dir() or folder.is_symlink()):
                runs.append(_run(root, exp, _checked_dir(folder)))
            continue
        for entry in _subdirs(exp.folder):
            if entry.name not in NOT_RUNS:
                run = _run(root, exp, entry)
                if not run.deleted:  # MLflow's own views hide deleted runs too
                    runs.append(run)
    if run_id is not None and not runs:
        raise IngestError(root, "run_id", f"no run {run_id!r} in the store")
    return runs


def _experiments(root: Path) -> list[_Experiment]:
    out = []
    for folder in _subdirs(root):
        if folder.name in NOT_EXPERIMENTS or folder.name.startswith("."):
            continue
        meta_path = folder / "meta.yaml"
        meta = load_yaml_mapping(meta_path)
        exp_id = text_field(meta, "experiment_id", meta_path) or folder.name
        name = text_field(meta, "name", meta_path) or exp_id
        layout3 = "workspace" in meta or (folder / "models").is_dir()
        out.append(_Experiment(exp_id, name, folder, layout3))
    return out


def _subdirs(folder: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise IngestError(folder, None, f"cannot list: {exc.strerror or exc}") from exc
    return [_checked_dir(Path(e.path)) for e in entries if e.is_dir() or e.is_symlink()]


def _checked_dir(path: Path) -> Path:
    if path.is_symlink():
        raise IngestError(path, None, "a symbolic link: not followed (MLflow does not create them)")
    return path


def _run(root: Path, exp: _Experiment, folder: Path) -> RawRun:
    meta_path = folder / "meta.yaml"
    meta = load_yaml_mapping(meta_path)
    run_id = text_field(meta, "run_id", meta_path, required=False) or text_field(meta, "run_uuid", meta_path)
    if run_id != folder.name:
        raise IngestError(meta_path, "run_id", f"{run_id!r} does not match the run's folder {folder.name!r}")
    layout3 = exp.layout3 or (folder / "outputs").is_dir()
    run = RawRun(
        run_id=run_id,
        experiment_id=exp.id,
        experiment=exp.name,
        name=text_field(meta, "run_name", meta_path, required=False),
        status=status_name(meta.get("status"), meta_path),
        start_ms=int_field(meta, "start_time", meta_path),
        end_ms=int_field(meta, "end_time", meta_path),
        user_id=text_field(meta, "user_id", meta_path, required=False),
        deleted=meta.get("lifecycle_stage") == "deleted",
        artifact_uri=text_field(meta, "artifact_uri", meta_path, required=False) or "",
        where=str(meta_path),
        store_root=root,
        fallback_artifacts=folder / "artifacts",
        version_hint="3.x" if layout3 else None,
    )
    run.params = _values(f"{folder}/params", "params")
    run.tags = _values(f"{folder}/tags", "tags")
    run.metrics = _metrics(f"{folder}/metrics")
    run.datasets = _inputs(folder / "inputs", exp)
    run.models = _models(folder, exp, run_id)
    return run


def _files(folder: str, prefix: str = "") -> list[tuple[str, str]]:
    """Every (key, file) below a params/tags/metrics folder; a key with '/' is a sub-folder.
    Paths stay strings here: this runs for every value of every run."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise IngestError(folder, None, f"cannot list: {exc.strerror or exc}") from exc
    out: list[tuple[str, str]] = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            out += _files(entry.path, f"{prefix}{entry.name}/")
        else:
            out.append((prefix + entry.name, entry.path))
    return out


def _values(folder: str, kind: str) -> dict[str, str]:
    return {key: read_text(path, f"{kind}.{key}") for key, path in _files(folder)}


def _metrics(folder: str) -> list[RawMetric]:
    out: list[RawMetric] = []
    for key, path in _files(folder):
        for number, line in enumerate(read_text(path, f"metrics.{key}", MAX_METRIC_BYTES).splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (2, 3, 5):  # 5: MLflow 3 adds the dataset name and digest
                raise IngestError(path, _line(key, number), f"expected 'timestamp value step', found {line[:80]!r}")
            try:
                timestamp = int(parts[0])
            except ValueError:
                raise IngestError(
                    path, _line(key, number), f"timestamp {parts[0][:40]!r} is not a whole number"
                ) from None
            try:
                value = float(parts[1])
            except ValueError:
                raise IngestError(path, _line(key, number), f"value {parts[1][:40]!r} is not a number") from None
            try:
                step = int(parts[2]) if len(parts) > 2 else 0
            except ValueError:
                raise IngestError(path, _line(key, number), f"step {parts[2][:40]!r} is not a whole number") from None
            out.append(RawMetric(key, value, timestamp, step))
    return out


def _line(key: str, number: int) -> str:
    return f"metrics.{key} line {number}"


def _inputs(folder: Path, exp: _Experiment) -> list[RawDataset]:
    found: dict[str, RawDataset] = {}
    for entry in _subdirs(folder) if folder.is_dir() else []:
        meta_path = entry / "meta.yaml"
        meta = load_yaml_mapping(meta_path)
        if meta.get("source_type") != "DATASET" or meta.get("destination_type") != "RUN":
            continue  # MLflow 3 also links models as inputs; those are not data
        dataset_id = text_field(meta, "source_id", meta_path) or ""
        dataset = found.get(dataset_id) or _dataset(exp, dataset_id, meta_path)
        tags = meta.get("tags") or {}
        context = tags.get("mlflow.data.context") if isinstance(tags, dict) else None
        found[dataset_id] = dataset
        if isinstance(context, str) and context not in dataset.contexts:
            dataset.contexts.append(context)
    return list(found.values())


def _dataset(exp: _Experiment, dataset_id: str, named_in: Path) -> RawDataset:
    if dataset_id in exp.datasets:
        return replace(exp.datasets[dataset_id], contexts=[])
    meta_path = exp.folder / "datasets" / dataset_id / "meta.yaml"
    if "/" in dataset_id or dataset_id in ("", ".", "..") or not meta_path.is_file():
        raise IngestError(named_in, "source_id", f"names dataset {dataset_id!r}, which is not in {exp.folder}/datasets")
    meta = load_yaml_mapping(meta_path)
    where = str(meta_path)
    dataset = RawDataset(
        name=text_field(meta, "name", where) or "",
        digest=text_field(meta, "digest", where) or "",
        source_type=text_field(meta, "source_type", where, required=False) or "unknown",
        source=text_field(meta, "source", where, required=False) or "",
        schema=text_field(meta, "schema", where, required=False),
        profile=text_field(meta, "profile", where, required=False),
        contexts=[],
        where=where,
    )
    exp.datasets[dataset_id] = dataset
    return replace(dataset, contexts=[])


def _models(folder: Path, exp: _Experiment, run_id: str) -> list[RawModel]:
    """MLflow 3 logged models of this run: named in the run's outputs/, or naming the run as their source."""
    if exp.models is None:
        exp.models = {}
        for entry in _subdirs(exp.folder / "models") if (exp.folder / "models").is_dir() else []:
            meta_path = entry / "meta.yaml"
            meta = load_yaml_mapping(meta_path)
            model_id = text_field(meta, "model_id", meta_path) or entry.name
            exp.models[entry.name] = RawModel(
                model_id=model_id,
                name=text_field(meta, "name", meta_path, required=False) or model_id,
                location=text_field(meta, "artifact_location", meta_path, required=False) or "",
                fallback=entry / "artifacts",
                where=str(meta_path),
                source_run_id=text_field(meta, "source_run_id", meta_path, required=False),
            )
    chosen = {key for key, model in exp.models.items() if model.source_run_id == run_id}
    for entry in _subdirs(folder / "outputs") if (folder / "outputs").is_dir() else []:
        if entry.name not in exp.models:
            raise IngestError(entry / "meta.yaml", "destination_id", f"names model {entry.name!r}, not in models/")
        chosen.add(entry.name)
    return [exp.models[key] for key in sorted(chosen)]
