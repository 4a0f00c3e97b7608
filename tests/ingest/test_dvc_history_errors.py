"""Hostile or broken input around DVC's history, `.dvc` files and `artifacts:`: one line naming
the file and the field, never a traceback; nothing the repository's git config names is run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from auditor.ingest.dvc.reader import read
from tests.conftest import CliRunner
from tests.ingest.dvc_history import DATES, History, at, git_at, history
from tests.ingest.test_dvc import only


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> History:
    return history(tmp_path_factory)


@pytest.fixture
def work(built: History, tmp_path: Path) -> Path:
    target = tmp_path / "churn"
    shutil.copytree(built.project, target, symlinks=True)
    return target


def refused(cli: CliRunner, source: Path, tmp_path: Path) -> str:
    done = cli("ingest", "dvc", str(source), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    runs = tmp_path / "store" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
    return done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(outs="raw.csv"), "outs: expected a list, found text"),
        (lambda d: d.pop("outs"), "outs: missing: a .dvc file tracks at least one output"),
        (lambda d: d["outs"][0].update(md5="xyz"), "outs[0].md5: 'xyz' is not an MD5"),
    ],
)
def test_a_broken_dvc_file_is_named_with_its_field(
    cli: CliRunner, work: Path, tmp_path: Path, change: object, message: str
) -> None:
    path = work / "data" / "raw.csv.dvc"
    data = yaml.safe_load(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data))
    assert f"{path}: {message}" in refused(cli, work, tmp_path)


def test_a_broken_import_and_artifact_are_named(cli: CliRunner, work: Path, tmp_path: Path) -> None:
    path = work / "data" / "labels.csv.dvc"
    data = yaml.safe_load(path.read_text())
    del data["deps"][0]["repo"]["url"]
    path.write_text(yaml.safe_dump(data))
    assert f"{path}: deps[0].repo.url: missing" in refused(cli, work, tmp_path)
    data["deps"][0]["repo"]["url"] = "https://example.com/r.git"
    path.write_text(yaml.safe_dump(data))
    pipeline = work / "dvc.yaml"
    pipeline.write_text(pipeline.read_text().replace("    path: model.json\n", "    path: [model.json]\n"))
    assert f"{pipeline}: artifacts.churn-model.path: missing or not a path" in refused(cli, work, tmp_path)


def test_git_log_never_runs_the_repositorys_gpg_program(work: Path, tmp_path: Path) -> None:
    """`log.showSignature` makes `git log` run `gpg.program` on every signed commit: a command the
    (untrusted) repository's config names."""
    marker = tmp_path / "ran"
    program = tmp_path / "gpg"
    program.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    program.chmod(0o755)
    head = git_at(work, DATES["retrain"], "cat-file", "commit", "HEAD")
    signature = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n"
    header, _, message = head.partition("\n\n")
    signed = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=work,
        input=f"{header}\n{signature}\n{message}\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git_at(work, DATES["retrain"], "update-ref", "refs/heads/main", signed)
    git_at(work, DATES["retrain"], "config", "log.showSignature", "true")
    git_at(work, DATES["retrain"], "config", "gpg.program", str(program))
    git_at(work, DATES["retrain"], "log", "-1", "--format=%H", "--", "dvc.lock")
    assert marker.exists()  # plain git runs it: the test's repository is hostile indeed
    marker.unlink()
    run = only(read(work))
    assert not marker.exists()
    assert run.time_basis == "git_commit" and run.ended_at == at(DATES["retrain"])


def test_a_dvc_project_in_a_folder_of_a_bigger_repository(built: History, tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    shutil.copytree(built.project, mono / "ml" / "churn", ignore=shutil.ignore_patterns(".git"))
    git_at(mono, DATES["add"], "init", "-q", "-b", "main")
    git_at(mono, "2022-07-01T12:00:00+00:00", "add", "-A")
    git_at(mono, "2022-07-01T12:00:00+00:00", "commit", "-q", "-m", "monorepo")
    run = only(read(mono / "ml" / "churn"))
    assert run.time_basis == "git_commit"
    assert run.started_at == run.ended_at == at("2022-07-01T12:00:00+00:00")
    assert run.time_note is not None and "ml/churn" not in run.time_note  # labels stay project-relative


def test_no_git_program_falls_back_to_labelled_file_times(built: History, tmp_path: Path) -> None:
    work = tmp_path / "churn"
    shutil.copytree(built.project, work, symlinks=True)
    env = dict(os.environ)
    os.environ["PATH"] = str(tmp_path / "empty")
    try:
        run = only(read(work))
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert run.time_basis == "file_mtime"
    assert run.time_note is not None and "no git program found" in run.time_note


def test_a_symlinked_dvc_file_is_not_read(work: Path) -> None:
    outside = work.parent / "elsewhere.dvc"
    outside.write_text("outs:\n- path: secret\n  md5: 0123456789abcdef0123456789abcdef\n")
    (work / "data" / "linked.dvc").symlink_to(outside)
    run = only(read(work))
    assert "data/linked.dvc is a symlink: not read" in run.notes
    assert "data/linked.dvc" not in {s.name for s in run.steps}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository to another user")
def test_a_repository_another_user_owns_says_why_git_refused_it(work: Path) -> None:
    subprocess.run(["chown", "-R", "nobody", str(work)], check=True, timeout=60)
    run = only(read(work))
    assert run.time_basis == "file_mtime"
    assert run.time_note is not None and "git refused it: detected dubious ownership" in run.time_note
    assert any(n.startswith("source: git refused it (detected dubious ownership") for n in run.notes)
