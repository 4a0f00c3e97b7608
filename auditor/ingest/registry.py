"""`auditor ingest`: pick the reader (explicit kind, else detected from the path), read every
run before writing any, then write each record atomically; an earlier ingest of the same run
is reported, not duplicated."""

from __future__ import annotations

import importlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from auditor.errors import UsageError
from auditor.ingest.common import Ingested, build_record, commit, existing_ingests
from auditor.store.runs import RunStore

Kind = Literal["mlflow", "dvc", "openlineage"]
KINDS: tuple[Kind, ...] = ("mlflow", "dvc", "openlineage")


@dataclass(frozen=True)
class Outcome:
    run_id: str
    source_run_id: str | None
    new: bool
    notes: tuple[str, ...]


def detect(source: str) -> Kind:
    """The kind of a source from its shape; a usage error says how to name it when unsure."""
    if source.startswith(("sqlite:", "file:", "mlflow:")):
        return "mlflow"
    path = Path(source)
    if not path.exists():
        raise UsageError(f"{source}: no such file or folder")
    if path.is_dir():
        if (path / "dvc.yaml").is_file() or (path / "dvc.lock").is_file() or (path / ".dvc").is_dir():
            return "dvc"
        if path.name == "mlruns" or (path / "mlruns").is_dir() or any(path.glob("*/meta.yaml")):
            return "mlflow"
        if any(path.glob("*.json")) or any(path.glob("*.jsonl")):
            return "openlineage"
    elif path.suffix in (".jsonl", ".json", ".ndjson"):
        return "openlineage"
    elif path.name in ("dvc.yaml", "dvc.lock"):
        return "dvc"
    elif _is_sqlite(path):
        return "mlflow"
    raise UsageError(f"{source}: cannot tell which tool recorded this; name it: auditor ingest {'|'.join(KINDS)} PATH")


def canonical(source: str) -> str:
    """One spelling per source, so `m/mlruns`, `/abs/m/mlruns` and `file:///abs/m/mlruns` are the
    same source in the record (and an ingest of it is found again), and a reader of the dossier
    sees where it was, not a path relative to somewhere unknown."""
    if source.startswith("sqlite:///"):
        path = source.removeprefix("sqlite:///")  # sqlite:////abs has a fourth slash: absolute
    elif source.startswith("file:"):
        path = unquote(urlsplit(source).path)
    elif "://" in source:
        return source
    else:
        path = source
    return str(Path(path).resolve()) if path else source


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def read(kind: Kind, source: str, *, run_id: str | None, experiment: str | None, rehash: bool) -> list[Ingested]:
    if kind != "mlflow" and experiment is not None:
        raise UsageError("--experiment is for MLflow stores only")
    if kind == "dvc" and run_id is not None:
        raise UsageError("--run-id is not for DVC: a DVC repository holds one pipeline")
    if kind != "dvc" and rehash:
        raise UsageError("--rehash is for DVC repositories only")
    module = importlib.import_module(f"auditor.ingest.{kind}.reader")
    try:
        if kind == "mlflow":
            runs: list[Ingested] = module.read(source, run_id=run_id, experiment=experiment)
        elif kind == "dvc":
            repo = Path(source)
            runs = module.read(repo.parent if repo.is_file() else repo, rehash=rehash)
        else:
            runs = module.read(Path(source), run_id=run_id)
    except sqlite3.Error as exc:
        raise UsageError(f"{source}: cannot read the SQLite store: {exc}") from exc
    if not runs:
        raise UsageError(f"{source}: no runs found" + (f" for run id {run_id}" if run_id else ""))
    return runs


def ingest(
    kind: Kind | None,
    source: str,
    store: RunStore,
    *,
    run_id: str | None = None,
    experiment: str | None = None,
    rehash: bool = False,
) -> list[Outcome]:
    chosen = kind or detect(source)
    runs = read(chosen, canonical(source), run_id=run_id, experiment=experiment, rehash=rehash)
    records = [build_record(run) for run in runs]  # everything is read and validated before anything is written
    earlier = existing_ingests(store)
    out = []
    for run, record in zip(runs, records, strict=True):
        existing = earlier.get((record.origin.tool or "", record.origin.source_uri or "", run.source_run_id))
        if existing is not None:
            out.append(Outcome(existing, run.source_run_id, new=False, notes=run.notes))
            continue
        commit(store, record)
        out.append(Outcome(record.identity.run_id, run.source_run_id, new=True, notes=run.notes))
    return out
