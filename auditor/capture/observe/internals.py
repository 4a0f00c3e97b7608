"""Files a tool reads and writes for itself, which are never the run's data.

`dvc repro` under capture opens `.git/index`, `.gitignore` files, `.dvc/config`, its cache and
lock files, `~/.gitconfig` and `~/.config/dvc/config`, and writes temporary files: dozens of
accesses, none of them training data, and each one listed as an undeclared read buried the one
that mattered. They are counted per place (like the interpreter's own files), not listed.

Only places that hold a tool's state are counted this way; an arbitrary file outside the project
(`/tmp/data.csv`, `~/datasets/x.csv`) is still listed, so an undeclared data read still fails, and
so is a read from a cache that holds data or models (`~/.cache/huggingface/datasets/...`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# How the places this module names begin, for renderers that count them apart.
TOOL_PLACES = ("tool internals: ", "temporary files: ")
# Folders (at any depth of the project) that belong to version control, a tool or a cache.
TOOL_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", ".dvc", "__pycache__", ".cache", ".pytest_cache", ".mypy_cache", ".ruff_cache",
        ".ipynb_checkpoints", ".tox", ".nox", ".venv", ".idea", ".vscode", ".eggs", ".hypothesis",
    }
)  # fmt: skip
# Files (at any depth of the project) that configure version control or a tool.
TOOL_FILES = frozenset(
    {
        ".gitignore", ".gitattributes", ".gitmodules", ".git", ".dvcignore", "dvc.yaml", "dvc.lock",
        ".gitkeep", ".DS_Store",
    }
)  # fmt: skip
# The user's configuration, caches and credentials helpers, under the home folder.
HOME_PLACES = (".gitconfig", ".git-credentials", ".netrc", ".config", ".cache", ".local", ".ssh", ".dvc")
# Caches that hold data and models a run trains on (Hugging Face datasets and hub, torch hub, Keras and
# scikit-learn downloads): a read there is evidence, listed like any other file, never a tool's internals.
DATA_CACHES = frozenset(
    {"huggingface", "torch", "kagglehub", "keras", "tensorflow_datasets", "scikit_learn_data", "datasets", "pooch"}
)
# Temporary files: folders and names the standard library and tools give them.
TEMP_NAMES = ("tmp", "pymp-", "pip-", "_MEI")
VAR_TMP = "/var/tmp"  # noqa: S108 - a place judged, never written


@dataclass(frozen=True)
class Places:
    """The real paths tool internals are judged against."""

    root: str
    home: str
    temp: str

    @classmethod
    def here(cls, root: str) -> Places:
        real = os.path.realpath
        return cls(root=real(root), home=real(Path("~").expanduser()), temp=real(tempfile.gettempdir()))


def _under(path: str, folder: str) -> str | None:
    """`path` relative to `folder`, or None when it is not inside it."""
    prefix = folder.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def internal_place(path: str, places: Places, *, written: bool) -> str | None:
    """Where to count a real path that is a tool's own file (e.g. "tool internals: .git"), or None."""
    if not written and DATA_CACHES.intersection(path.split("/")) and "/site-packages/" not in path:
        return None
    inside = _under(path, places.root)
    if inside is not None:
        parts = inside.split("/")
        for part in parts[:-1]:
            if part in TOOL_FOLDERS or part.endswith(".egg-info"):
                return f"tool internals: {part}"
        name = parts[-1]
        if written and name.endswith(".tmp"):
            return "temporary files: in the project"
        if name in TOOL_FILES or name.endswith(".dvc"):
            return f"tool internals: {name if name in TOOL_FILES else '*.dvc'}"
        return None
    if "/site-packages/" in path or "/dist-packages/" in path:
        return "tool internals: site-packages"
    home = _under(path, places.home)
    if home is not None:
        first = home.split("/")[0]
        if first in HOME_PLACES:
            return f"tool internals: ~/{first}"
    for folder in (places.temp, VAR_TMP):
        temp = _under(path, folder)
        if path == folder or (temp is not None and (written or _temporary_name(temp))):
            return f"temporary files: {folder}"
    return None


def _temporary_name(inside: str) -> bool:
    """A name the standard library or a tool gives a temporary file or folder (`tmpab12cd`, `x.tmp`)."""
    return inside.split("/")[0].startswith(TEMP_NAMES) or inside.endswith(".tmp")
