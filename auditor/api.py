"""The logging API for training scripts: `auditor.log_metric(...)` and friends.

Inside a run started by `auditor run`, each call appends one JSON line to the
run's event file ($AUDITOR_EVENTS), which auditor folds into the run record when
the command ends. Outside a run, the first call warns once and every call does
nothing, so a script behaves the same with or without auditor.

Standard library only and Python >= 3.8: `auditor run` also serves this file as
the `auditor` module to interpreters that do not have auditor installed.
"""

import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Union

EVENTS_ENV = "AUDITOR_EVENTS"
ARTIFACTS_ENV = "AUDITOR_ARTIFACTS"
_state = {"warned": False, "frames": 0}

__all__ = ["log_dataset", "log_metric", "log_params", "log_predictions"]


def _events_file() -> str | None:
    path = os.environ.get(EVENTS_ENV)
    if path:
        return path
    if not _state["warned"]:
        _state["warned"] = True
        warnings.warn("auditor: not inside `auditor run`; log_* calls are ignored", RuntimeWarning, stacklevel=3)
    return None


def _emit(kind: str, data: dict[str, Any]) -> None:
    path = _events_file()
    if path is None:
        return
    line = json.dumps({"kind": kind, "time": time.time(), "pid": os.getpid(), **data}, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))  # one write per event: lines never interleave
    finally:
        os.close(fd)


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric value (the last value per name is the metric's value)."""
    _emit("metric", {"name": str(name), "value": float(value), "step": None if step is None else int(step)})


def log_params(params: Mapping[str, Any]) -> None:
    """Record parameters: strings, numbers, booleans or None (lists and dicts as JSON, anything else as its text).

    Values under secret-looking names (`db_password`, `api_key`; not `max_tokens`) are masked
    when auditor writes the record, and metrics under such names are not kept."""
    clean = {str(k): _param_text(v) for k, v in params.items()}
    _emit("params", {"params": clean})


def _param_text(value: Any) -> Any:
    """Plain values as they are; a list, tuple or dict as JSON (`["relu", "tanh"]`, never Python's
    `['relu', 'tanh']`), anything else as its text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, dict)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return str(value)


def log_dataset(path: Union[str, "os.PathLike[str]"], role: str = "input", **datasheet: Any) -> None:
    """Declare a dataset at run time; datasheet fields as in auditor.yaml (description, source, ...)."""
    _emit("dataset", {"path": os.path.abspath(os.fspath(path)), "role": role, "datasheet": datasheet})


def log_predictions(
    predictions: Any,
    *,
    label_column: str,
    prediction_column: str,
    sensitive_columns: Sequence[str],
    favourable_outcome: Any,
    score_column: str | None = None,
) -> None:
    """Point auditor at held-out predictions (a CSV path, or a pandas DataFrame) for fairness metrics."""
    if _events_file() is None:
        return
    if hasattr(predictions, "to_csv"):
        folder = os.environ.get(ARTIFACTS_ENV) or os.path.dirname(os.environ[EVENTS_ENV])
        _state["frames"] += 1
        target = os.path.join(folder, "predictions-%d-%d.csv" % (os.getpid(), _state["frames"]))
        predictions.to_csv(target, index=False)
        path = target
    else:
        path = os.path.abspath(os.fspath(predictions))
    _emit(
        "predictions",
        {
            "path": path,
            "label_column": label_column,
            "prediction_column": prediction_column,
            "sensitive_columns": list(sensitive_columns),
            "favourable_outcome": str(favourable_outcome),
            "score_column": score_column,
        },
    )
