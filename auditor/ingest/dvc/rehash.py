"""`--rehash`: compare the workspace with dvc.lock, and hash with SHA-256 what still matches.

A SHA-256 taken now proves what is on disk now, not what the pipeline read or wrote. So it goes
into a dataset's before/after only where DVC's MD5, recomputed now, still equals the one dvc.lock
recorded: then the bytes are those of the run, as far as DVC itself can tell. A file that changed
keeps its identity hint and is reported as "changed since dvc.lock: PATH". One that is not in
the workspace at all (a fresh clone before `dvc pull`) did not change: it is "absent from the
workspace: PATH", told apart because the two call for different actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auditor.capture.hashing import hash_paths
from auditor.ingest.dvc.lineage import Graph, is_local
from auditor.ingest.dvc.md5 import Current, Ignored, current
from auditor.record.lineage import ContentHash, Dataset, Hash, IdentityHint

MD5_ALGORITHMS = ("md5", "md5-dir", "md5-legacy")


@dataclass
class Rehashed:
    changed: list[str] = field(default_factory=list)  # differ from what dvc.lock recorded
    absent: list[str] = field(default_factory=list)  # not in the workspace (never pulled, or deleted)


def rehash(graph: Graph, repo: Path, now: datetime, ignored: Ignored | None = None) -> Rehashed:
    """Update the graph's datasets in place; return the paths that changed since dvc.lock, and
    those absent from the workspace."""
    found_paths = Rehashed()
    changed = found_paths.changed
    matched: dict[str, Dataset] = {}
    counted: dict[str, int] = {}  # files DVC's hash covers, .dvcignore applied
    for key, dataset in graph.datasets.items():
        slots = [slot for slot in (dataset.before, dataset.after) if isinstance(slot, IdentityHint) and _md5_hint(slot)]
        if not is_local(key):
            if not dataset.uri:
                graph.notes.append(f"not re-hashed: {key}: outside the repository")
            continue
        if not slots:
            _annotate(graph, key, "not compared: dvc.lock records no MD5 for it")
            continue
        now_md5: dict[bool, Current] = {}
        differs = False
        if not (repo / key).exists() and not (repo / key).is_symlink():
            found_paths.absent.append(key)
            _annotate(graph, key, "absent from the workspace (not pulled, or removed): not compared with dvc.lock")
            continue
        for slot in slots:
            legacy = slot.algorithm == "md5-legacy"
            if legacy not in now_md5:
                now_md5[legacy] = current(repo / key, repo, legacy=legacy, ignored=ignored)
            found = now_md5[legacy]
            if found.md5 is None:
                if found.problem and found.problem.startswith("absent"):
                    differs = True
                else:
                    _annotate(graph, key, f"not compared: {found.problem}")
                    graph.notes.append(f"not re-hashed: {key}: {found.problem}")
                    break
            elif found.md5 != slot.value:
                differs = True
        else:
            if differs:
                changed.append(key)
                shown = "; ".join(
                    f"{'legacy ' if legacy else ''}MD5 now {c.md5 or c.problem}" for legacy, c in now_md5.items()
                )
                _annotate(graph, key, f"changed since dvc.lock ({shown})")
            else:
                matched[key] = dataset
                counted[key] = len(next(iter(now_md5.values())).files)
    if matched:
        hashes = hash_paths([repo / key for key in matched], display_root=repo, cache=None, now=now, progress=False)
        for (key, dataset), content in zip(matched.items(), hashes, strict=True):
            if isinstance(content, ContentHash):
                update = {slot: content for slot in ("before", "after") if _md5_hint(getattr(dataset, slot))}
                graph.datasets[key] = dataset.model_copy(update=update)
                extra = len(content.files) - counted[key]
                files = f"{extra} more file{'s' if extra > 1 else ''}"
                also = f" (it also covers {files} that .dvcignore leaves out of DVC's MD5)" if extra > 0 else ""
                _annotate(graph, key, f"matches dvc.lock (DVC's MD5 recomputed); SHA-256 taken at ingest{also}")
            else:
                _annotate(
                    graph, key, f"matches dvc.lock, but SHA-256 not taken: {getattr(content, 'reason', 'absent')}"
                )
    return found_paths


def _md5_hint(slot: Hash | None) -> bool:
    return isinstance(slot, IdentityHint) and slot.algorithm in MD5_ALGORITHMS


def _annotate(graph: Graph, key: str, text: str) -> None:
    dataset = graph.datasets[key]
    graph.datasets[key] = dataset.model_copy(update={"annotations": {**dataset.annotations, "dvc.workspace": text}})
