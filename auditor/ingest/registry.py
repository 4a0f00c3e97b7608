"""The ingesters, listed once; everything `auditor ingest` says and checks about kinds derives
from this list: the KIND choices and help, detection from the source's shape, which options fit
which kind. `ingest` reads every run before writing any, then writes each record atomically; an
earlier ingest of the same run with the same evidence is reported, not duplicated, and one whose
evidence differs is kept: the new record links it (`links.reingests`).

Light on purpose (the CLI builds its help from it): readers, records and the store are imported
when a source is read."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from auditor.capture.heap import paused_collection
from auditor.errors import UsageError
from auditor.ingest.dvc.ingester import DvcIngester
from auditor.ingest.interface import Confidence, Ingester, Options
from auditor.ingest.mlflow.ingester import MlflowIngester
from auditor.ingest.openlineage.ingester import OpenLineageIngester
from auditor.ingest.wandb.ingester import WandbIngester

if TYPE_CHECKING:
    from auditor.ingest.declared_find import Declaration
    from auditor.ingest.ingested import Ingested
    from auditor.record import RunRecord
    from auditor.store.runs import RunStore


def _by_name(ingesters: Iterable[Ingester]) -> dict[str, Ingester]:
    found: dict[str, Ingester] = {}
    for ingester in ingesters:
        if ingester.name in found:
            raise ValueError(f"two ingesters are named {ingester.name!r}")
        found[ingester.name] = ingester
    return found


# The one list. Its order is the order of help and messages, and wins ties in detection.
INGESTERS: Mapping[str, Ingester] = _by_name((MlflowIngester(), DvcIngester(), OpenLineageIngester(), WandbIngester()))
KINDS: tuple[str, ...] = tuple(INGESTERS)
FLAGS: tuple[str, ...] = tuple(dict.fromkeys(o.flag for i in INGESTERS.values() for o in i.options))


@dataclass(frozen=True)
class Outcome:
    run_id: str
    source_run_id: str | None
    new: bool
    notes: tuple[str, ...]
    reingests: str | None = None  # the earlier ingest of the same source run this new record re-reads


def _either(words: list[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def command_help() -> str:
    tools = _either([i.tool for i in INGESTERS.values()], "or")
    return (
        f"Ingest runs that {tools} recorded into the run store.\n\n"
        'Parts the tool does not capture are recorded as "not captured by TOOL", so rules on them cannot pass. '
        "Nothing is written unless every run in the source could be read (exit 2 otherwise)."
    )


def kind_help() -> str:
    """KIND's choices, each with what it reads."""
    kinds = "; ".join(f"{i.name}: {i.description}" for i in INGESTERS.values())
    return f"KIND is {'|'.join(KINDS)} (detected when left out), then SOURCE, the path or URI. {kinds}."


def option_help(flag: str) -> str:
    """What FLAG does, by tool ("MLflow, OpenLineage: only this run of the source.")."""
    by_help: dict[str, list[str]] = {}
    for ingester in INGESTERS.values():
        for option in ingester.options:
            if option.flag == flag:
                by_help.setdefault(option.help, []).append(ingester.tool)
    if not by_help:
        raise ValueError(f"no ingester takes {flag}")
    return "; ".join(f"{', '.join(tools)}: {text}" for text, tools in by_help.items()) + "."


def detect(source: str) -> str:
    """The kind of a source from its shape (the surest ingester, the first listed on a tie);
    a usage error says how to name it when none claims it."""
    sureness = {name: ingester.detect(source) for name, ingester in INGESTERS.items()}
    kind = max(sureness, key=sureness.__getitem__)  # the first listed of the surest
    if sureness[kind] > Confidence.NO:
        return kind
    if not Path(source).exists():
        raise UsageError(f"{source}: no such file or folder")
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


def check_options(ingester: Ingester, options: Options) -> None:
    """Refuse an option the ingester does not take, naming the kinds it is for."""
    taken = {o.flag for o in ingester.options}
    for flag in options.given:
        if flag in taken:
            continue
        if flag in ingester.declines:
            raise UsageError(f"{flag} is not for {ingester.tool}: {ingester.declines[flag]}")
        takers = [i.reads for i in INGESTERS.values() if any(o.flag == flag for o in i.options)]
        if not takers:
            raise UsageError(f"{flag}: no ingester takes this option")
        raise UsageError(f"{flag} is for {_either(takers, 'and')} only")


def read(kind: str, source: str, options: Options | None = None) -> list[Ingested]:
    ingester = INGESTERS.get(kind)
    if ingester is None:
        raise UsageError(f"{kind!r}: not a kind of source; expected one of {', '.join(KINDS)}")
    given = options or Options()
    check_options(ingester, given)
    runs = ingester.read(source, given)
    if not runs:
        chosen = [f"{flag[2:].replace('-', ' ')} {v}" for flag, v in given.given.items() if isinstance(v, str)]
        raise UsageError(f"{source}: no runs found" + (f" for {' and '.join(chosen)}" if chosen else ""))
    return runs


def ingest(
    kind: str | None,
    source: str,
    store: RunStore,
    options: Options | None = None,
    spec: Declaration | None = None,
    project: str | None = None,
) -> list[Outcome]:
    """`spec`: the auditor.yaml to apply to every run read (see `auditor.ingest.declared_find`);
    `project`: the project every run read belongs to, instead of the name the source gives (an
    MLflow experiment, a DVC repository's folder, an OpenLineage namespace, a W&B project)."""
    # Every run is read and its record built before any is written: millions of objects, no cycles,
    # alive until the ingest ends, which every pass of the collector walked again (1,000 MLflow runs,
    # benchmarks/ingest_speed.py: 2.6-2.9 s of CPU with it, 2.0-2.1 s without).
    with paused_collection():
        return _ingest(kind, source, store, options, spec, project)


def _ingest(
    kind: str | None,
    source: str,
    store: RunStore,
    options: Options | None,
    spec: Declaration | None,
    project: str | None,
) -> list[Outcome]:
    from auditor import progress
    from auditor.ingest.declared import declared_records
    from auditor.ingest.notes import import_notes
    from auditor.ingest.store import cleaned, commit_many, evidence_digest, existing_ingests, latest, stored_digest
    from auditor.record.models import Links
    from auditor.store.log import BATCH_MAX

    chosen = kind or detect(source)
    with progress.step(f"reading {chosen} runs from {source}"):
        runs = read(chosen, canonical(source), options)
    records = declared_records(runs, spec)  # everything is read and validated before anything is written
    if project is not None:
        records = [in_project(record, project) for record in records]
    out: list[Outcome] = []
    pending: list[tuple[int, RunRecord]] = []  # written a batch at a time: the store syncs once per batch

    def flush() -> None:
        if not pending:
            return
        commit_many(store, [record for _, record in pending])
        for at, record in pending:  # a line per run once its batch is written (the store syncs per batch)
            progress.item(f"wrote {record.identity.run_id} ({at + 1}/{len(runs)}, source run {out[at].source_run_id})")
            kept = import_notes(store, record, record.identity.run_id)  # beside the record, once it is there
            if kept:
                out[at] = dataclasses.replace(out[at], notes=(*out[at].notes, *kept))
        pending.clear()

    with store.locked():  # look and commit as one step: two ingests of one source must not both find a run new
        pairs = list(zip(runs, records, strict=True))
        keys = [(record.origin.tool or "", record.origin.source_uri or "", run.source_run_id) for run, record in pairs]
        earlier = existing_ingests(store, keys)
        for (run, record), key in zip(pairs, keys, strict=True):
            before = earlier.get(key, [])
            reingests = None
            if before:
                digest = evidence_digest(cleaned(record).model_dump(mode="json"))
                same = next((e for e in before if stored_digest(store, e.run_id) == digest), None)
                if same is not None:
                    said = f"already ingested, unchanged: the evidence read now is what {same.run_id} holds"
                    kept = import_notes(store, record, same.run_id)  # a store ingested before notes were
                    out.append(Outcome(same.run_id, run.source_run_id, new=False, notes=(*run.notes, said, *kept)))
                    continue
                reingests = latest(before).run_id
                record = record.model_copy(update={"links": Links(reingests=reingests)})
                said = (
                    f"re-ingested: what was read now differs from {reingests}, the earlier ingest of this source "
                    "run; the new record links it (links.reingests), both are kept"
                )
                out.append(Outcome(record.identity.run_id, run.source_run_id, True, (*run.notes, said), reingests))
            else:
                out.append(Outcome(record.identity.run_id, run.source_run_id, True, run.notes))
            pending.append((len(out) - 1, record))
            if len(pending) == BATCH_MAX:
                flush()
        flush()
    return out


def in_project(record: RunRecord, project: str) -> RunRecord:
    """The record filed under `project` (identity and lineage), the source's own name kept in its tags."""
    from auditor.record.lineage import Lineage

    update: dict[str, object] = {"identity": record.identity.model_copy(update={"project": project})}
    if record.identity.project != project:
        update["tags"] = {**record.tags, "auditor.source_project": record.identity.project}
    if isinstance(record.lineage, Lineage):
        named = record.lineage.project.model_copy(update={"name": project})
        update["lineage"] = record.lineage.model_copy(update={"project": named})
    return record.model_copy(update=update)
