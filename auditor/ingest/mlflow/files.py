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

from auditor.errors import IngestError
from auditor.files import UntrustedFileError, open_folder, within
from auditor.ingest.mlflow.raw import (
    MAX_META_BYTES,
    MAX_METRIC_BYTES,
    RawDataset,
    RawMetric,
    RawModel,
    RawRun,
    int_field,
    load_yaml_mapping,
    read_small,
    read_text,
    status_name,
    text_field,
)

NOT_EXPERIMENTS = {".trash", "models"}
NOT_RUNS = {"tags", "datasets", "traces", "models"}
MAX_KEY_DEPTH = 64  # a key with '/' is a sub-folder; MLflow keys are far shallower


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
    if run_id is not None and ("/" in run_id or run_id in ("", ".", "..")):
        raise IngestError(root, "run_id", f"{run_id!r} is not a run id (a folder name in an experiment)")
    runs: list[RawRun] = []
    for exp in experiments:
        if run_id is not None:
            folder = exp.folder / run_id
            if run_id not in NOT_RUNS and (folder.is_dir() or folder.is_symlink()):
                runs.append(_run(root, exp, _checked_dir(folder, root, "run_id")))
            continue
        for entry in _run_folders(exp.folder):
            run = _run(root, exp, entry)
            if not run.deleted:  # MLflow's own views hide deleted runs too
                runs.append(run)
    if run_id is not None and not runs:
        raise IngestError(root, "run_id", f"no run {run_id!r} in the store")
    return runs


def _experiments(root: Path) -> list[_Experiment]:
    out = []
    for folder in _subdirs(root, root, top=True):
        if folder.name in NOT_EXPERIMENTS or folder.name.startswith("."):
            continue
        meta_path = folder / "meta.yaml"
        meta = load_yaml_mapping(meta_path)
        exp_id = text_field(meta, "experiment_id", meta_path) or folder.name
        name = text_field(meta, "name", meta_path) or exp_id
        layout3 = "workspace" in meta or (folder / "models").is_dir()
        out.append(_Experiment(exp_id, name, folder, layout3))
    return out


def _subdirs(folder: Path, root: Path, field_name: str | None = None, *, top: bool = False) -> list[Path]:
    """The folders in a folder of the store (none when it does not exist). Neither the folder nor
    any folder in it may be a symbolic link or lead out of the store: O_NOFOLLOW guards only a
    path's last part, so a linked `params/` would have every file in it read from elsewhere."""
    if not top:
        if not os.path.lexists(folder):
            return []
        _checked_dir(folder, root, field_name)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise IngestError(folder, field_name, f"cannot list: {exc.strerror or exc}") from exc
    return [_checked_dir(Path(e.path), root, field_name) for e in entries if e.is_dir() or e.is_symlink()]


def _run_folders(folder: Path) -> list[Path]:
    """The run folders of an experiment's folder (one `_checked_dir` has checked), as `_subdirs`
    finds them, with the types the listing gives: a folder that is not a link, listed in a folder
    inside the store, is inside the store, so the real path of each of a thousand runs (an lstat
    per part of it) need not be resolved."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((e.name, e.is_symlink(), e.is_dir(follow_symlinks=False)) for e in listing)
    except OSError as exc:
        raise IngestError(folder, None, f"cannot list: {exc.strerror or exc}") from exc
    runs = []
    for name, is_link, is_dir in entries:
        if is_link:
            raise IngestError(folder / name, None, "a symbolic link: not followed (MLflow does not create them)")
        if is_dir and name not in NOT_RUNS:
            runs.append(folder / name)
    return runs


def _checked_dir(path: Path, root: Path, field_name: str | None = None) -> Path:
    if path.is_symlink():
        raise IngestError(path, field_name, "a symbolic link: not followed (MLflow does not create them)")
    if not path.is_dir():
        raise IngestError(path, field_name, "not a folder")
    if not within(path, [root]):
        raise IngestError(path, field_name, f"leads outside the MLflow store {root}: not followed")
    return path


def _run(root: Path, exp: _Experiment, folder: Path) -> RawRun:
    """One run's folder, opened once (not following a link) and listed once: every file of it is
    then opened inside that open folder, and a part it does not hold is not looked for."""
    try:
        with open_folder(folder) as fd:
            return _run_in(root, exp, folder, fd)
    except UntrustedFileError as exc:  # swapped for a link since it was listed
        raise IngestError(folder, None, _not_followed(str(folder))) from exc
    except OSError as exc:
        raise IngestError(folder, None, f"cannot open: {exc.strerror or exc}") from exc


def _run_in(root: Path, exp: _Experiment, folder: Path, fd: int) -> RawRun:
    try:
        with os.scandir(fd) as listing:
            has = {e.name: e.is_dir() for e in listing}  # is_dir() as Path.is_dir: a link to a folder counts
    except OSError as exc:
        raise IngestError(folder, None, f"cannot list: {exc.strerror or exc}") from exc
    meta_path = f"{folder}/meta.yaml"
    meta = load_yaml_mapping(meta_path, dir_fd=fd)
    run_id = text_field(meta, "run_id", meta_path, required=False) or text_field(meta, "run_uuid", meta_path)
    if run_id != folder.name:
        raise IngestError(meta_path, "run_id", f"{run_id!r} does not match the run's folder {folder.name!r}")
    layout3 = exp.layout3 or has.get("outputs", False)
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
        where=meta_path,
        store_root=root,
        fallback_artifacts=folder / "artifacts",
        version_hint="3.x" if layout3 else None,
    )
    if "params" in has:
        run.params = dict(_texts(f"{folder}/params", "params", fd, MAX_META_BYTES))
    if "tags" in has:
        run.tags = dict(_texts(f"{folder}/tags", "tags", fd, MAX_META_BYTES))
    if "metrics" in has:
        metrics = f"{folder}/metrics"
        run.metrics = _metrics(metrics, _texts(metrics, "metrics", fd, MAX_METRIC_BYTES))
    run.datasets = _inputs(folder / "inputs", root, exp) if "inputs" in has else []
    run.models = _models(folder, root, exp, run_id, outputs="outputs" in has)
    return run


def _texts(folder: str, kind: str, run_fd: int, limit: int) -> list[tuple[str, str]]:
    """(key, text) for every file below a run's params/, tags/ or metrics/ folder (`folder`,
    named `kind` in the run's open folder `run_fd`); a key with '/' is a sub-folder. Every folder is
    opened without following a link and every file read relative to its folder's descriptor, so no
    link anywhere on the way (not only a file's own name) is followed. Paths stay strings, built
    only for a file that is not read at the first try: this runs for every value."""
    try:
        with open_folder(kind, dir_fd=run_fd) as fd:
            return _walk(fd, folder, kind, "", limit)
    except FileNotFoundError:
        return []
    except UntrustedFileError as exc:
        raise IngestError(folder, kind, _not_followed(folder)) from exc
    except OSError as exc:
        raise IngestError(folder, kind, f"cannot open: {exc.strerror or exc}") from exc


def _walk(fd: int, folder: str, kind: str, prefix: str, limit: int) -> list[tuple[str, str]]:
    if prefix.count("/") > MAX_KEY_DEPTH:
        raise IngestError(folder, kind, f"keys nested more than {MAX_KEY_DEPTH} folders deep")
    try:
        with os.scandir(fd) as listing:
            entries = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in listing)  # names are unique
    except OSError as exc:
        raise IngestError(folder, kind, f"cannot list: {exc.strerror or exc}") from exc
    out: list[tuple[str, str]] = []
    for name, is_dir in entries:
        if not is_dir:
            text = read_small(name, fd, limit)
            if text is None:  # read again, the careful way, which says what is wrong
                text = read_text(f"{folder}/{name}", f"{kind}.{prefix}{name}", limit, dir_fd=fd)
            out.append((f"{prefix}{name}", text))
            continue
        path, key = f"{folder}/{name}", f"{prefix}{name}"
        try:
            with open_folder(name, dir_fd=fd) as sub:
                out += _walk(sub, path, kind, f"{key}/", limit)
        except UntrustedFileError as exc:  # swapped for a link since it was listed
            raise IngestError(path, f"{kind}.{key}", _not_followed(path)) from exc
        except OSError as exc:
            raise IngestError(path, f"{kind}.{key}", f"cannot open: {exc.strerror or exc}") from exc
    return out


def _not_followed(folder: str) -> str:
    if Path(folder).is_symlink():
        return "a symbolic link: not followed (MLflow does not create them)"
    return "not a folder"


def _metrics(folder: str, texts: list[tuple[str, str]]) -> list[RawMetric]:
    """The values of each metric file (key, text) of the run's metrics `folder`."""
    out: list[RawMetric] = []
    for key, text in texts:
        path = f"{folder}/{key}"
        for number, line in enumerate(text.splitlines(), start=1):
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


def _inputs(folder: Path, root: Path, exp: _Experiment) -> list[RawDataset]:
    found: dict[str, RawDataset] = {}
    for entry in _subdirs(folder, root, "inputs"):
        meta_path = entry / "meta.yaml"
        meta = load_yaml_mapping(meta_path)
        if meta.get("source_type") != "DATASET" or meta.get("destination_type") != "RUN":
            continue  # MLflow 3 also links models as inputs; those are not data
        dataset_id = text_field(meta, "source_id", meta_path) or ""
        dataset = found.get(dataset_id) or _dataset(exp, root, dataset_id, meta_path)
        tags = meta.get("tags") or {}
        context = tags.get("mlflow.data.context") if isinstance(tags, dict) else None
        found[dataset_id] = dataset
        if isinstance(context, str) and context not in dataset.contexts:
            dataset.contexts.append(context)
    return list(found.values())


def _dataset(exp: _Experiment, root: Path, dataset_id: str, named_in: Path) -> RawDataset:
    if dataset_id in exp.datasets:
        return replace(exp.datasets[dataset_id], contexts=[])
    datasets = exp.folder / "datasets"
    meta_path = datasets / dataset_id / "meta.yaml"
    if "/" in dataset_id or dataset_id in ("", ".", "..") or not meta_path.is_file():
        raise IngestError(named_in, "source_id", f"names dataset {dataset_id!r}, which is not in {datasets}")
    _checked_dir(datasets, root, "datasets")
    _checked_dir(datasets / dataset_id, root, "source_id")
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


def _models(folder: Path, root: Path, exp: _Experiment, run_id: str, *, outputs: bool = True) -> list[RawModel]:
    """MLflow 3 logged models of this run: named in the run's outputs/ (`outputs`: the run's folder
    lists one), or naming the run as their source."""
    if exp.models is None:
        exp.models = {}
        for entry in _subdirs(exp.folder / "models", root, "models"):
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
    for entry in _subdirs(folder / "outputs", root, "outputs") if outputs else ():
        if entry.name not in exp.models:
            raise IngestError(entry / "meta.yaml", "destination_id", f"names model {entry.name!r}, not in models/")
        chosen.add(entry.name)
    return [exp.models[key] for key in sorted(chosen)]
