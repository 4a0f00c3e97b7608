"""The project spec, `auditor.yaml`: what a project declares about its data and pipeline.

Parsed in three small layers, each with errors that name file, line and key as the
user wrote them: YAML text -> node tree (line numbers, duplicate keys) -> plain
data -> frozen validated models -> cross-checks (unknown dataset ids, step cycles).
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError

from auditor.errors import UsageError
from auditor.record.base import Frozen
from auditor.record.lineage import DatasetRole, Datasheet, ProjectInfo

if TYPE_CHECKING:
    import yaml

SPEC_FILE = "auditor.yaml"


class SpecError(UsageError):
    """auditor.yaml is malformed: one line naming file, line and key."""

    def __init__(self, path: Path | str, line: int | None, key: str | None, problem: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


class DatasetSpec(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    role: DatasetRole
    path: str | None = None
    uri: str | None = None
    datasheet: Datasheet = Datasheet()


class StepSpec(Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    command: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


class ModelSpec(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: str


class PredictionsSpec(Frozen):
    path: str
    label_column: str
    prediction_column: str
    score_column: str | None = None
    sensitive_columns: tuple[str, ...] = Field(min_length=1)
    favourable_outcome: str
    reference_groups: dict[str, str] = Field(default_factory=dict)
    min_group_size: int = Field(30, ge=1)
    bootstrap_resamples: int = Field(1000, ge=0, le=100_000)
    seed: int = 0


class ProjectSpec(Frozen):
    version: Literal[1] = 1
    project: ProjectInfo
    datasets: tuple[DatasetSpec, ...] = ()
    steps: tuple[StepSpec, ...] = ()
    models: tuple[ModelSpec, ...] = ()
    predictions: PredictionsSpec | None = None


def find_spec(start: Path) -> Path | None:
    """auditor.yaml in `start` (the project root is where you run auditor)."""
    candidate = start / SPEC_FILE
    return candidate if candidate.is_file() else None


def load_spec(path: Path) -> ProjectSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, None, None, f"cannot read: {exc}") from exc
    return parse_spec(text, path)


def parse_spec(text: str, path: Path | str) -> ProjectSpec:
    import yaml  # here, not at the top: most runs have no spec to parse

    root = _compose(text, path)
    try:
        data = yaml.safe_load(text) if root is not None else None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:  # bad tags such as !!int "abc"
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(path, mark.line + 1 if mark else None, None, f"not valid YAML: {_short(exc)}") from exc
    if not isinstance(data, dict):
        raise SpecError(path, 1, None, "expected a mapping with at least a 'project' section")
    try:
        spec = ProjectSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        raise SpecError(path, _line(root, loc), _dotted(loc), _message(error)) from exc
    _cross_check(spec, root, path)
    return spec


def _compose(text: str, path: Path | str) -> yaml.Node | None:
    import yaml

    _reject_aliases_and_depth(text, path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SpecError(path, line, None, f"not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(path, None, None, f"not valid YAML: {exc}") from exc
    if root is not None:
        _reject_duplicate_keys(root, path, ())
    return root


MAX_DEPTH = 32


def _reject_aliases_and_depth(text: str, path: Path | str) -> None:
    """Refuse anchors and aliases (a few lines of them expand to billions of nodes) and deep
    nesting, from the event stream alone, before anything is built from the text."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise SpecError(path, line, None, "YAML anchors and aliases are not supported in auditor.yaml")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(path, line, None, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError(
            path, mark.line + 1 if mark else None, None, f"not valid YAML: {exc.problem or exc.context}"
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(path, None, None, f"not valid YAML: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _reject_duplicate_keys(node: yaml.Node, path: Path | str, loc: tuple[Any, ...]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise SpecError(path, key.start_mark.line + 1, _dotted(loc) or None, "keys must be plain text")
            name = str(key.value)
            if name in seen:
                raise SpecError(path, key.start_mark.line + 1, _dotted((*loc, name)), "duplicate key")
            seen.add(name)
            _reject_duplicate_keys(value, path, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, path, (*loc, index))


def _line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node on `loc` that exists (an unknown key's own line)."""
    import yaml

    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"])


def _cross_check(spec: ProjectSpec, root: yaml.Node | None, path: Path | str) -> None:
    ids = [d.id for d in spec.datasets] + [m.id for m in spec.models]
    for index, dataset_id in enumerate(ids):
        if dataset_id in ids[:index]:
            section, offset = (
                ("datasets", index) if index < len(spec.datasets) else ("models", index - len(spec.datasets))
            )
            raise SpecError(
                path, _line(root, (section, offset, "id")), f"{section}[{offset}].id", f"duplicate id {dataset_id!r}"
            )
    for index, dataset in enumerate(spec.datasets):
        if (dataset.path is None) == (dataset.uri is None):
            raise SpecError(
                path, _line(root, ("datasets", index)), f"datasets[{index}]", "give exactly one of 'path' or 'uri'"
            )
    known = set(ids)
    for index, step in enumerate(spec.steps):
        for field in ("inputs", "outputs"):
            for position, ref in enumerate(getattr(step, field)):
                if ref not in known:
                    raise SpecError(
                        path,
                        _line(root, ("steps", index, field, position)),
                        f"steps[{index}].{field}[{position}]",
                        f"unknown dataset or model id {ref!r}",
                    )
    if spec.predictions is not None:
        for attribute in spec.predictions.reference_groups:
            if attribute not in spec.predictions.sensitive_columns:
                raise SpecError(
                    path,
                    _line(root, ("predictions", "reference_groups", attribute)),
                    f"predictions.reference_groups.{attribute}",
                    "not one of sensitive_columns",
                )
    _check_acyclic(spec, root, path)


def _check_acyclic(spec: ProjectSpec, root: yaml.Node | None, path: Path | str) -> None:
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
            _line(root, ("steps", index)),
            f"steps[{index}]",
            "the steps form a cycle: " + " -> ".join([*ordered, first]),
        ) from exc
