"""The logging API for training scripts: `auditor.log_metric(...)` and friends.

Inside a run started by `auditor run`, each call appends one JSON line to the
run's event file ($AUDITOR_EVENTS), which auditor folds into the run record when
the command ends. Outside a run, the first call warns once and every call does
nothing, so a script behaves the same with or without auditor.

The names follow MLflow's (`log_param`, `log_params`, `log_metric`, `log_metrics`,
`log_artifact`, `set_tag`, `set_tags`), so a script written for one reads naturally with the
other; `log_dataset` and `log_predictions` are auditor's own.

Standard library only and Python >= 3.8: `auditor run` also serves this file as
the `auditor` module to interpreters that do not have auditor installed. The
annotations below are never evaluated (3.8 has no `str | None` and no `Mapping[...]`
at run time).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

EVENTS_ENV = "AUDITOR_EVENTS"
ARTIFACTS_ENV = "AUDITOR_ARTIFACTS"
_state = {"warned": False, "frames": 0}

__all__ = [
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_predictions",
    "set_tag",
    "set_tags",
]


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


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metric values at once, all at the same step."""
    for name, value in metrics.items():
        log_metric(name, value, step)


def log_param(key: str, value: Any) -> None:
    """Record one parameter (see `log_params`)."""
    log_params({key: value})


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


def set_tag(key: str, value: Any) -> None:
    """Tag the run (`team`, `ticket`, `purpose`...): shown with the run and searchable as its tags."""
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    """Tag the run with several tags; values are kept as text. Secret-looking names are masked."""
    _emit("tags", {"tags": {str(k): str(v) for k, v in tags.items()}})


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """A file or folder the run produced (a model, a plot, a report): hashed when the command ends and
    recorded as an output of the run, where it is.

    `artifact_path` is accepted so that MLflow calls work unchanged; auditor does not copy the file
    into a store of its own (the record pins its bytes by their SHA-256)."""
    del artifact_path
    _emit("dataset", {"path": os.path.abspath(os.fspath(local_path)), "role": "output", "datasheet": {}})


def log_dataset(path: str | os.PathLike[str], role: str = "input", **datasheet: Any) -> None:
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
