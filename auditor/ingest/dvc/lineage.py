"""Stages as steps, dependencies and outputs as datasets, wired the way `dvc dag` wires them.

A path that no stage writes is an input, one written and read is intermediate, one only
written is an output. As in DVC's graph, a dependency inside a folder that another stage
writes (or a folder holding such an output) links the two stages: the dataset is added to
the writer's outputs and says which output it belongs to. Hashes are the MD5s dvc.lock
recorded, kept as identity hints: the producer's entry after the run, the first consumer's
before it; a consumer that recorded another version than its producer wrote is stale.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.capture.redact import clean_url
from auditor.ingest.dvc.code import CODE_DESCRIPTION, is_code_file
from auditor.ingest.dvc.lock import Entry, LockStage
from auditor.ingest.dvc.pipeline import OutDef, Pipeline, StageDef, join
from auditor.ingest.dvc.values import display, flatten, record_key
from auditor.ingest.ingested import not_captured
from auditor.record.base import Missing
from auditor.record.lineage import Dataset, Datasheet, Hash, IdentityHint, Step

URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MEANING = {
    "md5": "DVC's MD5 of the file's bytes when dvc.lock was written: it names a version of the data; "
    "MD5 is not collision-resistant, so it does not prove the bytes",
    "md5-dir": "DVC's MD5 of the folder's sorted JSON listing of per-file MD5s when dvc.lock was written: "
    "it names a version of the data; MD5 does not prove the bytes",
    "md5-legacy": "an MD5 from DVC 1/2 (text files hashed with CRLF turned into LF; '.dir' for a folder): "
    "it names a version of the data; it does not prove the bytes",
}


@dataclass
class Use:
    stage: str
    entry: Entry | None  # None when the stage is not locked
    out: OutDef | None = None


@dataclass
class Graph:
    steps: list[Step] = field(default_factory=list)
    datasets: dict[str, Dataset] = field(default_factory=dict)  # location -> dataset
    stale: list[str] = field(default_factory=list)  # why the lock does not describe the pipeline
    notes: list[str] = field(default_factory=list)
    entries: dict[str, list[Entry]] = field(default_factory=dict)  # location -> every lock entry naming it


def location(wdir: str, path: str) -> str:
    """Repo-relative POSIX path of a dependency or output; URLs and absolute paths as written."""
    if URL.match(path):
        return clean_url(path)  # a password in a URL must not reach the record, not even as a dataset id
    if path.startswith("/"):
        return path
    return join(wdir, path)


def is_local(key: str) -> bool:
    return not URL.match(key) and not key.startswith("/") and key != ".." and not key.startswith("../")


def build(pipelines: list[Pipeline], is_code: Callable[[str], bool] = is_code_file) -> Graph:
    """`is_code(key)`: whether a dependency is source code (dvc_code.CodeCheck also reads folders)."""
    graph = Graph()
    producers: dict[str, Use] = {}
    consumers: dict[str, list[Use]] = {}
    wiring: dict[str, tuple[list[str], list[str]]] = {}
    for pipeline in pipelines:
        locked = pipeline.lock.stages if pipeline.lock else {}
        for stage in pipeline.stages:
            lock = locked.get(stage.key)
            ins, outs = wiring.setdefault(stage.name, ([], []))
            for key, entry in _deps(stage, lock):
                consumers.setdefault(key, []).append(Use(stage.name, entry))
                _add(ins, key)
            for key, entry, out in _outs(stage, lock):
                if key in producers:
                    graph.notes.append(f"{key}: written by both {producers[key].stage} and {stage.name}")
                producers.setdefault(key, Use(stage.name, entry, out))
                _add(outs, key)
            graph.steps.append(_step(stage, lock, pipeline, graph))
        names = {stage.key for stage in pipeline.stages}
        for key in sorted(set(locked) - names):
            graph.notes.append(
                f"{pipeline.lock.label if pipeline.lock else ''}: stages.{key}: no longer in "
                f"{pipeline.label}: ignored, as DVC ignores it"
            )
    overlaps = _overlaps(producers, consumers, wiring)
    ids = _ids(sorted({*producers, *consumers}))
    for key in sorted({*producers, *consumers}):
        code = key in consumers and is_local(key) and is_code(key)
        graph.datasets[key] = _dataset(
            key, ids[key], producers.get(key), consumers.get(key, []), overlaps, graph, code=code
        )
    graph.steps = [
        step.model_copy(
            update={
                "inputs": tuple(ids[k] for k in wiring[step.name][0]),
                "outputs": tuple(ids[k] for k in wiring[step.name][1]),
            }
        )
        for step in graph.steps
    ]
    return graph


def _add(keys: list[str], key: str) -> None:
    if key not in keys:
        keys.append(key)


def _deps(stage: StageDef, lock: LockStage | None) -> list[tuple[str, Entry | None]]:
    if lock is not None:
        return [(location(stage.wdir, entry.path), entry) for entry in lock.deps]
    return [(location(stage.wdir, path), None) for path in stage.deps]


def _outs(stage: StageDef, lock: LockStage | None) -> list[tuple[str, Entry | None, OutDef | None]]:
    declared = {location(stage.wdir, out.path): out for out in stage.outs}
    if lock is not None:
        return [(key, entry, declared.get(key)) for entry in lock.outs for key in [location(stage.wdir, entry.path)]]
    return [(key, None, out) for key, out in declared.items()]


def _step(stage: StageDef, lock: LockStage | None, pipeline: Pipeline, graph: Graph) -> Step:
    notes: dict[str, str] = {"dvc.yaml" if pipeline.label.endswith("dvc.yaml") else "dvc file": pipeline.label}
    if stage.wdir != pipeline.folder:
        notes["wdir"] = stage.wdir or "."
    if stage.frozen:
        notes["frozen"] = "true"
    if stage.always_changed:
        notes["always_changed"] = "true"
    if stage.desc:
        notes["desc"] = stage.desc
    if stage.unresolved:
        notes["templating"] = stage.unresolved
    if lock is None:
        notes["lock"] = "not in dvc.lock"
        graph.stale.append(f"stage {stage.name} is not in dvc.lock (never reproduced, failed, or added since)")
    else:
        for file, values in lock.params.items():
            name = posixpath.normpath(posixpath.join(stage.wdir, file))
            for top, value in values.items():
                for key, leaf in flatten(value, str(top)) if isinstance(value, dict) else [(str(top), value)]:
                    notes[f"param:{record_key(name, key)}"] = display(leaf)
        changed = _differences(stage, lock)
        if changed:
            notes["changed since dvc.lock"] = ", ".join(changed)
            graph.stale.append(f"stage {stage.name}: its {', '.join(changed)} changed in dvc.yaml since dvc.lock")
    return Step(
        name=stage.name, command=(lock.cmd if lock else stage.cmd) or "", inputs=(), outputs=(), annotations=notes
    )


def _differences(stage: StageDef, lock: LockStage) -> list[str]:
    """What `dvc status` would call a changed stage definition (data changes are checked apart)."""
    if stage.unresolved:
        return []
    norm = posixpath.normpath
    changed = []
    if stage.cmd is not None and stage.cmd != lock.cmd:
        changed.append("cmd")
    if {norm(p) for p in stage.deps} != {norm(e.path) for e in lock.deps}:
        changed.append("deps")
    if {norm(o.path) for o in stage.outs} != {norm(e.path) for e in lock.outs}:
        changed.append("outs")
    declared = {file: set(keys) if keys else None for file, keys in stage.params}
    recorded = {file: set(values) for file, values in lock.params.items()}
    if set(declared) != set(recorded) or any(keys and keys != recorded[f] for f, keys in declared.items()):
        changed.append("params")
    return changed


def _overlaps(
    producers: dict[str, Use], consumers: dict[str, list[Use]], wiring: dict[str, tuple[list[str], list[str]]]
) -> dict[str, str]:
    """Dependencies inside (or around) another stage's output folder, linked to that stage."""
    found = {}
    for key in consumers:
        if key in producers or not is_local(key):
            continue
        for produced, use in producers.items():
            if key.startswith(produced + "/") or produced.startswith(key + "/"):
                _add(wiring[use.stage][1], key)
                found[key] = produced
    return found


def _ids(keys: list[str]) -> dict[str, str]:
    slugs = {key: (UNSAFE.sub("-", URL.sub("", key)).strip("-._")[:100] or "data") for key in keys}
    counts = Counter(slugs.values())
    out = {}
    for key, slug in slugs.items():
        if counts[slug] > 1:
            slug += "-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        out[key] = slug
    return out


def hint(entry: Entry | None, stage: str) -> Hash:
    if entry is None:
        return Missing(reason=f"not in dvc.lock: stage {stage} has no recorded run")
    if entry.md5:
        algorithm = "md5-legacy" if entry.legacy else ("md5-dir" if entry.is_dir else "md5")
        return IdentityHint(tool="DVC", algorithm=algorithm, value=entry.md5, meaning=MEANING[algorithm])
    if entry.other:
        name, value = next(iter(entry.other.items()))
        meaning = f"the remote's {name} as DVC recorded it: it names a version of the data; it does not prove the bytes"
        return IdentityHint(tool="DVC", algorithm=name, value=value, meaning=meaning)
    return not_captured("DVC", f"dvc.lock records no hash for {entry.path}")


def _dataset(
    key: str,
    ident: str,
    producer: Use | None,
    users: list[Use],
    overlaps: dict[str, str],
    graph: Graph,
    *,
    code: bool = False,
) -> Dataset:
    """A path as a dataset. Source code a stage depends on keeps its place in the lineage (the
    record has no role for code), marked `dvc.kind: code` and described as such."""
    notes: dict[str, str] = {}
    out = producer.out if producer else None
    if out is not None:
        notes.update({f"dvc.{flag}": value for flag, value in out.flags.items() if flag != "desc"})
        if out.kind != "outs":
            notes["dvc.kind"] = out.kind
    if code and "dvc.kind" not in notes:
        notes["dvc.kind"] = "code"
    if key in overlaps:
        inside = key.startswith(overlaps[key] + "/")
        notes["dvc.overlaps"] = f"{'inside' if inside else 'contains'} output {overlaps[key]}"
    produced = producer is not None or key in overlaps
    role = "intermediate" if produced and users else ("output" if produced else "input")
    before = after = None
    if producer is not None:
        after = hint(producer.entry, producer.stage)
    elif key in overlaps:
        after = not_captured("DVC", f"DVC hashes {overlaps[key]} as a whole")
    if users:
        before = hint(users[0].entry, users[0].stage)
    graph.entries[key] = [u.entry for u in [*([producer] if producer else []), *users] if u.entry is not None]
    recorded = {(e.legacy, e.md5) for e in graph.entries[key] if e.md5}
    if len({legacy for legacy, _ in recorded}) < len(recorded):  # two versions under one algorithm
        stages = ", ".join(u.stage for u in users)
        graph.stale.append(f"{key}: the stages that use it ({stages}) recorded different versions of it")
    description = out.flags.get("desc") if out else None
    if notes.get("dvc.kind") == "code":
        description = description or CODE_DESCRIPTION
    return Dataset(
        id=ident,
        role=role,
        path=key if not URL.match(key) else None,
        uri=key if URL.match(key) else None,
        datasheet=Datasheet(description=description, source=key if URL.match(key) else None),
        before=before if role in ("input", "intermediate") else None,
        after=after if role in ("output", "intermediate") else None,
        annotations=notes,
    )
