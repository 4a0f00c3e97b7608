"""A run's files: logged models (with their declared environment) and other artifacts, hashed.

Only local artifact stores inside the store's folder are read (the file store's `mlruns`,
or the folder of `mlflow.db`): a recorded location elsewhere is reported, not followed,
and so is a symbolic link inside the artifacts that points out of that folder. Model files
(model.pkl, model.skops...) are hashed as bytes and never loaded. A model folder is one
that holds an `MLmodel` file: MLflow 2 puts it among the run's artifacts, MLflow 3 under
`models/m-*/artifacts`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from auditor.capture.hashing import Result, hash_paths
from auditor.capture.redact import clean_url
from auditor.ingest.mlflow.raw import RawRun, load_yaml_mapping
from auditor.ingest.mlflow.requirements import ENVIRONMENT_FILES, requirement_files
from auditor.record.base import Missing
from auditor.record.models import RequirementsFile

MAX_ENTRIES = 10_000  # artifact files and folders looked at per run, to find the models among them
MAX_HISTORY_MODELS = 100
HISTORY_TAG = "mlflow.log-model.history"  # MLflow 2: every model the run logged, with its MLmodel's fields
LOCAL_MARKERS = ("/mlruns/", "/mlartifacts/")


@dataclass
class Found:
    """A model folder or another artifact, with what its MLmodel says (models only)."""

    path: Path
    display: str
    model_id: str | None = None
    name: str | None = None
    mlmodel: dict[str, Any] | None = None
    after: Result | None = None
    unsafe: str | None = None
    metadata_from: str | None = None  # where `mlmodel` came from when the MLmodel file was not found


@dataclass
class RunFiles:
    models: list[Found] = field(default_factory=list)
    artifacts: list[Found] = field(default_factory=list)
    requirements: list[RequirementsFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_files(run: RawRun, now: datetime) -> RunFiles:
    out = RunFiles()
    root = run.store_root
    folder, missing = locate(run.artifact_uri, run.fallback_artifacts, root, out.notes, "the run's artifacts")
    if folder is not None:
        scan(folder, root, out)
    for model in run.models:
        place, gone = locate(model.location, model.fallback, root, out.notes, f"logged model {model.model_id}")
        if gone is not None:
            where = _local_path(model.location) or model.fallback or Path(model.model_id)
            out.models.append(Found(where, display(where, root), model.model_id, model.name, after=gone))
        if place is None:
            continue
        if not (place / "MLmodel").is_file():
            out.notes.append(f"logged model {model.model_id}: no MLmodel file in {display(place, root)}")
        out.models.append(Found(place, display(place, root), model.model_id, model.name))
    if folder is not None or missing is not None:
        base = folder or _local_path(run.artifact_uri) or run.fallback_artifacts or Path("artifacts")
        out.models += _unfound_history_models(run, base, root, out, missing)
    present = [found for found in out.models if found.after is None]
    for found in present:
        mlmodel_path = found.path / "MLmodel"
        found.mlmodel = load_yaml_mapping(mlmodel_path) if mlmodel_path.is_file() else {}
        out.requirements += requirement_files(found.path, root)
    _hash([*present, *out.artifacts], root, now, out.notes)
    if run.unfetched:
        out.artifacts += _not_fetched(run.unfetched, [*present, *out.artifacts], root)
        out.requirements += _unfetched_requirements(run.unfetched, present)
    return out


def _unfetched_requirements(gaps: dict[str, str], models: list[Found]) -> list[RequirementsFile]:
    """A model's environment file that could not be fetched is declared, unread, with the reason."""
    out = []
    for found in models:
        for name in ENVIRONMENT_FILES:
            key = f"{found.display}/{name}"
            if key in gaps:
                out.append(RequirementsFile(path=key, sha256=None, pins=(), problems=(f"{name}: {gaps[key]}",)))
    return out


def _not_fetched(gaps: dict[str, str], items: list[Found], root: Path) -> list[Found]:
    """A model or artifact that holds a file the reader could not fetch has no hash of its own;
    one that is itself such a file is kept, unhashed, rather than left out."""
    matched = set()
    for item in items:
        for key, why in gaps.items():
            if key == item.display or key.startswith(item.display + "/"):
                item.after = Missing(reason=f"not hashed: {key} {why}")
                matched.add(key)
                break
    return [
        Found(root / key, key, after=Missing(reason=f"not hashed: {key} {why}"))
        for key, why in gaps.items()
        if key not in matched and key.count("/") == 1 and key.startswith("artifacts/")
    ]


def locate(
    uri: str, fallback: Path | None, root: Path, notes: list[str], what: str
) -> tuple[Path | None, Missing | None]:
    """The local folder a recorded artifact location names, if it is inside the store's folder;
    else None, and (second) Missing when the location is local but nothing is there."""
    recorded = _local_path(uri)
    if recorded is None and uri:
        notes.append(f"{what} are kept at {clean_url(uri)}: only local artifact stores are read")
        return None, None
    outside = None
    for candidate in _candidates(recorded, fallback, root):
        if candidate.is_dir():
            if _inside(candidate, root):
                return candidate, None
            outside = outside or candidate
    if outside is not None:
        notes.append(f"{what}: {outside} is outside the MLflow store's folder {root}: not read")
        return None, None
    shown = clean_url(uri) if uri else (str(fallback) if fallback else "no location")
    notes.append(f"{what}: artifacts recorded at {shown} were not found")
    return None, Missing(reason=f"artifacts recorded at {shown} were not found")


def _unfound_history_models(run: RawRun, base: Path, root: Path, out: RunFiles, missing: Missing | None) -> list[Found]:
    """Models that MLflow 2's `mlflow.log-model.history` tag says the run logged, but whose folder
    is not among its artifacts: kept, with a Missing hash, rather than silently dropped."""
    text = run.tags.get(HISTORY_TAG)
    if not text:
        return []
    try:
        history = json.loads(text)
    except (ValueError, RecursionError):
        out.notes.append(f"tag {HISTORY_TAG}: not valid JSON: the models it lists are not known")
        return []
    entries = [e for e in history if isinstance(e, dict)] if isinstance(history, list) else []
    seen = {found.path for found in out.models}
    unfound: dict[str, Found] = {}
    for entry in entries:
        artifact_path = entry.get("artifact_path")
        parts = PurePosixPath(artifact_path).parts if isinstance(artifact_path, str) else ()
        if not parts or any(part in ("/", ".", "..") or "\0" in part for part in parts):
            continue  # not a path inside the artifacts: nothing to look for
        path = base.joinpath(*parts)
        if path in seen or str(artifact_path) in unfound or (missing is None and os.path.lexists(path)):
            continue  # found as a model, or there but not a model (it is then an artifact)
        gone = missing or Missing(reason=f"logged model {artifact_path!r} not found in {display(base, root)}")
        if missing is None:
            out.notes.append(f"tag {HISTORY_TAG}: logged model {artifact_path!r} is not among the run's artifacts")
        unfound[str(artifact_path)] = Found(
            path, display(path, root), name=parts[-1], mlmodel=entry, after=gone, metadata_from=f"tag {HISTORY_TAG}"
        )
        if len(unfound) >= MAX_HISTORY_MODELS:
            out.notes.append(f"tag {HISTORY_TAG}: only the first {MAX_HISTORY_MODELS} models it lists are kept")
            break
    return list(unfound.values())


def _local_path(uri: str) -> Path | None:
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path)) if parts.netloc in ("", "localhost") else None
    if parts.scheme == "" or (len(parts.scheme) == 1 and uri[1:3] in (":\\", ":/")):  # a plain (or Windows) path
        return Path(uri)
    return None


def _candidates(recorded: Path | None, fallback: Path | None, root: Path) -> Iterator[Path]:
    """Where the artifacts may be, in order; the moved store's place only made when looked at."""
    yield from (p for p in (recorded, fallback) if p is not None)
    rebased = _rebased(recorded, root)
    if rebased is not None:
        yield rebased


def _rebased(recorded: Path | None, root: Path) -> Path | None:
    """A store that was moved keeps its old absolute paths: find the same tail under the store's folder."""
    if recorded is None:
        return None
    text = recorded.as_posix()
    for marker in LOCAL_MARKERS:
        if marker in text:
            tail = text.split(marker, 1)[1]
            base = root if root.name == marker.strip("/") else root / marker.strip("/")
            return base / tail
    return None


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def display(path: Path, root: Path) -> str:
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.as_posix()


def scan(folder: Path, root: Path, out: RunFiles) -> None:
    """Top-level artifacts become datasets; a folder with an MLmodel file is a model; a folder
    that only holds models further down is opened so each is seen on its own."""
    budget = [MAX_ENTRIES]
    for entry in _entries(folder, budget, out.notes):
        _classify(entry, root, out, budget)


def _classify(path: Path, root: Path, out: RunFiles, budget: list[int]) -> None:
    if path.is_dir() and not path.is_symlink():
        if (path / "MLmodel").is_file():
            out.models.append(Found(path, display(path, root), name=path.name))
            return
        if _holds_model(path, budget):
            for entry in _entries(path, budget, out.notes):
                _classify(entry, root, out, budget)
            return
    out.artifacts.append(Found(path, display(path, root)))


def _entries(folder: Path, budget: list[int], notes: list[str]) -> list[Path]:
    try:
        entries = sorted(Path(e.path) for e in os.scandir(folder))
    except OSError as exc:
        notes.append(f"cannot list {folder}: {exc.strerror or exc}")
        return []
    budget[0] -= len(entries)
    return entries


def _holds_model(folder: Path, budget: list[int]) -> bool:
    for _base, dirs, files in os.walk(folder):
        budget[0] -= len(dirs) + len(files)
        if "MLmodel" in files or budget[0] < 0:
            return "MLmodel" in files
    return False


def _hash(items: list[Found], root: Path, now: datetime, notes: list[str]) -> None:
    safe = []
    for item in items:
        item.unsafe = _escaping_link(item.path, root)
        if item.unsafe is None:
            safe.append(item)
            continue
        item.after = Missing(reason=f"not hashed: {item.unsafe} is a symbolic link out of the MLflow store")
        notes.append(f"{item.unsafe}: a symbolic link out of the MLflow store, not followed; {item.display} not hashed")
    if safe:
        results = hash_paths([i.path for i in safe], display_root=root, cache=None, now=now, progress=False)
        for item, result in zip(safe, results, strict=True):
            item.after = result


def _escaping_link(path: Path, root: Path) -> str | None:
    """The first symbolic link at or below `path` that resolves outside the store's folder."""
    if path.is_symlink():
        return None if _inside(path, root) else display(path, root)
    for base, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            link = Path(base) / name
            if link.is_symlink() and not _inside(link, root):
                return display(link, root)
    return None


def model_annotations(found: Found) -> dict[str, str]:
    """What an auditor asks of a model: its flavors, the MLflow that saved it, whether it declares a
    signature, and how it is serialised (pickle-based formats run code when loaded)."""
    mlmodel = found.mlmodel or {}
    notes: dict[str, str] = {}
    flavors = mlmodel.get("flavors")
    if isinstance(flavors, dict):
        notes["flavors"] = ", ".join(sorted(str(k) for k in flavors))
        formats = {
            str(v.get("serialization_format") or v.get("pickled_model") or "")
            for v in flavors.values()
            if isinstance(v, dict)
        }
        if formats - {""}:
            notes["serialization"] = ", ".join(sorted(formats - {""}))
        pyfunc = flavors.get("python_function")
        if isinstance(pyfunc, dict) and isinstance(pyfunc.get("python_version"), str | int | float):
            notes["python_version"] = str(pyfunc["python_version"])
    for key in ("mlflow_version", "model_uuid", "model_id", "run_id", "utc_time_created"):
        if isinstance(mlmodel.get(key), str | int | float) and not isinstance(mlmodel.get(key), bool):
            notes[key] = str(mlmodel[key])
    notes["signature"] = "yes" if isinstance(mlmodel.get("signature"), dict) else "no"
    if found.name:
        notes["name"] = found.name
    if found.metadata_from:
        notes["mlmodel"] = f"not found; its fields are from the run's {found.metadata_from}"
    elif not mlmodel:
        notes["mlmodel"] = "missing"
    return notes
