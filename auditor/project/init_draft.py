"""What `auditor init` found in a project, before it is written as a starter auditor.yaml.

Pipeline files (dvc.yaml, `.dvc` files, MLproject) say what each step reads and writes, so
their entries come first and carry their roles: a file a step writes and no step reads is an
output, one a step writes and another reads is an intermediate, one only read is an input.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

# Files that are code, not data: a step's code dependencies are named on the step, not declared.
CODE_SUFFIXES = frozenset(
    {".py", ".ipynb", ".r", ".sh", ".jl", ".scala", ".java", ".js", ".ts", ".sql", ".toml", ".cfg", ".ini"}
)
MODEL_SUFFIXES = frozenset(
    {".joblib", ".pkl", ".pickle", ".pt", ".pth", ".onnx", ".safetensors", ".keras", ".ckpt", ".bin", ".h5"}
)


@dataclass
class StepDraft:
    name: str
    command: str
    reads: list[str] = field(default_factory=list)  # paths, relative to the project
    writes: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    comment: str = ""


@dataclass
class Draft:
    steps: list[StepDraft] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # paths read by no step but declared (e.g. `dvc add`)
    models: list[str] = field(default_factory=list)  # paths the pipeline names as models
    params_files: list[str] = field(default_factory=list)
    metrics_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # written as comments

    def paths(self) -> list[str]:
        """Every path named, in first-seen order."""
        found = list(self.inputs)
        for step in self.steps:
            found += [*step.reads, *step.writes]
        return list(dict.fromkeys([*found, *self.models, *self.params_files, *self.metrics_files]))

    def role(self, path: str) -> str:
        written = any(_overlaps(path, w) for s in self.steps for w in s.writes)
        read = any(_overlaps(path, r) for s in self.steps for r in s.reads)
        if written:
            return "intermediate" if read else "output"
        return "input"


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def clean_path(path: str, wdir: str = "") -> str | None:
    """A project-relative POSIX path, or None for one that leaves the project, is absolute or templated."""
    if not path or "${" in path or "://" in path:
        return None
    joined = posixpath.normpath(posixpath.join(wdir, path.replace("\\", "/")))
    if joined.startswith(("../", "/")) or joined in ("..", "."):
        return None
    return joined


def is_code(path: str) -> bool:
    suffix = posixpath.splitext(path)[1].lower()
    return suffix in CODE_SUFFIXES or posixpath.basename(path) in ("src", "code", "scripts", "Makefile")


def is_model(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in MODEL_SUFFIXES


def slug(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return value or "item"
