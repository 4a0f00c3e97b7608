"""The model card's evidence, assembled once at capture from what the project declares, what the model
files say (read without executing them), the params and metrics files, the logged params, and the
predictions file. Declared facts win over read ones, and every fact keeps its source.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.capture.model.declared import Reader, decision_threshold, read_declared
from auditor.capture.model.inspect import LIBRARIES, inspect_model
from auditor.capture.model.sensitive import feature_flags
from auditor.capture.model.unpickle import ModelFileError
from auditor.project.spec import ModelSpec, PredictionsSpec, ProjectSpec
from auditor.record.base import Missing
from auditor.record.lineage import ModelArtifact
from auditor.record.model_card import (
    ClassifierPerformance,
    DeclaredFile,
    Fact,
    Feature,
    Hyperparameter,
    InspectedModel,
    ModelCard,
    ModelEntry,
    ParamValue,
    RegressionPerformance,
)

MAX_MODEL_BYTES = 512 * 1024 * 1024
Predictions = tuple[PredictionsSpec, str, bytes]  # options, display path, the file's bytes


def build_model_card(
    spec: ProjectSpec,
    read: Reader,
    predictions: Predictions | str,
    params: Mapping[str, ParamValue],
    *,
    associations: Mapping[str, str] | None = None,
) -> ModelCard:
    """`read`: project-relative path -> bytes or why not; `predictions`: the file, or why there is none;
    `associations`: feature -> how it is associated with a sensitive attribute (the likely-proxy hook)."""
    params_files = tuple(read_declared(p, read, numbers_only=False) for p in spec.params_files)
    metrics_files = tuple(read_declared(p, read, numbers_only=True) for p in spec.metrics_files)
    performance, task = _performance(predictions, spec.predictions, params_files, spec.models)
    sensitive = spec.predictions.sensitive_columns if spec.predictions else ()
    models = tuple(_model(m, read, task, sensitive, associations or {}) for m in spec.models)
    notes = [f"{f.path}: {f.problem}" for f in (*params_files, *metrics_files) if f.problem]
    if not spec.models:
        notes.append("no model declared in auditor.yaml (models: [{id, path, description, ...}])")
    return ModelCard(
        models=models,
        params_files=params_files,
        metrics_files=metrics_files,
        hyperparameters=_hyperparameters(params, models, params_files),
        performance=performance,
        notes=tuple(notes),
    )


def reported_model_card(
    tool: str,
    models: tuple[ModelArtifact, ...],
    params: Mapping[str, ParamValue],
    inspected: Mapping[str, InspectedModel | Missing] | None = None,
) -> ModelCard:
    """The model card of an ingested run, from what the tool recorded: its models' flavours (MLflow's
    MLmodel) and, where the tool saved a pickle, what that file says (read without executing it), and
    the logged params. No predictions file with labels: performance is missing, and says so."""
    entries = []
    for artifact in models:
        flavors = artifact.annotations.get("flavors")
        names = [f.strip() for f in flavors.split(",")] if flavors else []
        kinds = [n for n in names if n != "python_function"] or names
        library = next((LIBRARIES[n] for n in kinds if n in LIBRARIES), None)
        file = (inspected or {}).get(artifact.id) or Missing(
            reason=f"not read: {tool} recorded no model file auditor can read without executing it"
        )
        found = file if isinstance(file, InspectedModel) else None
        reported_type = (
            Fact(value=", ".join(kinds), source="reported", detail=f"{tool} model flavors") if kinds else None
        )
        reported_library = Fact(value=library, source="reported", detail=f"{tool} model flavor") if library else None
        made = f"{found.library} {found.library_version or ''}".strip() if found and found.library else None
        names_in = found.features if found else None
        entries.append(
            ModelEntry(
                id=artifact.id,
                path=artifact.path,
                description=artifact.annotations.get("description"),  # as the tool recorded it (DVC's desc)
                limitations=None,
                ethical_considerations=None,
                type=Fact(value=found.class_name, source="model_file", detail=found.summary)
                if found
                else reported_type,
                library=Fact(value=made, source="model_file", detail=found.module)
                if made and found
                else reported_library,
                task=None,
                features=feature_flags(names_in or (), ()),
                features_source=Fact(value=f"{len(names_in)} features", source="model_file", detail="feature_names_in_")
                if names_in
                else None,
                file=file,
            )
        )
    hyper = tuple(
        Hyperparameter(name=k, value=_text(v), source="logged", origin=f"logged to {tool}") for k, v in params.items()
    )
    return ModelCard(
        models=tuple(entries),
        hyperparameters=hyper,
        performance=Missing(
            reason=f"not computed: {tool} recorded no predictions file with labels for auditor to evaluate"
        ),
        notes=(
            f"ingested from {tool}: description, limitations and ethical considerations are declared in "
            "auditor.yaml for runs auditor executes",
        )
        + (() if models else (f"{tool} recorded no model for this run",)),
    )


def _model(
    model: ModelSpec,
    read: Reader,
    task: Fact | None,
    sensitive: tuple[str, ...],
    associations: Mapping[str, str],
) -> ModelEntry:
    data = read(model.path)
    inspected: InspectedModel | Missing
    if isinstance(data, str):
        inspected = Missing(reason=f"could not read the model file: {data}")
    else:
        try:
            inspected = inspect_model(data, model.path)
        except ModelFileError as exc:
            inspected = Missing(reason=str(exc))
    found = inspected if isinstance(inspected, InspectedModel) else None
    kind = _fact(model.type, found.class_name if found else None, found.summary if found else None)
    made = f"{found.library} {found.library_version or ''}".strip() if found and found.library else None
    library = _fact(model.library, made, found.module if found else None)
    names = model.features if model.features is not None else found.features if found else None
    features_source = None
    if model.features is not None:
        features_source = Fact(value=f"{len(model.features)} features", source="declared")
    elif names is not None:
        features_source = Fact(value=f"{len(names)} features", source="model_file", detail="feature_names_in_")
    features: tuple[Feature, ...] = feature_flags(names or (), sensitive, associations)
    declared_task = Fact(value=model.task, source="declared") if model.task else task
    return ModelEntry(
        id=model.id,
        path=model.path,
        description=model.description,
        limitations=model.limitations,
        ethical_considerations=model.ethical_considerations,
        type=kind,
        library=library,
        task=declared_task,
        features=features,
        features_source=features_source,
        training_data=model.training_data,
        label=model.label,
        file=inspected,
    )


def _fact(declared: str | None, read: str | None, detail: str | None) -> Fact | None:
    if declared:
        return Fact(value=declared, source="declared", detail=f"model file: {read}" if read else None)
    if read:
        return Fact(value=read, source="model_file", detail=detail)
    return None


def _performance(
    predictions: Predictions | str,
    declared: PredictionsSpec | None,
    params_files: tuple[DeclaredFile, ...],
    models: tuple[ModelSpec, ...],
) -> tuple[ClassifierPerformance | RegressionPerformance | Missing, Fact | None]:
    if isinstance(predictions, str):
        return Missing(reason=predictions), None
    # numpy (a sixth of a re-capture's start) only when there are predictions to evaluate
    from auditor.capture.model.performance import (
        Columns,
        PerformanceError,
        classifier_performance,
        infer_task,
        read_columns,
        regression_performance,
    )

    options, display, data = predictions
    columns = Columns(options.label_column, options.prediction_column, options.score_column, options.favourable_outcome)
    wanted_task = next((m.task for m in models if m.task), None)
    try:
        if wanted_task is None:
            labels = read_columns(data, [options.label_column])[0][options.label_column]
            task_name, why = infer_task(labels, options.favourable_outcome.strip())
            task = Fact(value=task_name, source="inferred", detail=why)
        else:
            task = Fact(value=wanted_task, source="declared")
        kwargs = {"resamples": options.bootstrap_resamples, "seed": options.seed}
        if task.value == "regression":
            return regression_performance(data, display, columns, **kwargs), task
        threshold = decision_threshold(params_files)
        return classifier_performance(data, display, columns, threshold=threshold, **kwargs), task
    except PerformanceError as exc:
        return Missing(reason=f"{display}: {exc}"), None


def _hyperparameters(
    params: Mapping[str, ParamValue], models: tuple[ModelEntry, ...], files: tuple[DeclaredFile, ...]
) -> tuple[Hyperparameter, ...]:
    out = [
        Hyperparameter(name=k, value=_text(v), source="logged", origin="auditor.log_params") for k, v in params.items()
    ]
    for file in files:
        out += [
            Hyperparameter(name=k, value=_text(v), source="params_file", origin=file.path)
            for k, v in file.values.items()
        ]
    for model in models:
        if isinstance(model.file, InspectedModel):
            for est in model.file.estimators:
                out += [
                    Hyperparameter(
                        name=f"{est.path}.{k}" if est.path else k,
                        value=v,
                        source="model_file",
                        origin=f"{model.file.path}: {est.class_name}",
                    )
                    for k, v in est.hyperparameters.items()
                ]
    return tuple(out)


def _text(value: ParamValue) -> str:
    return "None" if value is None else str(value)
