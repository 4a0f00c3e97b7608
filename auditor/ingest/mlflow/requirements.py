"""The environment an MLflow model declares: requirements.txt, conda.yaml's pip list and
python_env.yaml, parsed with auditor's own requirements parser so the pinning and
vulnerability rules read them like a project's requirements file.

`-r` includes are not followed: the files come from the store, and an include could name any
file on the machine. MLflow's own python_env.yaml includes requirements.txt beside it, which
is read anyway.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from auditor.capture.collect.requirements import _logical_lines, _parse_line
from auditor.ingest.mlflow.raw import load_yaml_mapping, read_text
from auditor.record.models import Pin, RequirementsFile

ENVIRONMENT_FILES = ("requirements.txt", "conda.yaml", "python_env.yaml")  # what MLflow writes beside MLmodel


def requirement_files(folder: Path, root: Path) -> list[RequirementsFile]:
    out = []
    text = folder / "requirements.txt"
    if text.is_file():
        raw = read_text(text, None)
        out.append(_file(text, root, raw, _logical_lines(raw)))
    conda = folder / "conda.yaml"
    if conda.is_file():
        data = load_yaml_mapping(conda)
        pip: list[Any] = []
        problems: list[str] = []
        for item in _list(data.get("dependencies"), "dependencies", problems):
            if isinstance(item, dict) and "pip" in item:
                pip += _list(item["pip"], "dependencies.pip", problems)
        out.append(_file(conda, root, read_text(conda, None), _numbered(pip, "dependencies.pip", problems), problems))
    env = folder / "python_env.yaml"
    if env.is_file():
        data = load_yaml_mapping(env)
        problems = []
        lines = _numbered(
            _list(data.get("build_dependencies"), "build_dependencies", problems), "build_dependencies", problems
        )
        lines += _numbered(_list(data.get("dependencies"), "dependencies", problems), "dependencies", problems)
        out.append(_file(env, root, read_text(env, None), lines, problems))
    return out


def _list(value: object, key: str, problems: list[str]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list")
        return []
    return value


def _numbered(items: list[Any], key: str, problems: list[str]) -> list[tuple[int, str]]:
    """Entries of a YAML list as requirement lines, numbered by their place in the list."""
    out = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str):
            out.append((number, item.strip()))
        else:
            problems.append(f"{key}[{number}]: not a requirement string")
    return out


def _file(
    path: Path, root: Path, raw: str, lines: list[tuple[int, str]], problems: list[str] | None = None
) -> RequirementsFile:
    pins: list[Pin] = []
    found = list(problems or [])
    includes: list[Path] = []
    for number, line in lines:
        _parse_line(line, number, path, pins, found, includes)
    for include in includes:
        if include != path.parent / "requirements.txt":
            found.append(f"includes {include.name}: not followed (only the files MLflow writes are read)")
    try:
        shown = path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        shown = path.as_posix()
    return RequirementsFile(
        path=shown, sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(), pins=tuple(pins), problems=tuple(found)
    )
