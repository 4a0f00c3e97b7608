"""What a model file says about the model, read from the inert object tree of `unpickle`.

scikit-learn estimators are understood: the class and its module, the version that saved it
(`_sklearn_version`), hyperparameters (state keys that are constructor parameters: no leading or
trailing underscore), nested estimators (Pipeline steps, ColumnTransformer transformers with their
columns, any parameter holding an estimator), `feature_names_in_` and `classes_`. Any other class is
named with its module, and the record notes that its hyperparameters were not read.
"""

from __future__ import annotations

import hashlib
import reprlib
from typing import Any

from auditor.capture.model.unpickle import Array, ModelFileError, Stub, as_array, read_model_bytes, scalar_value
from auditor.record.model_card import Estimator, InspectedModel

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 3, 60, 60, 8, 8
MAX_ESTIMATORS = 200
MAX_DEPTH = 12
MAX_VALUE_CHARS = 120
LIBRARIES = {
    "sklearn": "scikit-learn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "statsmodels": "statsmodels",
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "keras": "Keras",
    "pytorch": "PyTorch",
}


def inspect_model(data: bytes, display_path: str) -> InspectedModel:
    """The model file's facts; raises ModelFileError ("could not read the model file: why")."""
    obj, fmt = read_model_bytes(data)
    try:
        return _inspect(obj, fmt, data, display_path)
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:  # hostile shapes past the checks
        raise ModelFileError(f"an object the inspector cannot read ({type(exc).__name__})") from exc


def _inspect(obj: Any, fmt: str, data: bytes, display_path: str) -> InspectedModel:
    if not isinstance(obj, Stub):
        raise ModelFileError(f"the file holds a {type(obj).__name__}, not a model object")
    walker = _Walker()
    walker.visit(obj, "", None, 0)
    final = _final(obj)
    module, _, name = final.dotted.rpartition(".")
    version = _sklearn_version(obj)
    library = LIBRARIES.get(module.partition(".")[0])
    return InspectedModel(
        path=display_path,
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        format=fmt,
        class_name=name,
        module=module,
        library=library,
        library_version=version if library == "scikit-learn" else None,
        summary=_summary(obj, final, library, version),
        estimators=tuple(walker.found),
        features=_features(obj),
        classes=_classes(final),
        notes=tuple(walker.notes),
    )


def _state(stub: Stub) -> dict[str, Any]:
    state = stub.state
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        state = state[0]  # (dict, slots)
    return state if isinstance(state, dict) else {}


def _is_estimator(value: Any) -> bool:
    return isinstance(value, Stub) and (value.dotted.startswith("sklearn.") or "_sklearn_version" in _state(value))


def _named(value: Any) -> list[tuple[str, Stub, Any]] | None:
    """A list of (name, estimator[, columns]) tuples, as Pipeline.steps and ColumnTransformer.transformers."""
    if not isinstance(value, list | tuple) or not value:
        return None
    out = []
    for item in value:
        if not (isinstance(item, tuple | list) and len(item) in (2, 3) and isinstance(item[0], str)):
            return None
        if _is_estimator(item[1]):
            out.append((item[0], item[1], item[2] if len(item) == 3 else None))
        elif not isinstance(item[1], str):  # 'drop' / 'passthrough' are skipped, anything else is not a list of steps
            return None
    return out


class _Walker:
    def __init__(self) -> None:
        self.found: list[Estimator] = []
        self.notes: list[str] = []

    def visit(self, stub: Stub, path: str, columns: tuple[str, ...] | None, depth: int) -> None:
        if len(self.found) >= MAX_ESTIMATORS or depth > MAX_DEPTH:
            if not any("nested estimators" in n for n in self.notes):
                self.notes.append(f"more than {MAX_ESTIMATORS} nested estimators or {MAX_DEPTH} levels: rest not read")
            return
        module, _, name = stub.dotted.rpartition(".")
        params: dict[str, str] = {}
        children: list[tuple[str, Stub, Any]] = []
        sklearn = _is_estimator(stub)
        for key, value in _state(stub).items() if sklearn else ():
            if not isinstance(key, str) or key.startswith("_") or key.endswith("_"):
                continue
            named = _named(value)
            if named is not None:
                children += [(f"{key}:{n}" if key not in ("steps", "transformers") else n, e, c) for n, e, c in named]
            elif _is_estimator(value):
                children.append((key, value, None))
            else:
                params[key] = value_text(value)
        if not sklearn and not path:
            self.notes.append(f"{stub.dotted} is not a scikit-learn estimator: its hyperparameters were not read")
        self.found.append(Estimator(path=path, class_name=name, module=module, hyperparameters=params, columns=columns))
        for child_name, child, cols in children:
            self.visit(child, f"{path}/{child_name}" if path else child_name, _columns(cols), depth + 1)


def _columns(value: Any) -> tuple[str, ...] | None:
    array = as_array(value)
    if array is not None:
        value = list(array.values) if array.values is not None else None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value_text(v) for v in value)
    return None


def value_text(value: Any) -> str:
    """A hyperparameter's value as text: plain values as Python writes them, classes by name."""
    value = scalar_value(value)
    if isinstance(value, Stub) or (isinstance(value, type) and issubclass(value, Stub)):
        text = value.dotted.rpartition(".")[2]
    elif isinstance(value, Array):
        text = f"array{list(value.shape)} of {value.dtype}"
    elif isinstance(value, str):
        text = value
    elif (
        isinstance(value, list | tuple | dict | set | frozenset)
        or value is None
        or isinstance(value, bool | int | float | bytes)
    ):
        text = _REPR.repr(value)  # bounded: a list nested a million deep prints as [[[...]]]
    else:
        text = type(value).__name__
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _steps(stub: Stub) -> list[tuple[str, Stub, Any]]:
    return _named(_state(stub).get("steps")) or [] if stub.dotted.endswith(".Pipeline") else []


def _final(stub: Stub) -> Stub:
    """The estimator that makes the predictions: a Pipeline's last step, recursively."""
    for _ in range(MAX_DEPTH):
        steps = _steps(stub)
        if not steps:
            return stub
        stub = steps[-1][1]
    return stub


def _sklearn_version(stub: Stub) -> str | None:
    version = _state(stub).get("_sklearn_version")
    return version if isinstance(version, str) and len(version) < 40 else None


def _summary(top: Stub, final: Stub, library: str | None, version: str | None) -> str:
    name = final.dotted.rpartition(".")[2]
    made = f" ({library} {version})" if library and version else f" ({library})" if library else ""
    if final is top:
        return f"{name}{made}"
    before = [_step_text(step) for _, step, _ in _steps(top)[:-1]]
    return f"{name}{made} in a Pipeline" + (f": {', '.join(before)}" if before else "")


def _step_text(stub: Stub) -> str:
    name = stub.dotted.rpartition(".")[2]
    transformers = _named(_state(stub).get("transformers"))
    if not transformers:
        return name
    parts = []
    for i, (_, est, cols) in enumerate(transformers):
        count = len(_columns(cols) or ())
        label = est.dotted.rpartition(".")[2]
        parts.append(f"{label} on {count} column{'s' * (count != 1)}" if i == 0 else f"{label} on {count}")
    return ", ".join(parts)


def _features(stub: Stub) -> tuple[str, ...] | None:
    for _ in range(MAX_DEPTH):
        array = as_array(_state(stub).get("feature_names_in_"))
        if array is not None and array.values is not None:
            return tuple(str(v) for v in array.values)
        steps = _steps(stub)
        if not steps:
            return None
        stub = steps[0][1]
    return None


def _classes(final: Stub) -> tuple[str, ...] | None:
    array = as_array(_state(final).get("classes_"))
    if array is None or array.values is None:
        return None
    return tuple(value_text(v) for v in array.values)
