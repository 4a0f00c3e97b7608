"""The commit a DVC repository has checked out, asked of git without running the repository's code.

The repository is untrusted, and so is its `.git/config`: git runs commands named there
(`core.fsmonitor` on every `git status`, `gpg.program` when `git log` shows signatures, filter
drivers' `clean` / `process` on files that `.gitattributes` gives a `filter=`, hooks when the
index is written, transports and `ssh` when a partial clone fetches a missing object). So
every call here overrides those keys on the command line (which takes precedence over every
config file), writes nothing (no optional locks, so no index refresh and no hook), skips
submodules (each has a config of its own), allows no transport at all, and reads no system
config nor the caller's GIT_* variables.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from auditor.capture.redact import clean_url
from auditor.record.models import ReportedSource

GIT_TIMEOUT_S = 10
SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "protocol.allow=never",
    "core.sshCommand=false",
    "core.pager=cat",
    "core.alternateRefsCommand=false",
    "log.showSignature=false",  # else `git log` runs gpg.program, a command the repository's config may name
    "gpg.program=false",
)
FILTER_KEYS = ("clean", "smudge", "process")
FILTERS_NOTE = (
    " (git's filter drivers were not run, being commands the repository's config names: "
    "files they filter, Git LFS files for instance, may show as changed)"
)


def git_source(repo: Path, notes: list[str]) -> ReportedSource | None:
    """The commit checked out now, as git reports it: not proof that it produced dvc.lock."""
    commit = run_git(repo, "rev-parse", "--verify", "-q", "HEAD")
    if commit is None:
        refused = git_refusal(repo)
        why = f"git refused it ({refused})" if refused else "not a git repository, or no commit yet"
        notes.append(f"source: {why}: the code's version is not known")
        return None
    branch = run_git(repo, "symbolic-ref", "-q", "--short", "HEAD")
    remote = run_git(repo, "remote", "get-url", "origin")
    filters = filter_overrides(repo)
    if filters is None:
        notes.append("source: the git config could not be read safely: whether the work tree is clean is not known")
    else:
        dirty = run_git(repo, *filters, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules=all")
        if dirty:
            notes.append(
                "source: the git work tree has uncommitted changes: the commit may not be the code that ran"
                + (FILTERS_NOTE if filters else "")
            )
    return ReportedSource(
        tool="git",
        repo_url=clean_url(remote) if remote else None,
        commit=commit,
        branch=branch or None,
        path="dvc.yaml",
    )


def filter_overrides(repo: Path) -> list[str] | None:
    """`-c` options that empty every filter driver the config defines (git runs no empty command),
    or None when the config cannot be listed whole or a driver's name cannot be given to `-c`."""
    limit = 1 << 20
    listed = run_git(repo, "config", "--null", "--list", limit=limit)
    if listed is None or len(listed) >= limit:
        return None
    drivers: set[str] = set()
    for item in listed.split("\0"):
        section, _, rest = item.split("\n", 1)[0].partition(".")
        name = rest.rpartition(".")[0]
        if section.lower() == "filter" and name:
            drivers.add(name)
    if any("=" in name for name in drivers):  # `-c` splits at the first '='
        return None
    options: list[str] = []
    for name in sorted(drivers):
        for variable in FILTER_KEYS:
            options += ["-c", f"filter.{name}.{variable}="]
        options += ["-c", f"filter.{name}.required=false"]
    return options


def run_git(repo: Path, *args: str, limit: int = 4096) -> str | None:
    """git's output (stripped, at most `limit` characters), or None when it fails or takes too long."""
    out = git_bytes(repo, *args)
    return None if out is None else out.decode("utf-8", "replace").strip()[:limit]


def git_refusal(repo: Path) -> str | None:
    """Why git refuses the repository outright, in its words ("detected dubious ownership..."),
    when it does: a repository another user owns is not read, and saying so beats "not a repository"."""
    done = _run(repo, ("rev-parse", "--git-dir"), None)
    if done is None or done.returncode == 0:
        return None
    first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
    return first[0].removeprefix("fatal: ")[:300] if first and "dubious ownership" in first[0] else None


def git_bytes(repo: Path, *args: str, given: bytes | None = None) -> bytes | None:
    """git's raw output, `given` on its standard input; None when it fails or takes too long."""
    done = _run(repo, args, given)
    if done is None or done.returncode != 0:
        return None
    return done.stdout


def _run(repo: Path, args: tuple[str, ...], given: bytes | None) -> subprocess.CompletedProcess[bytes] | None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env |= {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_ALLOW_PROTOCOL": "none",  # overrides any protocol.<name>.allow the repository sets
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_PAGER": "cat",
        "LC_ALL": "C",
    }
    options = [part for setting in SAFE_CONFIG for part in ("-c", setting)]
    try:
        return subprocess.run(
            ["git", "--no-pager", *options, *args],
            cwd=repo,
            capture_output=True,
            input=given if given is not None else b"",
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
