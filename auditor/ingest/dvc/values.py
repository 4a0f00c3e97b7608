"""Params and metrics files, flattened the way DVC shows them (`train.lr`).

DVC flattens nested mappings with '.' and keeps lists whole. A parameter keeps its value (a
list or mapping as JSON text); a metric must be a finite number, and what is not (text, a
boolean, a list) is named in the notes rather than dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.dvc.files import load_values, within
from auditor.record.models import Metric, ParamValue

MAX_TEXT = 4096
MAX_KEYS = 100_000


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, data


def param_value(value: Any) -> ParamValue:
    if value is None or isinstance(value, bool | int | str):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return json.dumps(value, default=str, ensure_ascii=False)[:MAX_TEXT]  # file order, as DVC shows it


def display(value: Any) -> str:
    """A value as one annotation string: text as it is, anything else as JSON."""
    shown = param_value(value)
    return shown if isinstance(shown, str) else json.dumps(shown)


def record_key(file: str, key: str) -> str:
    """The root params.yaml is DVC's default file: its keys stand alone; others are `FILE:KEY`."""
    return key if file == "params.yaml" else f"{file}:{key}"


@dataclass
class ValuesFile:
    label: str  # repo-relative
    values: dict[str, Any]  # flattened
    mtime: datetime | None


def read_values(path: Path, label: str, repo: Path, notes: list[str], what: str) -> ValuesFile | None:
    """A params or metrics file of the workspace, or None (with a note) when it cannot be read."""
    if label.startswith("../") or not within(repo, path):
        notes.append(f"{what} {label}: outside the repository: not read")
        return None
    if path.is_dir():
        notes.append(f"{what} {label}: a folder: its files are not read")
        return None
    if not path.is_file():
        notes.append(f"{what} {label}: not in the workspace")
        return None
    try:
        data = load_values(path, label)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except IngestError as exc:
        notes.append(f"{what} not read: {exc}")
        return None
    except OSError as exc:
        notes.append(f"{what} {label}: cannot read: {exc.strerror or exc}")
        return None
    values: dict[str, Any] = {}
    for key, value in flatten(data):
        if len(values) >= MAX_KEYS:
            notes.append(f"{what} {label}: only the first {MAX_KEYS} values kept")
            break
        values[key] = value
    return ValuesFile(label, values, mtime)


def metrics_from(files: list[ValuesFile], fallback: datetime, notes: list[str]) -> tuple[Metric, ...]:
    """Numeric values only; each name alone when one file holds them all, else `FILE:NAME`."""
    metrics = []
    for file in files:
        skipped = []
        for key, value in file.values.items():
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number:
                skipped.append(key)
                continue
            name = key if len(files) == 1 else f"{file.label}:{key}"
            metrics.append(Metric(name=name, value=float(value), logged_at=file.mtime or fallback))
        if skipped:
            shown = ", ".join(skipped[:20]) + (f" and {len(skipped) - 20} more" if len(skipped) > 20 else "")
            notes.append(f"metrics {file.label}: not numeric, not kept as metrics: {shown}")
    return tuple(metrics)
