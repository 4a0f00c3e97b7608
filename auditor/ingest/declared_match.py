"""Which datasets or models of an ingested run an auditor.yaml entry describes: by path, by URI,
or by id or name.

Paths on both sides are made absolute before they are compared: auditor.yaml's are relative to
the folder that holds it, an ingested dataset's to the source's root (a DVC repository, an MLflow
store's folder). An MLflow artifact also answers to its artifact path ("model", "plots/roc.csv"),
the path a training script logs it under. An id or name matches only when no path or URI does:
a declared id names the entry in auditor.yaml, and may be a coincidence elsewhere.

Each run's datasets are indexed once, so a pipeline of thousands of files costs one look-up per
auditor.yaml entry, not one comparison per pair.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from auditor.capture.redact import clean_url
from auditor.record.lineage import Dataset, ModelArtifact

NAME_KEYS = ("name", "openlineage.name", "model_id")  # what tools call a dataset or model
ARTIFACT_KEYS = ("artifact", "name")  # MLflow: a logged file's artifact path, a logged model's name


@dataclass(frozen=True)
class Places:
    project: Path  # the folder holding auditor.yaml
    source: Path | None  # the source's root; None for a URI such as a tracking server


def _real(base: Path | None, path: str) -> str | None:
    """`path` (relative to `base`, or absolute) with its folders' links resolved, the final name as
    written: folders are shared by many datasets, so each is resolved once. Plain strings, not
    pathlib: a pipeline of 10,000 files made pathlib's parsing a third of an ingest's time."""
    text = os.path.normpath(os.path.join(base, path) if base is not None else path)  # noqa: PTH118
    folder, name = os.path.split(text)
    real = _real_folder(folder)
    return None if real is None or "\0" in name else real + os.sep + name


def forget_folders() -> None:
    _real_folder.cache_clear()


@lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str | None:
    try:
        return os.path.realpath(folder)
    except (ValueError, OSError):  # a NUL in a recorded path
        return None


def _local(uri: str) -> str | None:
    """The local path a dataset URI names (`file:///x`, or a bare absolute path as MLflow keeps them)."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path) or None
    return uri if uri.startswith("/") else None


def _relative(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def _uri_key(uri: str) -> str:
    return clean_url(uri).rstrip("/")


class Index:
    """The datasets (or models) of one run by each way an auditor.yaml entry may name them."""

    def __init__(self, items: Sequence[Dataset | ModelArtifact], places: Places) -> None:
        self.places = places
        self.paths: dict[str, list[str]] = {}
        self.artifacts: dict[str, list[str]] = {}
        self.uris: dict[str, list[str]] = {}
        self.names: dict[str, list[str]] = {}
        for item in items:
            uri = item.uri if isinstance(item, Dataset) else None
            if item.path and places.source is not None:
                self._add(self.paths, _real(places.source, item.path), item.id)
            if uri:
                self._add(self.uris, _uri_key(uri), item.id)
                local = _local(uri)
                self._add(self.paths, _real(None, local) if local else None, item.id)
            logged = [item.annotations[k] for k in ARTIFACT_KEYS if item.annotations.get(k)]
            if item.path and logged and "/artifacts/" in item.path:  # a DVC path may hold "artifacts" too
                logged.append(item.path.split("/artifacts/", 1)[1])
            for name in logged if item.path else ():
                self._add(self.artifacts, _relative(name), item.id)
            for name in (item.id, *(item.annotations[k] for k in NAME_KEYS if item.annotations.get(k))):
                self._add(self.names, name, item.id)

    @staticmethod
    def _add(table: dict[str, list[str]], key: str | None, item_id: str) -> None:
        if key and item_id not in table.setdefault(key, []):
            table[key].append(item_id)

    def match(self, path: str | None, uri: str | None) -> dict[str, str]:
        """The items `path` (relative to auditor.yaml's folder) or `uri` names: id -> how."""
        found: dict[str, str] = {}
        if path is not None:
            for item_id in self.paths.get(_real(self.places.project, path) or "", []):
                found.setdefault(item_id, f"path {path}")
            for item_id in self.artifacts.get(_relative(path), []):
                found.setdefault(item_id, f"artifact path {path}")
        if uri is not None:
            for item_id in self.uris.get(_uri_key(uri), []):
                found.setdefault(item_id, f"URI {clean_url(uri)}")
            local = _local(uri)
            for item_id in self.paths.get(_real(None, local) or "", []) if local else []:
                found.setdefault(item_id, f"URI {clean_url(uri)}")
        return found

    def named(self, name: str) -> dict[str, str]:
        return {item_id: f"name {name}" for item_id in self.names.get(name, [])}
