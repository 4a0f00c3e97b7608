"""dvc.yaml's `artifacts:`: the files a project names as its models (and other artifacts).

Each entry is `NAME: {path, type, desc, labels, meta}` (DVC's model registry reads them). An
artifact of type `model`, or with no type, becomes a model of the record (`ModelArtifact`): it
keeps its name as id, the hash the pipeline recorded for its path (the stage output's, or the
SHA-256 `--rehash` took), and its type, description, labels and meta in annotations; the step
that writes it and the steps that read it point at the model instead of a dataset. An artifact
of another type (`dataset`...) stays a dataset, annotated with what the entry says.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor.capture.model.inspect import inspect_model
from auditor.capture.model.unpickle import ModelFileError
from auditor.files import UntrustedFileError, read_regular_file
from auditor.ingest.dvc.files import within
from auditor.ingest.dvc.lineage import Graph, is_local
from auditor.ingest.dvc.md5 import md5_bytes
from auditor.ingest.dvc.pipeline import Pipeline
from auditor.ingest.ingested import not_captured
from auditor.record.base import Missing
from auditor.record.lineage import ContentHash, IdentityHint, ModelArtifact, Step
from auditor.record.model_card import InspectedModel

MODEL_TYPES = ("model", None)
MAX_MODEL_BYTES = 512 * 1024 * 1024


def models_from(pipelines: list[Pipeline], graph: Graph) -> list[ModelArtifact]:
    """The model artifacts, taken out of the graph's datasets (in place) where a stage writes or
    reads their path; the others' entries annotate their dataset."""
    models: list[ModelArtifact] = []
    renamed: dict[str, str] = {}  # dataset id -> model id
    taken = {d.id for d in graph.datasets.values()}
    for artifact in (a for p in pipelines for a in p.artifacts):
        notes = {"dvc.artifact": artifact.name, "dvc.artifact.dvc.yaml": artifact.label}
        if artifact.type:
            notes["type"] = artifact.type
        if artifact.desc:
            notes["description"] = artifact.desc
        if artifact.labels:
            notes["labels"] = ", ".join(artifact.labels)
        if artifact.meta:
            notes["meta"] = artifact.meta
        dataset = graph.datasets.get(artifact.path)
        if artifact.type not in MODEL_TYPES:
            if dataset is not None:
                sheet = dataset.datasheet
                if artifact.desc and not sheet.description:
                    sheet = sheet.model_copy(update={"description": artifact.desc})
                update = {"annotations": {**dataset.annotations, **notes}, "datasheet": sheet}
                graph.datasets[artifact.path] = dataset.model_copy(update=update)
            continue
        ident = artifact.name if artifact.name not in taken or (dataset and dataset.id == artifact.name) else None
        if dataset is not None:
            del graph.datasets[artifact.path]
            ident = ident or dataset.id
            renamed[dataset.id] = ident
            hashed = dataset.after or dataset.before
            notes = {**{k: v for k, v in dataset.annotations.items() if k.startswith("dvc.")}, **notes}
        else:
            ident = ident or f"artifact-{artifact.name}"
            why = "no stage writes or reads it and no .dvc file tracks it"
            hashed = not_captured("DVC", f"{artifact.path}: {why}")
            notes["dvc.workspace"] = why if is_local(artifact.path) else "not a path inside the repository"
        taken.add(ident)
        path = artifact.path
        models.append(ModelArtifact(id=ident, path=path, after=hashed, annotations=notes))
    if renamed:
        graph.steps = [_renamed(step, renamed) for step in graph.steps]
    return models


def _renamed(step: Step, renamed: dict[str, str]) -> Step:
    return step.model_copy(
        update={
            "inputs": tuple(renamed.get(i, i) for i in step.inputs),
            "outputs": tuple(renamed.get(i, i) for i in step.outputs),
        }
    )


def inspect_models(repo: Path, models: list[ModelArtifact]) -> dict[str, InspectedModel | Missing]:
    """What each model file says (a scikit-learn pickle, read without executing it), for the model
    card; only a file whose bytes are the ones the pipeline recorded (DVC's MD5, or the SHA-256
    `--rehash` took after checking it) is read: another version would describe another model."""
    return {model.id: _inspect(repo, model) for model in models}


def _inspect(repo: Path, model: ModelArtifact) -> InspectedModel | Missing:
    path = repo / model.path
    if not is_local(model.path) or not within(repo, path):
        return Missing(reason="not read: not a file inside the repository")
    if not path.exists():
        return Missing(reason="not read: absent from the workspace (`dvc pull` fetches it)")
    if not path.is_file():
        return Missing(reason="not read: a folder, not one model file")
    try:
        data = read_regular_file(path, MAX_MODEL_BYTES)
    except UntrustedFileError as exc:
        return Missing(reason=f"could not read the model file: {exc.why}")
    except OSError as exc:
        return Missing(reason=f"could not read the model file: {exc.strerror or exc}")
    recorded = model.after
    if isinstance(recorded, IdentityHint) and recorded.algorithm in ("md5", "md5-legacy"):
        if md5_bytes(data, legacy=recorded.algorithm == "md5-legacy") != recorded.value:
            return Missing(reason="not read: the file changed since dvc.lock recorded it")
    elif not isinstance(recorded, ContentHash):
        return Missing(reason="not read: dvc.lock records no MD5 to check the file against")
    elif hashlib.sha256(data).hexdigest() != recorded.sha256:
        return Missing(reason="not read: the file changed since it was hashed")
    try:
        return inspect_model(data, model.path)
    except ModelFileError as exc:
        return Missing(reason=str(exc))
