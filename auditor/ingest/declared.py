"""auditor.yaml applied to an ingested run: what the project declares joins what the tool recorded.

Datasheets fill the matched datasets' datasheets (a fact the tool recorded is kept; a declared one
that differs is named in the notes), the project's owner and intended use fill `lineage.project`,
the governance section becomes the record's, declared models complete the model card, and a
predictions file present in the project is evaluated for fairness and performance as for a
captured run. What auditor.yaml declares that the run did not use is listed in `lineage.unmatched`,
one plain line each, so a typo in a path is seen rather than silently leaving a dataset undocumented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from auditor.ingest.declared_card import completed_card, fairness
from auditor.ingest.declared_find import Declaration, project_folders, source_folder
from auditor.ingest.declared_match import Index, Places, forget_folders
from auditor.ingest.declared_predictions import run_predictions
from auditor.ingest.ingested import Ingested, build_record
from auditor.project.spec import DatasetSpec, ModelSpec
from auditor.record.base import Missing
from auditor.record.governance import Governance
from auditor.record.lineage import Dataset, Datasheet, Lineage
from auditor.record.model_card import ModelCard
from auditor.record.models import RunRecord
from auditor.text import clip

MAX_LISTED = 10  # names listed in one note before "and N more"


def declared_records(runs: list[Ingested], declaration: Declaration | None) -> list[RunRecord]:
    """The run records of `runs`, read from one source, with `declaration` applied when there is one."""
    forget_folders()  # links may have changed since an earlier ingest in this process
    return [declared_record(run, declaration, alone=len(runs) == 1) for run in runs]


def declared_record(run: Ingested, declaration: Declaration | None, *, alone: bool = True) -> RunRecord:
    """The run record of `run`, with `declaration` (auditor.yaml) applied when there is one. `alone`:
    the only run read from its source (a predictions file found only in the project is then its own)."""
    if declaration is None:
        return build_record(run)
    spec = declaration.spec
    places = Places(declaration.root, source_folder(run.source_uri))
    notes: list[str] = []
    unmatched: list[str] = []
    unused_models: list[str] = []
    models, model_files = _models(run, spec.models, places, unused_models)
    datasets = _datasheets(run, spec.datasets, places, notes, unmatched, model_files)
    unmatched += unused_models  # in auditor.yaml's order of sections
    owner = run.owner or spec.project.owner
    if run.owner and spec.project.owner and run.owner != spec.project.owner:
        notes.append(
            f'project owner: {run.tool} recorded "{clip(run.owner, 80)}", auditor.yaml says '
            f'"{clip(spec.project.owner, 80)}"; {run.tool}\'s is kept'
        )
    record = build_record(replace(run, datasets=datasets, owner=owner))
    roots = (declaration.root, *project_folders(run.source_uri))
    found = (
        run_predictions(run, spec.predictions, places, roots, alone, notes) if spec.predictions is not None else None
    )
    if isinstance(found, str):
        unmatched.append(f"predictions ({found}): fairness and performance not computed")
    evaluated = fairness(found) if found is not None else None
    card = record.model_card
    if isinstance(card, ModelCard):
        card = completed_card(run.tool, card, spec, roots, models, tuple(dict.fromkeys(model_files.values())), found)
    lineage = record.lineage
    if isinstance(lineage, Lineage):
        project = lineage.project.model_copy(
            update={"intended_use": spec.project.intended_use, "out_of_scope_uses": spec.project.out_of_scope_uses}
        )
        lineage = lineage.model_copy(
            update={
                "spec_path": declaration.shown(places.source),
                "spec_sha256": declaration.sha256,
                "project": project,
                "notes": (*lineage.notes, *notes),
                "unmatched": tuple(unmatched),
            }
        )
    computed = evaluated is not None and not isinstance(evaluated, Missing)
    parts = tuple(p for p in record.origin.not_captured if not (computed and p == "fairness"))
    governed = "governance" in spec.model_fields_set
    updates = {
        "lineage": lineage,
        "origin": record.origin.model_copy(update={"not_captured": parts}),
        "fairness": evaluated if evaluated is not None else record.fairness,
        "governance": Governance(**spec.governance.model_dump())
        if governed
        else Missing(reason="auditor.yaml has no governance section"),
        "model_card": card,
    }
    # validated here, with the other runs', before any is written (the sections themselves already are)
    return RunRecord.model_validate({**dict(record), **updates})


def _datasheets(
    run: Ingested,
    entries: tuple[DatasetSpec, ...],
    places: Places,
    notes: list[str],
    unmatched: list[str],
    model_files: Mapping[str, ModelSpec],
) -> tuple[Dataset, ...]:
    """Each dataset with the datasheet of the first auditor.yaml entry that matches it.
    `model_files`: dataset id -> the declared model it is (described in the model card instead)."""
    chosen: dict[str, tuple[DatasetSpec, str]] = {}
    index = Index(run.datasets, places)
    for entry in entries:
        hits = index.match(entry.path, entry.uri) or index.named(entry.id)
        if not hits:
            where = entry.path if entry.path is not None else entry.uri
            noun = "path" if entry.path is not None else "URI"
            unmatched.append(f"dataset {entry.id} ({where}): the {run.tool} run used no such {noun}")
        for dataset_id, how in hits.items():
            chosen.setdefault(dataset_id, (entry, how))
    out = []
    for dataset in run.datasets:
        if dataset.id not in chosen:
            out.append(dataset)
            continue
        entry, how = chosen[dataset.id]
        sheet = _merged(dataset, entry.datasheet, run.tool, notes)
        out.append(dataset.model_copy(update={"datasheet": sheet}))
    if chosen:
        shown = [f"{d} ({how})" for d, (_, how) in chosen.items()]
        notes.append(f"datasheets from auditor.yaml: {_listed(shown)}")
    undeclared = [
        d.id
        for d in run.datasets
        if d.id not in chosen and d.id not in model_files and d.annotations.get("dvc.kind") != "code"
    ]
    if model_files:
        shown = [f"{d} (model {model.id})" for d, model in model_files.items()]
        hint = any(d not in chosen for d in model_files)
        notes.append(
            f"output files auditor.yaml declares as models, described in the model card: {_listed(shown)}"
            + (" (a datasets entry with the same path gives one a datasheet for the rules on data)" if hint else "")
        )
    if undeclared:
        notes.append(f"auditor.yaml declares no datasheet for {_listed(undeclared)}")
    return tuple(out)


def _merged(dataset: Dataset, declared: Datasheet, tool: str, notes: list[str]) -> Datasheet:
    """The tool's datasheet with auditor.yaml's facts added; where both say something different,
    the tool's stays and the note names both."""
    values = dataset.datasheet.model_dump()
    for name, value in declared.model_dump().items():
        if value is None or value == "":
            continue
        mine = values.get(name)
        if mine is None or mine == "":
            values[name] = value
        elif mine != value:
            notes.append(
                f'dataset {dataset.id}: {name}: {tool} recorded "{clip(str(mine), 80)}", auditor.yaml says '
                f'"{clip(str(value), 80)}"; {tool}\'s is kept'
            )
    return Datasheet.model_validate(values)


def _models(
    run: Ingested, entries: tuple[ModelSpec, ...], places: Places, unmatched: list[str]
) -> tuple[dict[str, ModelSpec], dict[str, ModelSpec]]:
    """The tool's model id -> the entry describing it, and the output datasets that are declared
    models -> their entry (DVC has no models of its own outside `artifacts:`: a model.pkl is an output)."""
    recorded = Index(run.models, places)
    outputs = Index([d for d in run.datasets if d.role != "input" and d.path], places)
    matched: dict[str, ModelSpec] = {}
    files: dict[str, ModelSpec] = {}
    for entry in entries:
        hits = recorded.match(entry.path, None) or recorded.named(entry.id)
        for model_id in hits:
            matched.setdefault(model_id, entry)
        produced = {} if hits else outputs.match(entry.path, None)
        for dataset_id in produced:
            files.setdefault(dataset_id, entry)
        if not hits and not produced:
            unmatched.append(f"model {entry.id} ({entry.path}): the {run.tool} run recorded no such model")
    return matched, files


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
