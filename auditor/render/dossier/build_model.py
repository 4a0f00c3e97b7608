"""The model card section: the record's model_card evidence laid out under Mitchell et al.'s headings.

Reads the record only; every number was computed at capture. Computed metrics are set beside the
declared metrics file's values, and a difference larger than the file's rounding is called out.
"""

from __future__ import annotations

import math

from markupsafe import Markup

from auditor.record import Missing, RunRecord
from auditor.record.model_card import (
    ClassifierPerformance,
    DeclaredFile,
    Estimate,
    InspectedModel,
    ModelCard,
    ModelEntry,
    RegressionPerformance,
)
from auditor.render.dossier.chart_model import calibration_svg, residual_svg, roc_svg
from auditor.render.dossier.format import bytes_text, missing
from auditor.render.dossier.view_parts import Item, Svg
from auditor.render.dossier.views_model import FeatureView, MetricRow, ModelCardView, ModelView

NAMES = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall (TPR)",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "mae": "Mean absolute error",
    "rmse": "Root mean squared error",
    "r2": "R²",
}
FILE_KEYS = {"roc_auc": ("roc_auc", "auc", "roc-auc", "rocauc"), "f1": ("f1", "f1_score"), "r2": ("r2", "r2_score")}
SOURCE_WORDS = {
    "declared": "declared in auditor.yaml",
    "model_file": "read from the model file",
    "logged": "logged by the run",
    "params_file": "params file",
    "inferred": "inferred",
    "reported": "reported by the tool the run was ingested from",
}
MAX_PARAMS = 60


def model_card(record: RunRecord) -> ModelCardView:
    card = record.model_card
    if not isinstance(card, ModelCard):
        why = missing(card) if isinstance(card, Missing) else "not captured: the record has no model card section"
        return ModelCardView(missing=why)
    perf = card.performance
    view = ModelCardView(
        missing=None,
        models=tuple(_model(m) for m in card.models),
        metrics_files=tuple(_file_line(f) for f in card.metrics_files),
        params_files=tuple(_file_line(f) for f in card.params_files),
        hyperparameters=_hyperparameters(card),
        hyperparameters_note=_hyperparameters_note(card),
        notes=card.notes,
    )
    if isinstance(perf, Missing):
        last = {m.name: m.value for m in record.metrics}  # the last value logged under each name
        logged = tuple((name, f"{value:.6g}") for name, value in list(last.items())[:MAX_PARAMS])
        return _with(
            view,
            performance_missing=missing(perf),
            file_metrics=_file_only(card.metrics_files, set()),
            logged_metrics=logged,
        )
    rows = tuple(_row(e, card.metrics_files) for e in perf.estimates)
    computed = {e.name for e in perf.estimates}
    caption = (
        f"{perf.rows} rows of {perf.predictions_path}; 95% percentile-bootstrap intervals "
        f"({perf.bootstrap_resamples} resamples, seed {perf.bootstrap_seed})."
    )
    common = {
        "metrics": rows,
        "metrics_caption": caption,
        "file_metrics": _file_only(card.metrics_files, computed),
        "notes": (*card.notes, *perf.notes),
    }
    if isinstance(perf, ClassifierPerformance):
        return _with(view, **common, **_classifier(perf))
    return _with(view, **common, **_regressor(perf))


def _with(view: ModelCardView, **changes: object) -> ModelCardView:
    from dataclasses import replace

    return replace(view, **changes)  # type: ignore[arg-type]


def _model(entry: ModelEntry) -> ModelView:
    file = entry.file
    details = []
    for label, fact in (("Type", entry.type), ("Library", entry.library), ("Task", entry.task)):
        if fact is None:
            details.append(Item(label, "not declared, and not read from the model file", missing=True))
        elif fact.source == "model_file" and label == "Type" and fact.detail:
            details.append(Item(label, f"{fact.detail} (read from the model file)"))
        elif fact.source == "model_file" and fact.detail:
            details.append(Item(label, f"{fact.value} (read from the model file; {fact.detail})"))
        else:
            detail = f"; {fact.detail}" if fact.detail else ""
            details.append(Item(label, f"{fact.value} ({SOURCE_WORDS[fact.source]}{detail})"))
    if isinstance(file, InspectedModel):
        classes = f"; classes {', '.join(file.classes)}" if file.classes else ""
        details.append(Item("Model file", f"{file.path} ({file.format}, {bytes_text(file.bytes)}{classes})"))
        details.append(Item("Model file sha256", file.sha256, mono=True))
    else:
        details.append(Item("Model file", f"{entry.path}: {file.reason}", missing=True, mono=False))
    if entry.training_data:
        label = f" (label column: {entry.label})" if entry.label else ""
        details.append(Item("Training data", f"{entry.training_data}{label}", mono=True))
    notes = file.notes if isinstance(file, InspectedModel) else ()
    details += [Item("Note", n) for n in notes]
    source = entry.features_source
    if source is None:
        features_note = "No input features declared (models[].features) or read from the model file."
    else:
        features_note = f"{source.value}, {SOURCE_WORDS[source.source]}" + (
            f" ({source.detail})" if source.detail else ""
        )
    return ModelView(
        id=entry.id,
        details=tuple(details),
        features=tuple(FeatureView(f.name, "; ".join(f.flags)) for f in entry.features),
        features_note=features_note,
        description=entry.description,
        limitations=entry.limitations,
        ethical=entry.ethical_considerations,
    )


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _file_value(name: str, files: tuple[DeclaredFile, ...]) -> tuple[float, str] | None:
    for file in files:
        for key in FILE_KEYS.get(name, (name,)):
            value = file.values.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value), file.path
    return None


def _decimals(value: float) -> int:
    text = repr(value)
    if "e" in text or "." not in text:
        return 0 if "e" not in text else 12
    return len(text.split(".")[1])


def _row(estimate: Estimate, files: tuple[DeclaredFile, ...]) -> MetricRow:
    interval = (
        f"[{estimate.ci_low:.3f}, {estimate.ci_high:.3f}]"
        if estimate.ci_low is not None and estimate.ci_high is not None
        else ""
    )
    found = _file_value(estimate.name, files)
    agreement, disagrees, shown = "", False, ""
    if found is not None:
        value, path = found
        shown = repr(value) if not value.is_integer() else str(int(value))
        if estimate.value is not None:
            tolerance = 0.5 * 10 ** -_decimals(value) + 1e-12
            if math.fabs(estimate.value - value) > tolerance:
                disagrees = True
                agreement = f"differs: auditor computed {estimate.value:.6g}, {path} says {shown}"
    return MetricRow(
        name=NAMES.get(estimate.name, estimate.name),
        value=_number(estimate.value) if estimate.value is not None else (estimate.note or "n/a"),
        interval=interval,
        baseline=_number(estimate.baseline) if estimate.baseline is not None else "undefined",
        file_value=shown,
        agreement=agreement,
        disagrees=disagrees,
    )


def _file_only(files: tuple[DeclaredFile, ...], computed: set[str]) -> tuple[tuple[str, str, str], ...]:
    used = {key for name in computed for key in FILE_KEYS.get(name, (name,))}
    return tuple(
        (key, str(value), file.path) for file in files for key, value in file.values.items() if key not in used
    )


def _file_line(file: DeclaredFile) -> str:
    if file.sha256 is None:
        return f"{file.path}: {file.problem}"
    return f"{file.path} ({len(file.values)} values, sha256 {file.sha256[:12]}…)"


def _classifier(perf: ClassifierPerformance) -> dict[str, object]:
    (tn, fp), (fn, tp) = perf.confusion
    fav = perf.favourable_outcome
    confusion = (
        ("", f"predicted not {fav}", f"predicted {fav}", "total"),
        (f"actual not {fav}", f"{tn} (TN)", f"{fp} (FP)", str(tn + fp)),
        (f"actual {fav}", f"{fn} (FN)", f"{tp} (TP)", str(fn + tp)),
    )
    baseline = (
        f"{perf.base_rate:.1%} of these rows have the favourable outcome ({fav}); the model predicts it for "
        f"{perf.approval_rate:.1%}. Always predicting the majority class ({perf.majority_class}) would be "
        f"{perf.majority_accuracy:.1%} accurate."
    )
    threshold = f"{perf.threshold:g} ({perf.threshold_source})" if perf.threshold is not None else "not declared"
    evaluation = (
        Item("Predictions file sha256", perf.predictions_sha256, mono=True),
        *([Item("Rows dropped for missing values", str(perf.dropped))] if perf.dropped else []),
        Item("Decision threshold", threshold, missing=perf.threshold is None),
    )
    auc = next((e.value for e in perf.estimates if e.name == "roc_auc"), None)
    charts = []
    if perf.roc:
        charts.append(Svg(Markup(roc_svg(perf.roc, auc)), "ROC curve"))  # noqa: S704 - built by auditor, escaped
    if perf.calibration:
        charts.append(Svg(Markup(calibration_svg(perf.calibration)), "Calibration curve"))  # noqa: S704
    return {"baseline": baseline, "evaluation": evaluation, "confusion": confusion, "charts": tuple(charts)}


def _regressor(perf: RegressionPerformance) -> dict[str, object]:
    evaluation = (
        Item("Predictions file sha256", perf.predictions_sha256, mono=True),
        *([Item("Rows dropped for missing values", str(perf.dropped))] if perf.dropped else []),
    )
    baseline = f"Baseline: always predicting the label's mean ({perf.label_mean:.4g})."
    charts = (Svg(Markup(residual_svg(perf.residuals)), "Residual plot"),)  # noqa: S704 - built by auditor
    return {"baseline": baseline, "evaluation": evaluation, "charts": charts}


def _hyperparameters_note(card: ModelCard) -> str:
    files = [m.file.path for m in card.models if isinstance(m.file, InspectedModel)]
    read = f"; estimators' constructor parameters as saved in {', '.join(files)}" if files else ""
    return f"Params files and logged params as written{read}."


def _hyperparameters(card: ModelCard) -> tuple[tuple[str, str, str], ...]:
    """One row per source: each params file, the logged params, and each estimator of a model file."""
    rows: list[tuple[str, str, str]] = []
    grouped: dict[str, list[str]] = {}
    for h in card.hyperparameters:
        if h.source != "model_file":
            grouped.setdefault(h.origin, []).append(f"{h.name} = {h.value}")
    for origin, pairs in grouped.items():
        more = len(pairs) - MAX_PARAMS
        shown = pairs[:MAX_PARAMS] + ([f"… {more} more in the record"] if more > 0 else [])
        rows.append((origin, "; ".join(shown), ""))
    for model in card.models:
        if isinstance(model.file, InspectedModel):
            steps = [
                e
                for e in model.file.estimators
                if e.hyperparameters and not (e.path == "" and e.class_name == "Pipeline")
            ]
            final = next((e for e in reversed(steps) if "/" not in e.path), None)
            for est in [e for e in steps if e is final]:
                text = ", ".join(f"{k}={v}" for k, v in est.hyperparameters.items())
                rows.append((f"{est.path or model.id}: {est.class_name}", text, ""))
            others = [e for e in steps if e is not final]
            if others:  # preprocessing: named here, their (mostly default) parameters kept in the record
                named = ", ".join(f"{e.class_name} ({e.path})" for e in others)
                rows.append(("preprocessing steps", f"{named}: their parameters are in the run record", ""))
    return tuple(rows[:MAX_PARAMS])
