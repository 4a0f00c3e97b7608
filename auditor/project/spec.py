"""The project spec, `auditor.yaml`: what a project declares about its data and pipeline.

Parsed in three small layers, each with errors that name file, line and key as the
user wrote them: YAML text -> node tree (line numbers, duplicate keys) -> plain
data -> frozen validated models -> cross-checks (unknown dataset ids, step cycles).
"""

from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from auditor.files import exists
from auditor.project.policy import PolicySettings
from auditor.project.yamlfile import YamlFileError, line_of, load_model, read_text
from auditor.record.base import Frozen
from auditor.record.governance import GovernanceFields
from auditor.record.lineage import DatasetRole, Datasheet, ProjectInfo

if TYPE_CHECKING:
    import yaml

SPEC_FILE = "auditor.yaml"
MAX_SPEC_BYTES = 1 << 20  # a large project's spec is a few KB


class SpecError(YamlFileError):
    """auditor.yaml is malformed: one line naming file, line and key."""


def _value_text(value: Any) -> str:
    """A label or group value as written: `1` and `"1"` alike (YAML reads an unquoted 1 as a number,
    as the Python API's `favourable_outcome=1` is one). Compared with the file's values as text, or
    as numbers where both are numbers ("1.0" matches 1). A boolean is refused: YAML reads `yes` and
    `on` as true, which would never match the file's text."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "column_value", "a boolean is ambiguous here: quote the value as it appears in the file, e.g. 'true'"
        )
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("column_value", "expected the value as a string or a number")
    return value


# A value of a label, prediction or sensitive column, as a string or a number.
ColumnValue = Annotated[str, BeforeValidator(_value_text)]


class DatasetSpec(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    role: DatasetRole
    path: str | None = None
    uri: str | None = None
    datasheet: Datasheet = Datasheet()
    # For the profile of a tabular dataset (auditor/capture/profile.py); by default the predictions
    # section's label and sensitive columns, where the file has them.
    label_column: str | None = Field(None, min_length=1)
    sensitive_columns: tuple[str, ...] | None = None
    favourable_label: ColumnValue | None = Field(
        None, description="The label value that is favourable (default: predictions')"
    )


class StepSpec(Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    command: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


class ModelSpec(Frozen):
    """A model the project trains. Facts declared here win over what auditor reads from the model file."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: str
    description: str | None = Field(None, description="What the model is and does")
    limitations: str | None = Field(None, description="Caveats and known limitations")
    ethical_considerations: str | None = None
    type: str | None = Field(None, description="e.g. 'logistic regression'; read from the model file when absent")
    library: str | None = Field(None, description="e.g. 'scikit-learn 1.9.1'; read from the model file when absent")
    features: tuple[str, ...] | None = Field(None, description="Input columns; read from the model file when absent")
    training_data: str | None = Field(None, description="The training file, relative to the project")
    label: str | None = Field(None, description="The label column in the training data")
    task: Literal["classification", "regression"] | None = Field(
        None, description="Inferred from the predictions when absent"
    )


class PredictionsSpec(Frozen):
    path: str
    label_column: str
    prediction_column: str
    score_column: str | None = None
    sensitive_columns: tuple[str, ...] = Field(min_length=1)
    favourable_outcome: ColumnValue
    reference_groups: dict[str, ColumnValue] = Field(default_factory=dict)
    min_group_size: int = Field(30, ge=1)
    bootstrap_resamples: int = Field(1000, ge=0, le=100_000)
    seed: int = 0


class EnvironmentSpec(Frozen):
    requirements: tuple[str, ...] = Field((), description="pip requirements files, relative to the project")


class ProjectSpec(Frozen):
    version: Literal[1] = 1
    project: ProjectInfo
    environment: EnvironmentSpec = EnvironmentSpec()
    params_files: tuple[str, ...] = Field((), description="JSON or YAML parameter files, as DVC's params")
    metrics_files: tuple[str, ...] = Field((), description="JSON or YAML metrics files, as DVC's metrics")
    datasets: tuple[DatasetSpec, ...] = ()
    steps: tuple[StepSpec, ...] = ()
    models: tuple[ModelSpec, ...] = ()
    predictions: PredictionsSpec | None = None
    policy: PolicySettings = PolicySettings()
    governance: GovernanceFields = GovernanceFields()  # Annex IV statements; kept in the run record at capture


def find_spec(start: Path) -> Path | None:
    """auditor.yaml in `start` (the project root is where you run auditor), if anything is there.

    Anything: a link to a device, a FIFO or nowhere is returned too, so that `load_spec` refuses it
    with one line. Taking it for "no spec" would silently drop the project's policy."""
    candidate = start / SPEC_FILE
    return candidate if exists(candidate) else None


def load_spec(path: Path) -> ProjectSpec:
    return parse_spec(read_text(path, SpecError, "auditor.yaml", MAX_SPEC_BYTES), path)


def parse_spec(text: str, path: Path | str) -> ProjectSpec:
    spec, root = load_model(text, path, ProjectSpec, SpecError, "at least a 'project' section")
    _cross_check(spec, root, path)
    return spec


def _cross_check(spec: ProjectSpec, root: "yaml.Node | None", path: Path | str) -> None:
    ids = [d.id for d in spec.datasets] + [m.id for m in spec.models]
    for index, dataset_id in enumerate(ids):
        if dataset_id in ids[:index]:
            section, offset = (
                ("datasets", index) if index < len(spec.datasets) else ("models", index - len(spec.datasets))
            )
            raise SpecError(
                path, line_of(root, (section, offset, "id")), f"{section}[{offset}].id", f"duplicate id {dataset_id!r}"
            )
    for index, dataset in enumerate(spec.datasets):
        if (dataset.path is None) == (dataset.uri is None):
            raise SpecError(
                path, line_of(root, ("datasets", index)), f"datasets[{index}]", "give exactly one of 'path' or 'uri'"
            )
    for index, dataset in enumerate(spec.datasets):
        named = [dataset.label_column, *(dataset.sensitive_columns or ())]
        for position, column in enumerate(named):
            field = "label_column" if position == 0 else f"sensitive_columns[{position - 1}]"
            key: tuple[str | int, ...] = ("label_column",) if position == 0 else ("sensitive_columns", position - 1)
            if column is not None and column in named[:position]:
                raise SpecError(
                    path,
                    line_of(root, ("datasets", index, *key)),
                    f"datasets[{index}].{field}",
                    f"{column!r} is named twice (the label cannot be a sensitive column)",
                )
            if column == "":
                raise SpecError(path, line_of(root, ("datasets", index, *key)), f"datasets[{index}].{field}", "empty")
    known = set(ids)
    for index, step in enumerate(spec.steps):
        for field in ("inputs", "outputs"):
            for position, ref in enumerate(getattr(step, field)):
                if ref not in known:
                    raise SpecError(
                        path,
                        line_of(root, ("steps", index, field, position)),
                        f"steps[{index}].{field}[{position}]",
                        f"unknown dataset or model id {ref!r}",
                    )
    if spec.predictions is not None:
        for attribute in spec.predictions.reference_groups:
            if attribute not in spec.predictions.sensitive_columns:
                raise SpecError(
                    path,
                    line_of(root, ("predictions", "reference_groups", attribute)),
                    f"predictions.reference_groups.{attribute}",
                    "not one of sensitive_columns",
                )
    for section in ("params_files", "metrics_files"):
        for index, file in enumerate(getattr(spec, section)):
            if not file.strip() or Path(file).is_absolute() or ".." in Path(file).parts:
                raise SpecError(
                    path,
                    line_of(root, (section, index)),
                    f"{section}[{index}]",
                    f"{file!r} is not a path inside the project",
                )
    _check_acyclic(spec, root, path)


def _check_acyclic(spec: ProjectSpec, root: "yaml.Node | None", path: Path | str) -> None:
    """Steps and datasets form a bipartite graph (dataset -> step -> dataset) that must be a DAG."""
    predecessors: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for step in spec.steps:
        node = ("step", step.name)
        predecessors.setdefault(node, set()).update(("data", ref) for ref in step.inputs)
        for ref in step.outputs:
            predecessors.setdefault(("data", ref), set()).add(node)
    try:
        TopologicalSorter(predecessors).prepare()
    except CycleError as exc:
        steps = list(dict.fromkeys(name for kind, name in exc.args[1] if kind == "step"))
        first = min(steps, key=lambda name: next(i for i, s in enumerate(spec.steps) if s.name == name))
        index = next(i for i, s in enumerate(spec.steps) if s.name == first)
        ordered = steps[steps.index(first) :] + steps[: steps.index(first)]
        raise SpecError(
            path,
            line_of(root, ("steps", index)),
            f"steps[{index}]",
            "the steps form a cycle: " + " -> ".join([*ordered, first]),
        ) from exc
