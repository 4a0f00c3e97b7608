"""`.dvc` files: data put under DVC's control by `dvc add`, `dvc import` or `dvc import-url`.

Each is a stage of its own in `dvc dag`, named by its path (`data/raw.csv.dvc`), with no
command: its outputs are the tracked data, its dependency (for an import) where the data came
from. So each is read into a one-stage `Pipeline` whose lock is the file itself, and the graph
is built as for dvc.yaml. What is added or imported is the pipeline's source data: its role is
"input" (`as_inputs`), and an import keeps its source repository (credentials removed), the
path in it, the revision asked for and the commit DVC locked (`rev_lock`), in annotations and in
the datasheet's source; `dvc import-url` keeps its URL (a dataset of its own too, as in `dvc dag`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.capture.redact import clean_url
from auditor.errors import IngestError
from auditor.ingest.dvc.files import MAX_PIPELINE_BYTES, read_bytes
from auditor.ingest.dvc.lineage import Graph, location
from auditor.ingest.dvc.lock import Entry, Lock, LockStage, _entries
from auditor.ingest.dvc.pipeline import OutDef, Pipeline, StageBudget, StageDef, join
from auditor.ingest.safe_yaml import load_yaml
from auditor.record.lineage import IdentityHint

KEY = ""  # the one stage of a .dvc file, in its Lock
MAX_TEXT = 4096


@dataclass(frozen=True)
class Import:
    """Where `dvc import` took the data from."""

    url: str  # the source repository, credentials removed
    path: str  # the path inside it
    rev: str | None  # the revision asked for (None: its default branch)
    rev_lock: str | None  # the commit DVC resolved it to and locked


@dataclass(frozen=True)
class DvcFile:
    pipeline: Pipeline
    imported: Import | None


def read_dvcfile(path: Path, repo: Path, budget: StageBudget) -> DvcFile:
    """One .dvc file; `budget` counts it among the repository's stages."""
    label = path.relative_to(repo).as_posix()
    shown = str(path)
    budget.take(shown, "outs")
    data = load_yaml(read_bytes(path, shown, MAX_PIPELINE_BYTES), shown)
    if not isinstance(data, dict):
        raise IngestError(shown, None, "expected a mapping with `outs:` (a .dvc file)")
    folder = posixpath.dirname(label)
    wdir = data.get("wdir") or "."
    if not isinstance(wdir, str):
        raise IngestError(shown, "wdir", "expected a folder path")
    cmd = data.get("cmd")
    if cmd is not None and not isinstance(cmd, str):
        raise IngestError(shown, "cmd", "expected text")
    deps_data = data.get("deps")
    imported = _import(deps_data, shown)
    outs = _entries(data.get("outs"), shown, "outs", False)
    if not outs:
        raise IngestError(shown, "outs", "missing: a .dvc file tracks at least one output")
    deps = () if imported else _entries(deps_data, shown, "deps", False)
    out_defs = tuple(OutDef(e.path, "outs", _flags(data, index)) for index, e in enumerate(outs))
    desc = data.get("desc")
    stage = StageDef(
        name=label,
        key=KEY,
        wdir=join(folder, wdir),
        cmd=cmd,
        deps=tuple(e.path for e in deps),
        outs=out_defs,
        params=(),
        frozen=data.get("frozen") is True,
        desc=desc if isinstance(desc, str) else None,
    )
    lock = Lock(path, label, "2.0", {KEY: LockStage(label, cmd or "", deps, outs, {})}, 0)
    pipeline = Pipeline(label=label, folder=folder, stages=(stage,), metrics=(), params=(), lock=lock, notes=())
    return DvcFile(pipeline, imported)


def _import(deps: Any, label: str) -> Import | None:
    if not isinstance(deps, list) or len(deps) != 1 or not isinstance(deps[0], dict) or "repo" not in deps[0]:
        return None
    dep = deps[0]
    repo = dep["repo"]
    if not isinstance(repo, dict) or not isinstance(repo.get("url"), str) or not repo["url"]:
        raise IngestError(label, "deps[0].repo.url", "missing: an import names its source repository")
    path = dep.get("path")
    if not isinstance(path, str) or not path:
        raise IngestError(label, "deps[0].path", "missing or not a path")
    texts = {}
    for key in ("rev", "rev_lock"):
        value = repo.get(key)
        if value is not None and not isinstance(value, str):
            raise IngestError(label, f"deps[0].repo.{key}", "expected text")
        texts[key] = value[:MAX_TEXT] if value else None
    return Import(clean_url(repo["url"][:MAX_TEXT]), path[:MAX_TEXT], texts["rev"], texts["rev_lock"])


def _flags(data: dict[str, Any], index: int) -> dict[str, str]:
    """An output's own settings (cache, persist, desc, type...), as dvc.yaml's flags are kept."""
    out = data["outs"][index]
    kept = {}
    for key in ("cache", "persist", "desc", "type", "remote", "push"):
        value = out.get(key) if isinstance(out, dict) else None
        if isinstance(value, bool):
            kept[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            kept[key] = str(value)[:200]
    return kept


def as_inputs(graph: Graph, files: list[DvcFile]) -> None:
    """What `dvc add` or `dvc import` tracks is the pipeline's input: it was not made by a stage
    that ran. Its recorded hash becomes the hash before the run; an import says where it came from."""
    for found in files:
        stage = found.pipeline.stages[0]
        if stage.cmd:
            continue  # an old single-stage file with a command: a stage that ran, wired as usual
        lock = found.pipeline.lock
        entries: tuple[Entry, ...] = lock.stages[KEY].outs if lock else ()
        for entry in entries:
            key = location(stage.wdir, entry.path)
            dataset = graph.datasets.get(key)
            if dataset is None:
                continue
            notes = {**dataset.annotations, "dvc.tracked_by": stage.name}
            sheet = dataset.datasheet
            if found.imported:
                source = found.imported
                notes["dvc.import.url"] = source.url
                notes["dvc.import.path"] = source.path
                if source.rev:
                    notes["dvc.import.rev"] = source.rev
                if source.rev_lock:
                    notes["dvc.import.rev_lock"] = source.rev_lock
                if not sheet.source:
                    at = f"revision {source.rev}" if source.rev else "its default branch"
                    locked = f", locked at commit {source.rev_lock}" if source.rev_lock else ""
                    sheet = sheet.model_copy(
                        update={"source": f"dvc import of {source.path} from {source.url} ({at}{locked})"}
                    )
            elif found.pipeline.lock and (deps := found.pipeline.lock.stages[KEY].deps):
                url = location(stage.wdir, deps[0].path)  # `dvc import-url`: a URL or an absolute path
                notes["dvc.import_url"] = url
                if not sheet.source:
                    sheet = sheet.model_copy(update={"source": f"dvc import-url of {url}"})
            else:
                notes["dvc.added"] = "true"
            recorded = dataset.before if isinstance(dataset.before, IdentityHint) else dataset.after
            graph.datasets[key] = dataset.model_copy(
                update={"role": "input", "before": recorded, "after": None, "annotations": notes, "datasheet": sheet}
            )
