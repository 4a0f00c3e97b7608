"""Hostile sources: ingesting one must not run its code, follow its links out, hang on its FIFOs,
spend unbounded memory or time on it, nor drop what it says was logged."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from auditor.errors import EXIT_USAGE, IngestError
from auditor.ingest.dvc.pipeline import MAX_STAGES
from auditor.ingest.dvc.reader import read as read_dvc
from auditor.ingest.mlflow import reader as mlflow
from auditor.record.base import Missing
from tests.conftest import git
from tests.ingest.test_dvc import only
from tests.ingest.test_mlflow import Store, shared_stores
from tests.ingest.test_mlflow_errors import copy, failure, run_folder

DVC_YAML = """\
stages:
  train:
    cmd: python src/train.py
    deps:
    - src/train.py
    - lib
    - mixed
    - data/raw.csv
    - fit.R
    outs:
    - model.json
"""


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    return shared_stores(tmp_path_factory)


def dvc_repo(tmp_path: Path, dvc_yaml: str = DVC_YAML) -> Path:
    """A small DVC repository written by hand (never reproduced: no dvc.lock needed here)."""
    repo = tmp_path / "repo"
    for folder in ("src", "lib/__pycache__", "mixed", "data"):
        (repo / folder).mkdir(parents=True)
    (repo / "src" / "train.py").write_text("print('train')\n")
    (repo / "lib" / "util.py").write_text("X = 1\n")
    (repo / "lib" / "run.sh").write_text("echo hi\n")
    (repo / "lib" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0")
    (repo / "mixed" / "load.py").write_text("pass\n")
    (repo / "mixed" / "rows.csv").write_text("a\n1\n")
    (repo / "data" / "raw.csv").write_text("a\n1\n")
    (repo / "fit.R").write_text("1\n")
    (repo / "dvc.yaml").write_text(dvc_yaml)
    return repo


# 1. git runs no command the repository's config names


def test_ingest_dvc_runs_no_command_from_the_repositorys_git_config(tmp_path: Path) -> None:
    repo = dvc_repo(tmp_path)
    (repo / ".gitattributes").write_text("*.py filter=evil\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    head = git(repo, "rev-parse", "HEAD")
    fsmonitor, clean, process = (tmp_path / name for name in ("pwned-fsmonitor", "pwned-clean", "pwned-process"))
    git(repo, "config", "core.fsmonitor", f"touch {fsmonitor}")
    git(repo, "config", "filter.evil.clean", f"touch {clean}; cat")
    git(repo, "config", "filter.evil.required", "true")
    later = time.time_ns() + 5_000_000_000
    os.utime(repo / "src" / "train.py", ns=(later, later))  # stat-dirty: git status must look at its content
    run = only(read_dvc(repo))
    assert not fsmonitor.exists() and not clean.exists()
    assert run.source is not None and not isinstance(run.source, Missing)
    assert run.source.commit == head
    git(repo, "config", "filter.evil.process", f"touch {process}")
    (repo / "src" / "train.py").write_text("print('changed')\n")
    run = only(read_dvc(repo))
    assert not process.exists() and not fsmonitor.exists() and not clean.exists()
    (dirty,) = [n for n in run.notes if "uncommitted changes" in n]
    assert "filter drivers were not run" in dirty


def test_git_ignores_the_callers_git_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = dvc_repo(tmp_path)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))  # e.g. auditor started from a git hook elsewhere
    run = only(read_dvc(repo))
    assert run.source is not None and not isinstance(run.source, Missing)
    assert run.source.commit is not None and len(run.source.commit) == 40


# 2. no symbolic link to a folder is followed in an MLflow file store


def _swap_for_link(folder: Path, outside: Path) -> None:
    """Move the folder out of the store and leave a link to it: every file still reads the same."""
    shutil.move(folder, outside)
    folder.symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("v2-files", "params"),
        ("v2-files", "tags"),
        ("v2-files", "metrics"),
        ("v3-files", "inputs"),
        ("v3-files", "outputs"),
        ("v3-files", "../datasets"),
        ("v3-files", "../models"),
    ],
)
def test_a_linked_folder_in_the_store_is_refused(
    stores: dict[str, Store], tmp_path: Path, kind: str, where: str
) -> None:
    store = stores[kind]
    root = copy(store, tmp_path)
    folder = (run_folder(root, store) / where).resolve()
    _swap_for_link(folder, tmp_path / "elsewhere")
    message = failure(root)
    assert str(folder) in message and folder.name in message and "symbolic link" in message, message


def test_a_run_id_is_a_folder_name_not_a_path(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    outside = tmp_path / "outside" / "run"
    shutil.copytree(run_folder(root, store), outside)
    message = failure(root, run_id=f"../../outside/{outside.name}")
    assert "run_id: '../../outside/run' is not a run id" in message, message


# 3. a FIFO in the store does not hang the ingest


@pytest.mark.parametrize("where", ["params/C", "metrics/loss", "tags/team", "meta.yaml"])
def test_a_fifo_in_the_store_is_refused_not_waited_on(stores: dict[str, Store], tmp_path: Path, where: str) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    fifo = run_folder(root, store) / where
    fifo.unlink()
    os.mkfifo(fifo)
    caught: list[BaseException] = []

    def ingest() -> None:
        try:
            mlflow.read(str(root))
        except BaseException as exc:  # handed to the test's thread
            caught.append(exc)

    worker = threading.Thread(target=ingest, daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # open() waits for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=10)
        pytest.fail(f"ingest waited on the FIFO {fifo}")
    assert len(caught) == 1 and isinstance(caught[0], IngestError), caught
    assert str(fifo) in str(caught[0]) and "not a regular file" in str(caught[0])


# 4. YAML aliases cannot expand without bound in MLflow's files either


def alias_bomb(items: int = 1_000, references: int = 1_001) -> str:
    listed = ", ".join(["numpy==1.26.4"] * items)
    return f"name: env\nx: &pins [{listed}]\ndependencies:\n- &pip {{pip: *pins}}\n" + "- *pip\n" * references


@pytest.mark.parametrize("where", ["artifacts/model/conda.yaml", "meta.yaml"])
def test_yaml_aliases_that_expand_without_bound_are_refused(
    stores: dict[str, Store], tmp_path: Path, where: str
) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    target = run_folder(root, store) / where
    target.write_text(alias_bomb())
    with pytest.raises(IngestError) as caught:
        mlflow.read(str(root))
    assert str(target) in str(caught.value) and "expands to more than" in str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE == 2


# 5. foreach and matrix stages are bounded across the whole pipeline


def matrix_stages(count: int, side: int) -> str:
    axis = "[" + ", ".join(str(n) for n in range(side)) + "]"
    stages = [
        f"  s{n}:\n    matrix:\n      a: {axis}\n      b: {axis}\n    cmd: echo ${{item.a}} ${{item.b}}\n"
        for n in range(count)
    ]
    return "stages:\n" + "".join(stages)


def test_generated_stages_are_capped_across_stages(tmp_path: Path) -> None:
    repo = dvc_repo(tmp_path, matrix_stages(3, 100))  # 10,000 stages each: each alone was under the old cap
    with pytest.raises(IngestError) as caught:
        read_dvc(repo)
    assert str(caught.value).startswith(f"{repo / 'dvc.yaml'}: stages.s1: ")
    assert f"more than {MAX_STAGES} stages" in str(caught.value)


def test_generated_stages_are_capped_across_dvc_yaml_files(tmp_path: Path) -> None:
    repo = dvc_repo(tmp_path, matrix_stages(1, 80))  # 6,400 stages
    (repo / "sub").mkdir()
    (repo / "sub" / "dvc.yaml").write_text(matrix_stages(1, 80))
    with pytest.raises(IngestError, match=rf"^{repo / 'sub' / 'dvc.yaml'}: stages\.s0: .*more than {MAX_STAGES}"):
        read_dvc(repo)


def test_one_stage_over_the_cap_is_refused_not_cut_short(tmp_path: Path) -> None:
    items = "[" + ", ".join(f"v{n}" for n in range(MAX_STAGES + 1)) + "]"
    repo = dvc_repo(tmp_path, f"stages:\n  big:\n    foreach: {items}\n    do:\n      cmd: echo ${{item}}\n")
    with pytest.raises(IngestError, match=r"stages\.big: .*more than"):
        read_dvc(repo)


def test_a_pipeline_at_the_cap_is_read(tmp_path: Path) -> None:
    run = only(read_dvc(dvc_repo(tmp_path, matrix_stages(1, 100))))
    assert len(run.steps) == MAX_STAGES == 10_000


# 6. artifacts that are not where MLflow recorded them are reported, and their models kept


def moved_copy(store: Store, tmp_path: Path) -> Path:
    """A copy whose recorded locations name the copy: the original store's folders are not there."""
    root = copy(store, tmp_path)
    old, new = str(store.root), str(root)
    if store.kind == "v3-sqlite":
        with sqlite3.connect(root / "mlflow.db") as connection:
            connection.execute("UPDATE runs SET artifact_uri = replace(artifact_uri, ?, ?)", (old, new))
            connection.execute(
                "UPDATE logged_models SET artifact_location = replace(artifact_location, ?, ?)", (old, new)
            )
    for meta in root.glob("**/meta.yaml"):
        meta.write_text(meta.read_text().replace(old, new))
    return root


def test_missing_run_artifacts_are_a_note_and_a_missing_model(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = moved_copy(store, tmp_path)
    run = run_folder(root, store)
    shutil.rmtree(run / "artifacts")
    (got,) = mlflow.read(str(root), run_id=run.name)
    assert any("artifacts recorded at" in n and "were not found" in n for n in got.notes), got.notes
    (model,) = got.models  # named by the run's mlflow.log-model.history tag
    assert isinstance(model.after, Missing) and "were not found" in model.after.reason
    assert model.annotations["flavors"] == "python_function, sklearn"
    assert "mlflow.log-model.history" in model.annotations["mlmodel"]


def test_a_logged_model_missing_among_present_artifacts_is_kept(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    run = run_folder(root, store)
    shutil.rmtree(run / "artifacts" / "model")
    (got,) = mlflow.read(str(root), run_id=run.name)
    (model,) = got.models
    assert isinstance(model.after, Missing) and "'model' not found" in model.after.reason
    assert any("logged model 'model' is not among the run's artifacts" in n for n in got.notes)
    assert [d.annotations["artifact"] for d in got.datasets if d.role == "output"]  # the other artifacts stay


@pytest.mark.parametrize("kind", ["v3-files", "v3-sqlite"])
def test_a_logged_model_without_its_files_is_kept(stores: dict[str, Store], tmp_path: Path, kind: str) -> None:
    store = stores[kind]
    root = moved_copy(store, tmp_path)
    (artifacts,) = root.glob("**/models/m-*/artifacts")
    shutil.rmtree(artifacts)
    source = root / "mlflow.db" if kind == "v3-sqlite" else root
    got = next(r for r in mlflow.read(str(source)) if r.source_run_id == store.run("train-logreg")["run_id"])
    (model,) = got.models
    assert model.id == artifacts.parent.name
    assert isinstance(model.after, Missing) and "were not found" in model.after.reason
    assert any(f"logged model {artifacts.parent.name}: artifacts recorded at" in n for n in got.notes)


# 7. a stage's source code is marked as code, not documented as data


def test_code_dependencies_are_marked_as_code(tmp_path: Path) -> None:
    run = only(read_dvc(dvc_repo(tmp_path)))
    datasets = {d.path: d for d in run.datasets}
    for code in ("src/train.py", "lib", "fit.R"):
        assert datasets[code].annotations.get("dvc.kind") == "code", code
        assert datasets[code].datasheet.description == "source code dependency"
        assert datasets[code].role == "input"  # still in the step's lineage
    for data in ("data/raw.csv", "mixed", "model.json"):
        assert "dvc.kind" not in datasets[data].annotations, data
        assert datasets[data].datasheet.description is None
    (step,) = run.steps
    assert {datasets[p].id for p in ("src/train.py", "lib", "fit.R", "data/raw.csv")} <= set(step.inputs)
