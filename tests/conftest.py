"""Shared fixtures: the real CLI entry point, throwaway git repositories, clean environments."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = REPO / "samples" / "credit-scoring"
# The real PyPA advisory snapshot (CC-BY-4.0, see its README): inside the repository, so a fresh clone has it.
ADVISORY_SNAPSHOT = FIXTURES / "advisories" / "pypa-snapshot"
AUDITOR = Path(sys.prefix) / "bin" / "auditor"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def base_env(**extra: str) -> dict[str, str]:
    """A small, predictable environment for the command under test."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "USER")}
    env.update(extra)
    return env


@pytest.fixture
def cli() -> CliRunner:
    """Run the installed `auditor` console script, as a user would."""
    if not AUDITOR.exists():
        pytest.fail(f"{AUDITOR} is missing: install auditor with `./dev setup`")

    def run(
        *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AUDITOR), *args],
            cwd=cwd,
            env=dict(env) if env is not None else base_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            input=input,
            check=False,
        )

    return run


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )
    return done.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('training')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "first")
    return repo


INDEX_FILES = ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal")


def store_snapshot(store: Path) -> dict[str, bytes]:
    """Every file in a store with its bytes, to prove a command changed nothing. The run index
    (STORE/index.sqlite*) is left out: a cache that readers bring up to date, never evidence."""
    return {
        str(p.relative_to(store)): p.read_bytes()
        for p in sorted(store.rglob("*"))
        if p.is_file() and p.relative_to(store).as_posix() not in INDEX_FILES
    }
