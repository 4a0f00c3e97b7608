"""dvc.yaml: the stages a pipeline defines, each named as DVC names it, with its dvc.lock entry.

A stage of the root dvc.yaml is `NAME`, one of `sub/dvc.yaml` is `sub/dvc.yaml:NAME`, and a
foreach / matrix stage generates `NAME@KEY` (that is how `dvc dag` and dvc.lock name them).
The lock of `sub/dvc.yaml` is `sub/dvc.lock`, keyed by the short names.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.dvc.files import MAX_PIPELINE_BYTES, read_bytes, within
from auditor.ingest.dvc.lock import Lock, read_lock
from auditor.ingest.dvc.template import Unresolved, context, generated, resolve
from auditor.ingest.safe_yaml import load_yaml

OUT_KINDS = ("outs", "metrics", "plots")
MAX_ARTIFACT_TEXT = 2000
MAX_STAGES = 10_000  # in all the repository's dvc.yaml files, foreach and matrix stages included


@dataclass
class StageBudget:
    """How many more stages may be read: one per-stage cap let 100 matrix stages generate a million."""

    left: int = MAX_STAGES

    def take(self, label: str, where: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise IngestError(
                label,
                where,
                f"the pipeline defines more than {MAX_STAGES} stages in all (foreach / matrix, .dvc files): refused",
            )


@dataclass(frozen=True)
class OutDef:
    path: str  # relative to the stage's working directory, as written
    kind: str  # "outs", "metrics" or "plots": the list it is declared in
    flags: dict[str, str] = field(default_factory=dict)  # cache, persist, metric, remote...


@dataclass(frozen=True)
class StageDef:
    name: str  # as `dvc dag` shows it
    key: str  # as its dvc.lock names it
    wdir: str  # repo-relative folder that its paths are relative to ("" for the root)
    cmd: str | None
    deps: tuple[str, ...]
    outs: tuple[OutDef, ...]
    params: tuple[tuple[str, tuple[str, ...] | None], ...]  # (file relative to wdir, keys; None: the whole file)
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    unresolved: str | None = None  # why the definition's `${...}` could not all be filled in


@dataclass(frozen=True)
class Pipeline:
    label: str  # the dvc.yaml, repo-relative
    folder: str  # its folder, repo-relative ("" for the root)
    stages: tuple[StageDef, ...]
    metrics: tuple[str, ...]  # top-level `metrics:`, relative to the folder
    params: tuple[str, ...]  # top-level `params:` files, relative to the folder
    lock: Lock | None
    notes: tuple[str, ...]
    artifacts: tuple[Artifact, ...] = ()  # `artifacts:` (models, datasets...), see dvc/artifacts.py


def read_pipeline(dvc_yaml: Path, repo: Path, budget: StageBudget | None = None) -> Pipeline:
    """One dvc.yaml; `budget` is shared by every dvc.yaml of the repository."""
    budget = budget if budget is not None else StageBudget()
    label = dvc_yaml.relative_to(repo).as_posix()
    folder = posixpath.dirname(label)
    shown = str(dvc_yaml)  # errors name the file as the user can open it
    data = load_yaml(read_bytes(dvc_yaml, shown, MAX_PIPELINE_BYTES), shown) or {}
    if not isinstance(data, dict):
        raise IngestError(shown, None, "expected a mapping with `stages:`")
    lock_path = dvc_yaml.with_name("dvc.lock")
    notes: list[str] = []
    lock = None
    if lock_path.is_symlink() and not within(repo, lock_path):
        notes.append(f"{posixpath.join(folder, 'dvc.lock')} is a symlink leading outside the repository: not read")
    elif lock_path.is_file():
        lock = read_lock(lock_path, posixpath.join(folder, "dvc.lock"))
    stages_data = data.get("stages") or {}
    if not isinstance(stages_data, dict):
        raise IngestError(shown, "stages", "expected a mapping of stage names to definitions")
    ctx = context(dvc_yaml.parent, repo, data.get("vars"), notes) if _templated(data) else {}
    prefix = f"{label}:" if folder else ""
    stages: list[StageDef] = []
    for name, definition in stages_data.items():
        if not isinstance(name, str) or not isinstance(definition, dict):
            raise IngestError(shown, f"stages.{name}", "expected a stage definition (a mapping)")
        if "foreach" in definition or "matrix" in definition:
            stages += _generated(name, definition, ctx, lock, prefix, folder, shown, notes, budget)
        else:
            budget.take(shown, f"stages.{name}")
            stages.append(_stage(name, name, prefix, definition, folder, shown, ctx, {}))
    return Pipeline(
        label=label,
        folder=folder,
        stages=tuple(stages),
        metrics=_paths(data.get("metrics"), shown, "metrics"),
        params=_paths(data.get("params"), shown, "params"),
        lock=lock,
        notes=tuple(notes),
        artifacts=read_artifacts(data.get("artifacts"), folder, shown, label),
    )


@dataclass(frozen=True)
class Artifact:
    name: str
    path: str  # repo-relative (or a URL, as written)
    label: str  # the dvc.yaml that declares it
    type: str | None
    desc: str | None
    labels: tuple[str, ...]
    meta: str | None  # JSON of the `meta:` mapping, keys sorted


def read_artifacts(data: Any, folder: str, label: str, pipeline: str) -> tuple[Artifact, ...]:
    """`artifacts:` of one dvc.yaml (`data` is its value, `pipeline` its repo-relative path);
    errors name the file (`label`, as the user can open it) and the field."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise IngestError(label, "artifacts", "expected a mapping of artifact names to {path, type, desc...}")
    found = []
    for name, entry in data.items():
        where = f"artifacts.{name}"
        if not isinstance(name, str) or not name:
            raise IngestError(label, f"artifacts.{name!r:.60}", "an artifact name must be text")
        if not isinstance(entry, dict):
            raise IngestError(label, where, "expected a mapping with `path:`")
        path = entry.get("path")
        if not isinstance(path, str) or not path or "\x00" in path:
            raise IngestError(label, f"{where}.path", "missing or not a path")
        labels = entry.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(item, str | int | float) for item in labels):
            raise IngestError(label, f"{where}.labels", "expected a list of labels")
        meta = entry.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise IngestError(label, f"{where}.meta", "expected a mapping")
        kind, desc = entry.get("type"), entry.get("desc")
        for key, value in (("type", kind), ("desc", desc)):
            if value is not None and not isinstance(value, str):
                raise IngestError(label, f"{where}.{key}", "expected text")
        found.append(
            Artifact(
                name=name[:200],
                path=path if "://" in path else join(folder, path),
                label=pipeline,
                type=kind,
                desc=desc[:MAX_ARTIFACT_TEXT] if desc else None,
                labels=tuple(str(item)[:200] for item in labels),
                meta=json.dumps(meta, sort_keys=True, default=str)[:MAX_ARTIFACT_TEXT] if meta else None,
            )
        )
    return tuple(found)


def _templated(data: dict[str, Any]) -> bool:
    return "${" in repr(data.get("stages"))


def _generated(
    name: str,
    definition: dict[str, Any],
    ctx: dict[str, Any],
    lock: Lock | None,
    prefix: str,
    folder: str,
    label: str,
    notes: list[str],
    budget: StageBudget,
) -> list[StageDef]:
    body = definition.get("do", definition) if "foreach" in definition else definition
    if not isinstance(body, dict):
        raise IngestError(label, f"stages.{name}.do", "expected a stage definition (a mapping)")
    body = {k: v for k, v in body.items() if k != "matrix"}
    keys: list[tuple[str, dict[str, Any]]] = []
    try:
        for key, loop in generated(definition, ctx):  # lazily: the budget stops a combinatorial matrix early
            budget.take(label, f"stages.{name}")
            keys.append((key, loop))
    except Unresolved as exc:
        locked = sorted(key for key in (lock.stages if lock else {}) if key.startswith(f"{name}@"))
        notes.append(f"{label}: stages.{name}: cannot expand ({exc}); stages taken from dvc.lock: {len(locked)}")
        budget.left += len(keys)
        keys = []
        for key in locked:
            budget.take(label, f"stages.{name}")
            keys.append((key.split("@", 1)[1], {}))
    return [_stage(f"{name}@{key}", name, prefix, body, folder, label, ctx, loop) for key, loop in keys]


def _stage(
    key: str,
    name: str,
    prefix: str,
    definition: dict[str, Any],
    folder: str,
    label: str,
    ctx: dict[str, Any],
    loop: dict[str, Any],
) -> StageDef:
    where = f"stages.{name}"
    unresolved = None
    if "${" in repr(definition):
        try:
            definition = resolve(definition, {**ctx, **loop})
        except Unresolved as exc:
            unresolved = f"cannot fill in ${{{exc}}}"
    wdir = definition.get("wdir") or "."
    if not isinstance(wdir, str):
        raise IngestError(label, f"{where}.wdir", "expected a folder path")
    cmd = definition.get("cmd")
    if isinstance(cmd, list) and all(isinstance(part, str) for part in cmd):
        cmd = " && ".join(cmd)
    if cmd is not None and not isinstance(cmd, str):
        raise IngestError(label, f"{where}.cmd", "expected text or a list of text")
    outs = tuple(out for kind in OUT_KINDS for out in _outs(definition.get(kind), kind, label, f"{where}.{kind}"))
    desc = definition.get("desc")
    return StageDef(
        name=f"{prefix}{key}",
        key=key,
        wdir=join(folder, wdir),
        cmd=cmd,
        deps=_paths(definition.get("deps"), label, f"{where}.deps"),
        outs=outs,
        params=_params(definition.get("params"), label, f"{where}.params"),
        frozen=definition.get("frozen") is True,
        always_changed=definition.get("always_changed") is True,
        desc=desc if isinstance(desc, str) else None,
        unresolved=unresolved,
    )


def join(folder: str, path: str) -> str:
    """A repo-relative POSIX path ("" for the root); it may start with ".." when it leads out."""
    joined = posixpath.normpath(posixpath.join(folder, path))
    return "" if joined == "." else joined


def _paths(data: Any, label: str, where: str) -> tuple[str, ...]:
    if data is None:
        return ()
    if not isinstance(data, list) or not all(isinstance(item, str) and item for item in data):
        raise IngestError(label, where, "expected a list of paths")
    return tuple(data)


def _outs(data: Any, kind: str, label: str, where: str) -> list[OutDef]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise IngestError(label, where, "expected a list")
    outs = []
    for index, item in enumerate(data):
        if isinstance(item, str) and item:
            outs.append(OutDef(item, kind))
        elif isinstance(item, dict) and len(item) == 1:
            ((path, flags),) = item.items()
            if not isinstance(path, str) or not isinstance(flags, dict | None):
                raise IngestError(label, f"{where}[{index}]", "expected PATH or PATH: {flags}")
            outs.append(OutDef(path, kind, {str(k): _flag(v) for k, v in (flags or {}).items()}))
        else:
            raise IngestError(label, f"{where}[{index}]", "expected PATH or PATH: {flags}")
    return outs


def _flag(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:200]


def _params(data: Any, label: str, where: str) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise IngestError(label, where, "expected a list of parameter names or {file: [names]}")
    default: list[str] = []
    files: list[tuple[str, tuple[str, ...] | None]] = []
    for index, item in enumerate(data):
        if isinstance(item, str):
            default.append(item)
        elif isinstance(item, dict):
            for file, keys in item.items():
                if keys is not None and not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
                    raise IngestError(label, f"{where}[{index}].{file}", "expected a list of parameter names")
                files.append((str(file), tuple(keys) if keys else None))
        else:
            raise IngestError(label, f"{where}[{index}]", "expected a parameter name or {file: [names]}")
    return ((("params.yaml", tuple(default)),) if default else ()) + tuple(files)
