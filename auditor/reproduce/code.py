"""Is the code the original run's? The same commit, and the same uncommitted changes, apart from
what the run itself changes.

A run that writes git-tracked or untracked files (its metrics, model, `dvc.lock`) leaves the
working tree changed, so a plain "is the tree as it was" test refused every reproduction of a
normal run, without saying why. The run's own products are expected changes: its declared
outputs and intermediates, its models, the files it was seen writing, and tool internals
(`dvc.lock`, `.gitignore`). Any other changed file is named in the refusal.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from auditor.capture.collect.git import collect_git
from auditor.capture.observe.internals import Places, internal_place
from auditor.errors import CouldNotEvaluateError
from auditor.record.lineage import Observation
from auditor.record.models import GitSource, RunRecord

GIT_TIMEOUT_S = 30
MAX_NAMED = 10


def check_code(original: RunRecord, root: Path) -> str:
    """What was verified about the code, or CouldNotEvaluateError naming what differs."""
    was = original.source
    if not isinstance(was, GitSource):
        return "code not under version control at the original run: not verified"
    now = collect_git(root)
    if not isinstance(now, GitSource):
        raise CouldNotEvaluateError(f"the original run was at {_commit(was.commit)}, but {root} is no repository now")
    if now.commit != was.commit:
        was_at, now_at = _commit(was.commit), _commit(now.commit)
        raise CouldNotEvaluateError(f"the code changed since the original run: it was at {was_at}, now at {now_at}")
    same = f"the same code ({_commit(was.commit, 12)}"
    if (now.dirty, now.diff_sha256) == (was.dirty, was.diff_sha256):
        return same + (", same uncommitted changes)" if was.dirty else ")")
    changed = changed_files(Path(now.root))
    expected = expected_changes(original, root)
    others = sorted(p for p in changed if not _expected(os.path.realpath(Path(now.root) / p), expected, root))
    if not was.dirty and not others:
        return same + "; only the run's own outputs changed since)"
    if not others:
        raise CouldNotEvaluateError(
            "the original run had uncommitted changes that cannot be told apart from its outputs now: "
            "commit the code and run again to have a run that can be reproduced"
        )
    named = ", ".join(others[:MAX_NAMED]) + (f" and {len(others) - MAX_NAMED} more" if len(others) > MAX_NAMED else "")
    base = "its uncommitted changes" if was.dirty else "a clean tree"
    raise CouldNotEvaluateError(
        f"the code changed since the original run (at {_commit(was.commit, 12)} with {base}): "
        f"files changed that the run does not write: {named}"
    )


def _commit(commit: str | None, width: int = 40) -> str:
    return f"git commit {commit[:width]}" if commit else "no git commit yet"


def changed_files(git_root: Path) -> list[str]:
    """Paths (relative to the repository) that differ from HEAD, untracked ones included."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
            cwd=git_root,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CouldNotEvaluateError(f"git status failed in {git_root}: {exc}") from exc
    if done.returncode != 0:
        raise CouldNotEvaluateError(f"git status failed in {git_root} (exit {done.returncode})")
    entries = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    paths: list[str] = []
    skip_next = False
    for entry in entries:
        if skip_next or not entry:
            skip_next = False
            continue
        paths.append(entry[3:])
        skip_next = entry[0] in "RC"  # a rename or copy: the next entry is the old path
    return paths


def expected_changes(original: RunRecord, root: Path) -> tuple[str, ...]:
    """Real paths the original run wrote or declared as its products."""
    lineage = original.lineage
    paths = [d.path for d in getattr(lineage, "datasets", ()) if d.role != "input" and d.path]
    paths += [m.path for m in getattr(lineage, "models", ())]
    observed = getattr(lineage, "observed", None)
    if isinstance(observed, Observation):
        paths += [f.path for f in observed.files if f.written]
    return tuple(os.path.realpath(root / p) for p in paths)


def _expected(path: str, expected: tuple[str, ...], root: Path) -> bool:
    if any(path == e or path.startswith(e.rstrip("/") + "/") for e in expected):
        return True
    return internal_place(path, Places.here(str(root)), written=True) is not None
