"""`auditor init` reads an MLflow project's MLproject file: each entry point becomes a step with
its command, parameters of type `path` with a default in the project become its inputs, and the
other parameters are named in a comment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.project.init_draft import Draft, StepDraft, clean_path, is_code, slug
from auditor.project.yamlfile import YamlFileError, load_yaml, read_text

MAX_BYTES = 1 << 20


def read_mlproject(root: Path, draft: Draft) -> None:
    path = root / "MLproject"
    if not path.is_file():
        return
    data, _ = load_yaml(read_text(path, YamlFileError, "MLproject", MAX_BYTES), "MLproject")
    if not isinstance(data, dict):
        raise YamlFileError("MLproject", 1, None, "expected a mapping")
    for key in ("python_env", "conda_env"):
        if isinstance(data.get(key), str):
            draft.notes.append(f"MLproject {key}: {data[key]} (its packages are not pip requirements files)")
    entry_points = data.get("entry_points")
    for name, entry in entry_points.items() if isinstance(entry_points, dict) else ():
        if isinstance(entry, dict) and isinstance(entry.get("command"), str):
            draft.steps.append(_entry_point(str(name), entry))


def _entry_point(name: str, entry: dict[str, Any]) -> StepDraft:
    step = StepDraft(name=slug(name), command=" ".join(str(entry["command"]).split()))
    described = []
    parameters = entry.get("parameters")
    for param, spec in parameters.items() if isinstance(parameters, dict) else ():
        kind, default = (spec, None) if isinstance(spec, str) else _typed(spec)
        path = clean_path(str(default)) if kind in ("path", "uri") and default is not None else None
        if path is not None and not is_code(path):
            step.reads.append(path)
        described.append(f"{param} ({kind}" + (f", default {default})" if default is not None else ")"))
    if described:
        step.comment = "MLproject parameters: " + ", ".join(described)
    return step


def _typed(spec: Any) -> tuple[str, Any]:
    if not isinstance(spec, dict):
        return "string", None
    return str(spec.get("type", "string")), spec.get("default")
