"""Paths as a dossier shows them: relative to the project, never the capturing machine's layout.

The run record keeps every path as captured (it is the evidence); a reader of the dossier needs
to know where a file is in the project, not where the project sat on someone's disk. Paths
outside the project (a system interpreter, /usr/bin/git) stay as they are: they name the
platform, not a user's folder.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence

LOCAL_REMOTE = "a folder on the capturing machine (not a shared remote)"


def shown_path(path: str, project: str | None, repository: str | None = None) -> str:
    """`path` relative to the project folder when it lies inside it or inside its repository."""
    if not path or not posixpath.isabs(path) or not project or not posixpath.isabs(project):
        return path
    path, project = posixpath.normpath(path), posixpath.normpath(project)
    if _inside(path, project):
        return posixpath.relpath(path, project)
    if repository and posixpath.isabs(repository) and _inside(path, posixpath.normpath(repository)):
        return posixpath.relpath(path, project)
    return path


def shown_command(argv: Sequence[str], project: str | None, repository: str | None = None) -> str:
    """A command line with its arguments' project paths made relative (also in `--opt=/path` form)."""
    return shlex.join(_argument(a, project, repository) for a in argv)


def shown_folder(folder: str, repository: str | None) -> str:
    """The working folder as a place in the repository: "samples/x in the repository", or its root."""
    if repository and posixpath.isabs(folder) and _inside(posixpath.normpath(folder), posixpath.normpath(repository)):
        inner = posixpath.relpath(posixpath.normpath(folder), posixpath.normpath(repository))
        return "the repository's root folder" if inner == "." else f"{inner}/ in the repository"
    return posixpath.basename(posixpath.normpath(folder)) + "/ (not in a git repository)" if folder else folder


def shown_remote(url: str | None) -> str:
    """A remote that is a local path says so instead of showing the capturing machine's folders."""
    if not url:
        return "none"
    if url.startswith(("/", "file:", "~", "./", "../")) or (len(url) > 2 and url[1] == ":" and url[2] in "\\/"):
        return LOCAL_REMOTE
    return url


def _argument(arg: str, project: str | None, repository: str | None) -> str:
    if "=" in arg and arg.startswith("-"):
        option, _, value = arg.partition("=")
        return f"{option}={shown_path(value, project, repository)}"
    return shown_path(arg, project, repository)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
