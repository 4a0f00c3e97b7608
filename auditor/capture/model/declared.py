"""Params and metrics files a project declares in auditor.yaml (JSON or YAML, as DVC reads them).

Nested keys are flattened with '.', as DVC shows them (`train.C`); a list stays one value, written as
JSON. Metrics keep numbers only, verbatim. A file that is missing or unparseable is recorded with its
problem, never silently skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from auditor.project.yamlfile import YamlFileError, load_yaml
from auditor.record.model_card import DeclaredFile, ParamValue

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_KEYS = 5_000
THRESHOLD_KEY = re.compile(r"(^|[_.])(decision_)?threshold$", re.IGNORECASE)
Reader = Callable[[str], "bytes | str"]  # project-relative path -> bytes, or why it could not be read


def read_declared(path: str, read: Reader, *, numbers_only: bool) -> DeclaredFile:
    data = read(path)
    if isinstance(data, str):
        return DeclaredFile(path=path, sha256=None, values={}, problem=data)
    sha = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_FILE_BYTES:
        return DeclaredFile(
            path=path, sha256=sha, values={}, problem=f"larger than {MAX_FILE_BYTES >> 20} MiB: not read"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return DeclaredFile(path=path, sha256=sha, values={}, problem="not UTF-8 text")
    try:
        parsed = json.loads(text) if path.lower().endswith(".json") else load_yaml(text, path)[0]
    except (ValueError, RecursionError) as exc:
        return DeclaredFile(path=path, sha256=sha, values={}, problem=f"not valid JSON: {str(exc)[:160]}")
    except YamlFileError as exc:
        return DeclaredFile(path=path, sha256=sha, values={}, problem=exc.message)
    if not isinstance(parsed, dict):
        return DeclaredFile(path=path, sha256=sha, values={}, problem="the top level is not a mapping of keys")
    values: dict[str, ParamValue] = {}
    skipped = _flatten(parsed, "", values, numbers_only)
    problem = None
    if len(values) >= MAX_KEYS:
        problem = f"more than {MAX_KEYS} keys: the first {MAX_KEYS} kept"
    elif skipped and numbers_only:
        problem = f"{skipped} value{'s' * (skipped != 1)} that {'is' if skipped == 1 else 'are'} not a number left out"
    return DeclaredFile(path=path, sha256=sha, values=values, problem=problem)


def _flatten(node: dict[Any, Any], prefix: str, out: dict[str, ParamValue], numbers_only: bool) -> int:
    skipped = 0
    for key, value in node.items():
        if len(out) >= MAX_KEYS:
            break
        name = f"{prefix}{key}"
        if isinstance(value, dict) and prefix.count(".") < 16:
            skipped += _flatten(value, name + ".", out, numbers_only)
        elif numbers_only:
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                out[name] = value
            else:
                skipped += 1
        else:
            out[name] = _plain(value)
    return skipped


def _plain(value: Any) -> ParamValue:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        text = json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        text = str(value)
    return text if len(text) <= 500 else text[:499] + "…"


def decision_threshold(files: tuple[DeclaredFile, ...]) -> tuple[float | None, str]:
    """The first key named like `decision_threshold` or `threshold` with a number in [0, 1]."""
    for file in files:
        for key, value in file.values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if THRESHOLD_KEY.search(key) and 0 <= float(value) <= 1:
                return float(value), f"{file.path}: {key}"
    return None, "not declared"
