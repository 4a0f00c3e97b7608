"""The part of DVC's dvc.yaml templating that names and fills in stages: `${...}`, foreach, matrix.

A locked stage needs none of it: dvc.lock holds its command and paths resolved. It is needed to
name the stages that `foreach` and `matrix` generate (`train@us`, `fit@lin-sgd`, exactly as DVC
names them) and to show a stage that was never locked. Only lookups are supported (`${a.b}`,
`${a[0]}`, `${item.x}`, `${key}`), from params.yaml, `vars:` and the loop variables; a value
that cannot be resolved leaves the text as written and says so, never a guess.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.dvc.files import load_values, within

TEMPLATE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")


class Unresolved(Exception):
    """A `${...}` this reader cannot fill in."""


def context(folder: Path, repo: Path, variables: Any, notes: list[str]) -> dict[str, Any]:
    """What `${...}` may name: the folder's params.yaml, then each `vars:` entry in order."""
    merged: dict[str, Any] = {}
    default = folder / "params.yaml"
    if default.is_file():
        _merge(merged, _file_values(default, repo, notes))
    for item in variables if isinstance(variables, list) else []:
        if isinstance(item, dict):
            _merge(merged, item)
        elif isinstance(item, str):
            name, _, keys = item.partition(":")
            values = _file_values(folder / name, repo, notes)
            if keys:
                values = {key: values[key] for key in keys.split(",") if key in values}
            _merge(merged, values)
    return merged


def _file_values(path: Path, repo: Path, notes: list[str]) -> dict[str, Any]:
    label = path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)
    if not within(repo, path) or not path.is_file():
        notes.append(f"{label}: named in dvc.yaml `vars` but not a file inside the repository: not read")
        return {}
    try:
        data = load_values(path, label)
    except IngestError as exc:
        notes.append(f"templating variables not read: {exc}")
        return {}
    return data if isinstance(data, dict) else {}


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[str(key)] = value


def resolve(value: Any, ctx: dict[str, Any]) -> Any:
    """The value with every `${...}` filled in; Unresolved when one cannot be."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value)
        if whole:
            return lookup(whole["inner"], ctx)
        return TEMPLATE.sub(lambda match: _text(lookup(match["inner"], ctx)), value)
    if isinstance(value, list):
        return [resolve(item, ctx) for item in value]
    if isinstance(value, dict):
        return {
            (_text(resolve(key, ctx)) if isinstance(key, str) else key): resolve(item, ctx)
            for key, item in value.items()
        }
    return value


def lookup(name: str, ctx: dict[str, Any]) -> Any:
    current: Any = ctx
    for part in name.strip().replace("[", ".").replace("]", "").split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise Unresolved(name)
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise Unresolved("a list or mapping inside text")


def generated(definition: dict[str, Any], ctx: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, loop variables) for each stage a foreach or matrix definition generates, as DVC keys them.

    Lazily, and without a cap of its own: the caller counts every stage of the repository
    against one budget (dvc_yaml.StageBudget) and stops when it is spent."""
    if "foreach" in definition:
        iterable = resolve(definition["foreach"], ctx)
        if isinstance(iterable, dict):
            items = {_text(key): (value, {"key": _text(key)}) for key, value in iterable.items()}
        elif isinstance(iterable, list):
            composite = any(isinstance(item, dict | list) for item in iterable)
            items = {(str(i) if composite else _text(item)): (item, {}) for i, item in enumerate(iterable)}
        else:
            raise Unresolved("foreach is neither a list nor a mapping")
        for key, (item, extra) in items.items():
            yield key, {"item": item, **extra}
        return
    matrix = definition["matrix"]
    if not isinstance(matrix, dict):
        raise Unresolved("matrix is not a mapping")
    axes = {}
    for axis, values in matrix.items():
        resolved = resolve(values, ctx)
        if not isinstance(resolved, list):
            raise Unresolved(f"matrix axis {axis} is not a list")
        axes[str(axis)] = resolved
    combinations = itertools.product(*(list(enumerate(values)) for values in axes.values()))
    for combination in combinations:
        item = dict(zip(axes, (value for _, value in combination), strict=True))
        fragments = [
            f"{axis}{index}" if isinstance(value, dict | list) else _text(value)
            for axis, (index, value) in zip(axes, combination, strict=True)
        ]
        yield "-".join(fragments), {"item": item}
