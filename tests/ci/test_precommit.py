"""The pre-commit hooks (.pre-commit-hooks.yaml) run by the real `pre-commit try-repo`.

try-repo clones a repository at a commit and installs it, as pre-commit does for a hook
repository, into a virtualenv of its own (auditor and its dependencies from PyPI, through the pip
cache): so the hooks are exercised exactly as a user's project would get them. The repository is
a temporary git clone of this working tree (tracked and untracked files, symlinks kept) with one
fresh commit. try-repo installs into a store of its own each time, so the test runs it once, with
every hook of the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, git
from tests.factories import make_record

PRE_COMMIT = Path(sys.prefix) / "bin" / "pre-commit"
INSTALL_TIMEOUT = 900  # the first try-repo installs auditor and its dependencies into a new virtualenv

SEEDS = """\
  - id: T-SEED-1
    title: seeds are logged
    severity: low
    rationale: without seeds a re-run differs
    remediation: log every seed
    references: [x]
    check: {kind: seeds_recorded}
"""
PACK = """\
pack: team
version: 1
description: the team's rules
rules:
  - id: T-RUN-1
    title: the run succeeded
    severity: high
    rationale: a failed run may be incomplete
    remediation: fix the run
    references: [x]
    check: {kind: run_succeeded}
"""


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clone of this working tree with one commit, and the environment try-repo runs in."""
    base = tmp_path_factory.mktemp("precommit")
    clone = base / "auditor"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source, target = REPO / name, clone / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet committed
        if source.is_dir() and not source.is_symlink():
            continue  # a submodule or nested repository: not part of the package
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    git(clone, "init", "-q", "-b", "main")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "the working tree, for pre-commit try-repo")
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "USER", "PIP_INDEX_URL")},
        "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    yield clone, env


def user_project(tmp_path: Path) -> Path:
    """A user's repository with a rule pack, an auditor.yaml naming it, and a store with one run."""
    from auditor.store.runs import RunStore

    root = tmp_path / "project"
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "team.yaml").write_text(PACK)
    (root / "auditor.yaml").write_text("project: {name: p}\npolicy:\n  packs: [rules/team.yaml]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    store = RunStore.create(tmp_path / "store")
    record = make_record()
    store.commit(store.begin(record.identity.run_id), record)
    return root


def try_repo(hook_repo: tuple[Path, dict[str, str]], project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    if not PRE_COMMIT.exists():
        pytest.fail(f"{PRE_COMMIT} is missing: install the test extra (pip install -e '.[test]')")
    clone, base_env = hook_repo
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(clone), "--all-files", "--verbose"],
        cwd=project,
        env={**base_env, **env},
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def hook_output(stdout: str, name: str) -> tuple[str, str]:
    """(Passed|Failed, the hook's own output) of one hook in `pre-commit --verbose` output."""
    found = re.search(
        rf"^{re.escape(name)}\.+(Passed|Failed)\n(.*?)(?=^\S[^\n]*\.{{3,}}(?:Passed|Failed)$|\Z)", stdout, re.M | re.S
    )
    assert found is not None, stdout
    return found.group(1), found.group(2)


def test_both_hooks_through_try_repo(hook_repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """One try-repo (it installs auditor into a fresh virtualenv each time, minutes on a busy machine)
    runs every hook of the repository: the pack hook reports the broken pack and still checks the
    others, and the check hook fails the commit with the check's own exit code and verdict."""
    project = user_project(tmp_path)
    (project / "rules" / "broken.yaml").write_text(PACK.replace("severity: high", "severity: dire"))
    (project / "notes.yaml").write_text("not: a pack\n")  # outside rules/: not a pack, not validated
    (project / "rules" / "team.yaml").write_text(PACK + SEEDS)  # the run logged no seed: a violation
    git(project, "add", "-A")
    done = try_repo(hook_repo, project, AUDITOR_STORE=str(tmp_path / "store"))
    assert done.returncode == 1, done.stdout + done.stderr
    status, output = hook_output(done.stdout, "auditor rules validate")
    assert status == "Failed" and "- exit code: 2" in output
    assert "auditor: error: rules/broken.yaml:7: rules[0].severity" in output
    assert "rules/team.yaml: valid pack team (version 1), 2 rules" in output  # the others are still checked
    assert "notes.yaml" not in output
    status, output = hook_output(done.stdout, "auditor check")
    assert status == "Failed" and "- exit code: 1" in output
    assert "VERDICT: VIOLATIONS (exit 1)" in output and "T-SEED-1" in output
