"""Which dataset or model of an ingested run an auditor.yaml entry describes: by path, by URI,
or by id or name.

Paths on both sides are made absolute before they are compared: auditor.yaml's are relative to
the folder that holds it, an ingested dataset's to the source's root (a DVC repository, an MLflow
store's folder). An MLflow artifact also answers to its artifact path ("model", "plots/roc.csv"),
the path a training script logs it under. An id or name matches only when no path or URI does:
a declared id names the entry in auditor.yaml, and may be a coincidence elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from auditor.capture.redact import clean_url
from auditor.project.spec import DatasetSpec, ModelSpec
from auditor.record.lineage import Dataset, ModelArtifact

NAME_KEYS = ("name", "openlineage.name", "model_id")  # what tools call a dataset or model


@dataclass(frozen=True)
class Places:
    project: Path  # the folder holding auditor.yaml
    source: Path | None  # the source's root; None for a URI such as a tracking server


def _real(path: str | Path) -> str:
    return os.path.realpath(path)


def _local(uri: str) -> str | None:
    """The local path a dataset URI names (`file:///x`, or a bare absolute path as MLflow keeps them)."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path) or None
    return uri if uri.startswith("/") else None


def _same_uri(declared: str, recorded: str) -> bool:
    return clean_url(declared).rstrip("/") == recorded.rstrip("/")


def _relative(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).as_posix().removeprefix("./")


def _artifact_paths(path: str, annotations: dict[str, str]) -> set[str]:
    """The paths a training script gave an MLflow artifact: after `artifacts/`, and a model's name."""
    found = {annotations[k] for k in ("artifact", "name") if annotations.get(k)}
    if found and "/artifacts/" in path:  # only what a tracker logged: a DVC path may hold "artifacts" too
        found.add(path.split("/artifacts/", 1)[1])
    return {_relative(p) for p in found}


def _recorded_places(path: str | None, uri: str | None, places: Places) -> set[str]:
    found = set()
    if path is not None and places.source is not None:
        found.add(_real(places.source / path))
    if uri is not None and (local := _local(uri)):
        found.add(_real(local))
    return found


def dataset_match(entry: DatasetSpec, dataset: Dataset, places: Places) -> str | None:
    """How `entry` matches `dataset` ("path data/raw.csv"), or None."""
    if entry.path is not None:
        wanted = _real(places.project / entry.path)
        if wanted in _recorded_places(dataset.path, dataset.uri, places):
            return f"path {entry.path}"
        if dataset.path is not None and _relative(entry.path) in _artifact_paths(dataset.path, dataset.annotations):
            return f"artifact path {entry.path}"
    if entry.uri is not None:
        if dataset.uri is not None and _same_uri(entry.uri, dataset.uri):
            return f"URI {clean_url(entry.uri)}"
        local = _local(entry.uri)
        if local is not None and _real(local) in _recorded_places(dataset.path, dataset.uri, places):
            return f"URI {entry.uri}"
    return None


def dataset_named(entry: DatasetSpec, dataset: Dataset) -> str | None:
    names = {dataset.id, *(dataset.annotations[k] for k in NAME_KEYS if dataset.annotations.get(k))}
    return f"name {entry.id}" if entry.id in names else None


def model_match(entry: ModelSpec, model: ModelArtifact | Dataset, places: Places) -> str | None:
    """How a declared model matches a model the tool recorded, or an output file (DVC's model.pkl)."""
    if _real(places.project / entry.path) in _recorded_places(model.path, None, places):
        return f"path {entry.path}"
    if model.path is not None and _relative(entry.path) in _artifact_paths(model.path, model.annotations):
        return f"artifact path {entry.path}"
    return None


def model_named(entry: ModelSpec, model: ModelArtifact) -> str | None:
    names = {model.id, *(model.annotations[k] for k in NAME_KEYS if model.annotations.get(k))}
    return f"name {entry.id}" if entry.id in names else None
