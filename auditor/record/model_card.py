"""Record section for the model card (schema 1.4): what was trained, on what, how well it works.

Laid out after Mitchell et al., "Model Cards for Model Reporting" (2019), as evidence: every fact
says where it came from (declared in auditor.yaml, read from the model file without executing it,
logged by the run, read from a declared params or metrics file, or computed by auditor from the
declared predictions file). Performance is computed once at capture; check and render only read it.
"""

from typing import Annotated, Literal

from pydantic import Field

from auditor.record.base import Frozen, Missing

FactSource = Literal["declared", "model_file", "logged", "params_file", "inferred", "reported"]
ParamValue = str | int | float | bool | None


class Fact(Frozen):
    """One fact about a model and where it came from."""

    value: str
    source: FactSource
    detail: str | None = Field(None, description="The file or key it was read from, or how it was inferred")


class Estimator(Frozen):
    """One estimator found in a model file: the model itself or a step of it (Pipeline, ColumnTransformer)."""

    path: str = Field(description="Where it sits, e.g. 'classifier' or 'features/numeric'; '' for the top level")
    class_name: str
    module: str
    hyperparameters: dict[str, str] = Field(description="Constructor parameters from the saved state, as text")
    columns: tuple[str, ...] | None = Field(None, description="The columns a ColumnTransformer gives this step")


class InspectedModel(Frozen):
    """A pickle or joblib model file read by a restricted unpickler: no class was imported or run."""

    state: Literal["inspected"] = "inspected"
    path: str
    sha256: str
    bytes: int
    format: str = Field(description="'pickle', 'joblib', or either with its compression")
    class_name: str
    module: str
    library: str | None = Field(description="The distribution that defines the class, e.g. 'scikit-learn'")
    library_version: str | None = Field(description="The version that saved it, e.g. sklearn's _sklearn_version")
    summary: str = Field(description="e.g. 'LogisticRegression (scikit-learn 1.9.1) in a Pipeline: ...'")
    estimators: tuple[Estimator, ...]
    features: tuple[str, ...] | None = Field(description="feature_names_in_: the columns the model was fitted on")
    classes: tuple[str, ...] | None = Field(description="classes_ of the final estimator")
    notes: tuple[str, ...] = ()


ModelFile = Annotated[InspectedModel | Missing, Field(discriminator="state")]


class Feature(Frozen):
    name: str
    flags: tuple[str, ...] = Field(
        (), description="e.g. 'sensitive attribute is a direct model input'; likely-proxy flags join here"
    )


class ModelEntry(Frozen):
    """One declared model."""

    id: str
    path: str
    description: str | None
    limitations: str | None
    ethical_considerations: str | None
    type: Fact | None = Field(description="The model's class or kind; None when neither declared nor read")
    library: Fact | None
    task: Fact | None = Field(description="'classification' or 'regression'")
    features: tuple[Feature, ...] = ()
    features_source: Fact | None = Field(None, description="Where the feature list came from")
    training_data: str | None = None
    label: str | None = None
    file: ModelFile


class DeclaredFile(Frozen):
    """A params or metrics file declared in auditor.yaml: its flattened values, or why none were read."""

    path: str
    sha256: str | None = Field(description="None when the file could not be read")
    values: dict[str, ParamValue] = Field(description="Nested keys flattened with '.', e.g. 'train.C'")
    problem: str | None = Field(None, description="Why the file could not be read or parsed")


class Hyperparameter(Frozen):
    name: str
    value: str
    source: FactSource
    origin: str = Field(description="The file, estimator step or logging call it came from")


class Estimate(Frozen):
    """A metric computed by auditor, with its percentile-bootstrap interval and the baseline's value."""

    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    baseline: float | None = Field(None, description="The same metric for the trivial baseline, where defined")
    note: str | None = None


class CalibrationBin(Frozen):
    low: float
    high: float
    count: int
    mean_predicted: float
    observed_rate: float


class ClassifierPerformance(Frozen):
    state: Literal["classification"] = "classification"
    predictions_path: str
    predictions_sha256: str
    rows: int = Field(description="Rows used (rows with a missing value in a used column are dropped)")
    dropped: int
    favourable_outcome: str
    estimates: tuple[Estimate, ...]
    confusion: tuple[tuple[int, int], tuple[int, int]] = Field(
        description="[[TN, FP], [FN, TP]] with the favourable outcome as positive (rows: label, columns: prediction)"
    )
    base_rate: float = Field(description="Share of rows whose label is the favourable outcome")
    approval_rate: float = Field(description="Share of rows predicted favourable")
    majority_class: str = Field(description="'favourable' or 'unfavourable'")
    majority_accuracy: float = Field(description="Accuracy of always predicting the majority class")
    threshold: float | None
    threshold_source: str = Field(description="e.g. 'params.yaml: train.decision_threshold', or 'not declared'")
    roc: tuple[tuple[float, float], ...] = Field((), description="(FPR, TPR) points, at most 100; empty without scores")
    roc_points: int = Field(0, description="Points of the full curve before downsampling")
    calibration: tuple[CalibrationBin, ...] = Field((), description="10 uniform bins; empty bins left out")
    bootstrap_resamples: int
    bootstrap_seed: int
    notes: tuple[str, ...] = ()


class RegressionPerformance(Frozen):
    state: Literal["regression"] = "regression"
    predictions_path: str
    predictions_sha256: str
    rows: int
    dropped: int
    estimates: tuple[Estimate, ...] = Field(description="MAE, RMSE, R² with the mean predictor as baseline")
    label_mean: float
    residuals: tuple[tuple[float, float], ...] = Field(description="(prediction, label - prediction), at most 200")
    bootstrap_resamples: int
    bootstrap_seed: int
    notes: tuple[str, ...] = ()


Performance = Annotated[ClassifierPerformance | RegressionPerformance | Missing, Field(discriminator="state")]


class ModelCard(Frozen):
    state: Literal["captured"] = "captured"
    models: tuple[ModelEntry, ...]
    params_files: tuple[DeclaredFile, ...] = ()
    metrics_files: tuple[DeclaredFile, ...] = ()
    hyperparameters: tuple[Hyperparameter, ...] = ()
    performance: Performance
    notes: tuple[str, ...] = ()


ModelCardSection = ModelCard | Missing
