from __future__ import annotations

import json
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
