"""Which auditor.yaml an ingest applies: `--spec PATH`, else $AUDITOR_SPEC, else the one in the
project the source lives in (a DVC repository's root, the folder holding `mlruns/` or `wandb/`,
the folder of an events file), else the one in the current folder. A malformed one is the same
one-line error (exit 2) as for `auditor run`, raised before anything is read or written."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from auditor.project.spec import MAX_SPEC_BYTES, ProjectSpec, SpecError, find_spec, parse_spec
from auditor.project.yamlfile import read_text

SPEC_ENV = "AUDITOR_SPEC"
TOOL_FOLDERS = ("mlruns", "wandb")  # a tracker's folder inside the project it tracks


@dataclass(frozen=True)
class Declaration:
    """A loaded auditor.yaml: its paths are relative to `root`, the folder that holds it."""

    spec: ProjectSpec
    file: Path
    root: Path
    sha256: str

    def shown(self, source_root: Path | None) -> str:
        """The file as the record names it: relative to the source's folder when inside it, else in full."""
        if source_root is not None:
            try:
                return self.file.relative_to(source_root.absolute()).as_posix()
            except ValueError:
                pass
        return str(self.file)


def source_folder(source: str) -> Path | None:
    """The folder a local source is: a folder as given, the folder of a file (dvc.yaml, mlflow.db,
    events.jsonl); None for a URI."""
    if "://" in source:
        return None
    path = Path(source)
    return path if path.is_dir() else path.parent


def project_folders(source: str) -> list[Path]:
    """Where the source's project may keep auditor.yaml, the likeliest first."""
    folder = source_folder(source)
    if folder is None:
        return []
    folders = [folder]
    if folder.name in TOOL_FOLDERS:
        folders.append(folder.parent)
    elif folder.parent.name in TOOL_FOLDERS:  # one run's folder: wandb/run-...
        folders.append(folder.parent.parent)
    return folders


def find_declaration(
    source: str, given: Path | None, cwd: Path, env: dict[str, str] | None = None
) -> Declaration | None:
    """The auditor.yaml to apply, loaded and validated, or None when there is none."""
    env = dict(os.environ) if env is None else env
    path = given or (Path(env[SPEC_ENV]) if env.get(SPEC_ENV) else None)
    if path is None:
        path = next((found for f in (*project_folders(source), cwd) if (found := find_spec(f))), None)
    if path is None:
        return None
    text = read_text(path, SpecError, "auditor.yaml", MAX_SPEC_BYTES)  # one line for a missing or odd file
    spec = parse_spec(text, path)
    file = path.absolute()
    return Declaration(spec, file, file.parent, hashlib.sha256(text.encode("utf-8")).hexdigest())
