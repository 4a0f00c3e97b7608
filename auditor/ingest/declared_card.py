"""The model card and fairness of an ingested run, completed from auditor.yaml: what it declares of the
models the run recorded, and the evaluation of its predictions file when that file is in the project.

Computed as for a captured run (`build_model_card`, `compute_fairness`), then joined with what the
tool reported: the tool's model ids and paths are kept, a declared type or library wins (as for a
captured run) and says what the tool reported beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from auditor.files import UntrustedFileError, read_regular_file, within
from auditor.project.spec import ModelSpec, PredictionsSpec, ProjectSpec
from auditor.record.base import Missing
from auditor.record.fairness import Fairness
from auditor.record.model_card import Fact, Hyperparameter, InspectedModel, ModelCard

MAX_PREDICTIONS_BYTES = 1024 * 1024 * 1024
FROM_AUDITOR_YAML = "declared in auditor.yaml for runs auditor executes"  # the reported card's note


def read_project_file(roots: tuple[Path, ...], relative: str, limit: int) -> bytes | str:
    """A file auditor.yaml names (relative to roots[0], its folder), or why not. Only inside `roots`
    (its folder and the source's): an auditor.yaml found in an ingested repository is as untrusted
    as the rest of it, and must not make auditor read ~/.ssh."""
    path = roots[0] / relative
    if not os.path.lexists(path):
        return "no such file in the project"
    if not within(path, roots):
        return "outside the project and the source: not read"
    try:
        return read_regular_file(os.path.realpath(path), limit)
    except UntrustedFileError as exc:
        return exc.why
    except FileNotFoundError:
        return "no such file in the project"
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    except ValueError:
        return "unusable path"


def predictions(roots: tuple[Path, ...], options: PredictionsSpec) -> tuple[PredictionsSpec, str, bytes] | str:
    data = read_project_file(roots, options.path, MAX_PREDICTIONS_BYTES)
    return (options, options.path, data) if isinstance(data, bytes) else f"{options.path}: {data}"


def fairness(found: tuple[PredictionsSpec, str, bytes] | str) -> Fairness | Missing:
    if isinstance(found, str):
        return Missing(reason=found)
    from auditor.capture.fairness import fairness_of_bytes  # numpy: only when there is work

    options, display, data = found
    return fairness_of_bytes(data, display, options)


def completed_card(
    tool: str,
    reported: ModelCard,
    spec: ProjectSpec,
    roots: tuple[Path, ...],
    matched: Mapping[str, ModelSpec],
    files: tuple[ModelSpec, ...],
    found: tuple[PredictionsSpec, str, bytes] | str | None,
) -> ModelCard:
    """`matched`: the tool's model id -> the entry describing it; `files`: declared models that are
    output files of the run rather than models the tool recorded (DVC's model.pkl)."""
    from auditor.capture.model.card import MAX_MODEL_BYTES, build_model_card  # numpy: only when there is work
    from auditor.capture.model.sensitive import feature_flags

    used = tuple(dict.fromkeys([*matched.values(), *files]))
    declared = build_model_card(
        spec.model_copy(update={"models": used}),
        lambda path: read_project_file(roots, path, MAX_MODEL_BYTES),
        found if found is not None else "auditor.yaml declares no predictions",
        {},
    )
    by_id = {entry.id: entry for entry in declared.models}
    sensitive = spec.predictions.sensitive_columns if spec.predictions else ()
    entries = []
    for entry in reported.models:
        model = matched.get(entry.id)
        if model is None:
            entries.append(entry)
            continue
        own = by_id[model.id]
        names = [f.name for f in (own.features if model.features is not None else entry.features or own.features)]
        entries.append(
            entry.model_copy(
                update={
                    "description": model.description or entry.description,  # DVC's artifacts: describe models too
                    "limitations": model.limitations or entry.limitations,
                    "ethical_considerations": model.ethical_considerations or entry.ethical_considerations,
                    "type": _declared_first(model.type, entry.type, own.type, tool),
                    "library": _declared_first(model.library, entry.library, own.library, tool),
                    "task": own.task or entry.task,
                    "features": feature_flags(names, sensitive),
                    "features_source": own.features_source if model.features is not None else entry.features_source,
                    "training_data": model.training_data or entry.training_data,
                    "label": model.label or entry.label,
                    "file": entry.file if isinstance(entry.file, InspectedModel) else own.file,
                }
            )
        )
    entries += [by_id[model.id] for model in files]
    notes = [n for n in reported.notes if FROM_AUDITOR_YAML not in n and (not entries or "recorded no model" not in n)]
    notes += [n for n in declared.notes if spec.models or not n.startswith("no model declared")]
    return ModelCard(
        models=tuple(entries),
        params_files=declared.params_files,
        metrics_files=declared.metrics_files,
        hyperparameters=(*reported.hyperparameters, *_not_already(declared.hyperparameters, reported.hyperparameters)),
        performance=declared.performance if spec.predictions is not None else reported.performance,
        notes=tuple(notes),
    )


def _not_already(declared: tuple[Hyperparameter, ...], reported: tuple[Hyperparameter, ...]) -> list[Hyperparameter]:
    """A params file the tool also logged (DVC's params.yaml) is not listed twice: its values are
    shown once, as the tool logged them; a value that differs is kept, so the difference shows."""
    seen = {(h.name, h.value) for h in reported}
    return [h for h in declared if (h.name, h.value) not in seen]


def _declared_first(declared: str | None, reported: Fact | None, read: Fact | None, tool: str) -> Fact | None:
    """A declared fact wins, as for a captured run; what the tool reported is kept beside it."""
    if declared:
        beside = f"{tool} reported: {reported.value}" if reported and reported.value != declared else None
        return Fact(value=declared, source="declared", detail=beside)
    return reported or read
