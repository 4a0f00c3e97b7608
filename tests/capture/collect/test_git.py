from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from auditor.capture.collect.git import collect_git
from auditor.capture.collect.gitread import start_early, take_early
from auditor.record.models import GitSource, NotARepository
from tests.conftest import CliRunner, git


def test_clean_repository(git_repo: Path) -> None:
    source = collect_git(git_repo)
    assert isinstance(source, GitSource)
    assert source.commit == git(git_repo, "rev-parse", "HEAD")
    assert source.branch == "main"
    assert not source.dirty and source.diff_sha256 is None
    assert source.remote_url is None
    assert Path(source.root) == git_repo


def test_subfolder_finds_the_root(git_repo: Path) -> None:
    sub = git_repo / "src"
    sub.mkdir()
    source = collect_git(sub)
    assert isinstance(source, GitSource) and Path(source.root) == git_repo


def test_not_a_repository(tmp_path: Path) -> None:
    assert collect_git(tmp_path) == NotARepository(path=str(tmp_path))


def test_dirty_tree_hash_follows_the_change(git_repo: Path) -> None:
    (git_repo / "train.py").write_text("print('changed')\n")
    first = collect_git(git_repo)
    (git_repo / "train.py").write_text("print('changed again')\n")
    second = collect_git(git_repo)
    assert isinstance(first, GitSource) and isinstance(second, GitSource)
    assert first.dirty and second.dirty
    assert first.diff_sha256 and second.diff_sha256 and first.diff_sha256 != second.diff_sha256


def test_untracked_files_count_and_enter_the_hash(git_repo: Path) -> None:
    (git_repo / "notes.txt").write_text("one")
    first = collect_git(git_repo)
    (git_repo / "notes.txt").write_text("two")
    second = collect_git(git_repo)
    assert isinstance(first, GitSource) and isinstance(second, GitSource)
    assert first.untracked == ("notes.txt",) and first.untracked_count == 1
    assert first.diff_sha256 != second.diff_sha256


def test_ignored_files_do_not_make_the_tree_dirty(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("data/\n")
    git(git_repo, "add", ".gitignore")
    git(git_repo, "commit", "-q", "-m", "ignore data")
    (git_repo / "data").mkdir()
    (git_repo / "data" / "big.csv").write_text("a,b\n")
    source = collect_git(git_repo)
    assert isinstance(source, GitSource) and not source.dirty


def test_remote_credentials_are_stripped(git_repo: Path) -> None:
    git(git_repo, "remote", "add", "origin", "https://deploy:hunter2-secret@git.example.invalid/team/model.git")
    source = collect_git(git_repo)
    assert isinstance(source, GitSource)
    assert source.remote_url == "https://git.example.invalid/team/model.git"


def test_detached_head_and_empty_repository(git_repo: Path, tmp_path: Path) -> None:
    git(git_repo, "checkout", "-q", "--detach")
    detached = collect_git(git_repo)
    assert isinstance(detached, GitSource) and detached.branch is None and detached.commit
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    fresh = collect_git(empty)
    assert isinstance(fresh, GitSource) and fresh.commit is None


def _dirty_with_remote(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://deploy:hunter2-secret@git.example.invalid/team/model.git")
    (repo / "train.py").write_text("print('changed')\n")
    (repo / "notes.txt").write_text("one")


def test_an_early_reading_gives_the_source_a_reading_now_gives(git_repo: Path, tmp_path: Path) -> None:
    _dirty_with_remote(git_repo)
    start_early(git_repo)
    early = take_early(git_repo)
    assert early is not None
    assert collect_git(git_repo, early) == collect_git(git_repo)
    assert take_early(git_repo) is None  # once
    start_early(tmp_path)
    outside = take_early(tmp_path)
    assert outside is not None and collect_git(tmp_path, outside) == NotARepository(path=str(tmp_path))


def test_an_early_reading_is_only_for_its_folder_and_environment(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_early(git_repo)
    assert take_early(tmp_path) is None  # another folder
    assert take_early(git_repo) is not None
    start_early(git_repo)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(git_repo.parent))
    assert take_early(git_repo) is None  # git would now run with another environment


def test_run_records_the_tree_as_it_was_before_the_command(cli: CliRunner, git_repo: Path) -> None:
    _dirty_with_remote(git_repo)
    before = collect_git(git_repo)
    change = "from pathlib import Path; Path('train.py').write_text('edited'); Path('made.txt').write_text('x')"
    done = cli("run", "--store", str(git_repo.parent / "store"), "--", sys.executable, "-c", change, cwd=git_repo)
    assert done.returncode == 0, done.stderr
    (run,) = (git_repo.parent / "store" / "runs").iterdir()
    recorded = json.loads((run / "record.json").read_text())["source"]
    assert isinstance(before, GitSource)
    assert recorded == {"state": "captured", **before.model_dump(mode="json", exclude={"state"})}
    assert (
        recorded["untracked"] == ["notes.txt"]
        and recorded["remote_url"] == "https://git.example.invalid/team/model.git"
    )
    assert collect_git(git_repo) != before  # the command did change the tree


def test_an_untracked_fifo_or_device_is_never_read_and_a_link_counts_as_its_target_text(
    git_repo: Path, tmp_path: Path
) -> None:
    """A FIFO (or a link to one) would block the reading forever, a link to /dev/zero never end: git's
    reading ends, in a process of its own so a hang fails this test rather than hanging the suite."""
    import subprocess

    os.mkfifo(tmp_path / "fifo")
    os.mkfifo(git_repo / "here.fifo")
    (git_repo / "to-fifo").symlink_to(tmp_path / "fifo")
    (git_repo / "to-zero").symlink_to("/dev/zero")
    (git_repo / "to-notes").symlink_to(tmp_path / "notes.txt")
    (tmp_path / "notes.txt").write_text("one")
    read = (
        "import json, sys; from pathlib import Path; from auditor.capture.collect.git import collect_git; "
        "print(collect_git(Path(sys.argv[1])).model_dump_json())"
    )

    def source() -> dict[str, object]:
        done = subprocess.run([sys.executable, "-c", read, str(git_repo)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        found: dict[str, object] = json.loads(done.stdout)
        return found

    first = source()
    assert first["untracked"] == ["to-fifo", "to-notes", "to-zero"] and first["dirty"]  # git lists no FIFO
    (tmp_path / "notes.txt").write_text("two")  # what a link points at is not what git would store
    assert source()["diff_sha256"] == first["diff_sha256"]
    (git_repo / "to-notes").unlink()
    (git_repo / "to-notes").symlink_to(tmp_path / "other.txt")
    assert source()["diff_sha256"] != first["diff_sha256"]


def test_relative_git_dir_and_work_tree_describe_the_repository_they_name(tmp_path: Path) -> None:
    """GIT_DIR and GIT_WORK_TREE relative to the folder auditor runs in: every call names that repository,
    though the calls after the first run in its root (where the same relative path names another)."""
    from auditor.capture.collect.gitread import Repository, read_git

    outer = tmp_path / "outer"
    inner = outer / "inner"
    for repo, branch in ((outer, "outer-branch"), (inner, "inner-branch")):
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", branch)
        (repo / f"{branch}.txt").write_text(branch)
        git(repo, "add", f"{branch}.txt")
        git(repo, "commit", "-q", "-m", branch)
    (inner / "sub").mkdir()
    env = {**os.environ, "GIT_DIR": "../.git", "GIT_WORK_TREE": ".."}
    reading = read_git(inner / "sub", env)
    assert isinstance(reading, Repository)
    assert (reading.commit, reading.branch) == (git(inner, "rev-parse", "HEAD"), "inner-branch")
    assert reading.root == inner and reading.untracked == ()


def test_a_git_that_runs_out_of_time_leaves_the_source_missing(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of git's calls is bounded, `symbolic-ref` (the branch) as the others: the source is missing
    with the reason, never an exception out of the run."""
    import shutil

    from auditor.capture.collect import gitread
    from auditor.record.models import Missing

    real = shutil.which("git")
    slow = tmp_path / "bin" / "git"
    slow.parent.mkdir()
    slow.write_text(f'#!/bin/sh\ncase " $* " in *" symbolic-ref "*) exec sleep 30;; esac\nexec {real} "$@"\n')
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow.parent}:{os.environ['PATH']}")
    monkeypatch.setattr(gitread, "GIT_TIMEOUT_S", 2)
    source = collect_git(git_repo)
    assert isinstance(source, Missing) and "symbolic-ref" in source.reason and "timed out" in source.reason
