"""View objects of the dossier's model card section (text chosen for a reader; templates only lay out)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.render.dossier.view_parts import Item, Svg


@dataclass(frozen=True)
class FeatureView:
    name: str
    flags: str  # "" when none


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: str
    interval: str
    baseline: str
    file_value: str  # the declared metrics file's value, "" when it has none
    agreement: str  # "" when it agrees to the file's precision, else why not
    disagrees: bool


@dataclass(frozen=True)
class ModelView:
    id: str
    details: tuple[Item, ...]
    features: tuple[FeatureView, ...]
    features_note: str
    description: str | None
    limitations: str | None
    ethical: str | None


@dataclass(frozen=True)
class ModelCardView:
    missing: str | None  # why the section has no evidence at all
    models: tuple[ModelView, ...] = ()
    performance_missing: str | None = None
    metrics: tuple[MetricRow, ...] = ()
    metrics_caption: str = ""
    baseline: str = ""
    evaluation: tuple[Item, ...] = ()
    confusion: tuple[tuple[str, ...], ...] = ()  # header row first
    charts: tuple[Svg, ...] = ()
    file_metrics: tuple[tuple[str, str, str], ...] = ()  # name, value, file: values auditor did not compute
    metrics_files: tuple[str, ...] = ()  # "outputs/metrics.json (sha256 …)"
    params_files: tuple[str, ...] = ()
    logged_metrics: tuple[tuple[str, str], ...] = ()  # name, last value: shown when auditor computed none
    hyperparameters: tuple[tuple[str, str, str], ...] = ()  # where, values, note
    hyperparameters_note: str = ""
    notes: tuple[str, ...] = ()
