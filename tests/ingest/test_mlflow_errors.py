"""Corrupt, partial and hostile MLflow stores: a clear error naming the file and the field, or a note."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.errors import IngestError
from auditor.ingest.mlflow import reader as mlflow
from auditor.record.base import Missing
from tests.ingest.test_mlflow import Store, shared_stores

Edit = Callable[[Path], object]


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    return shared_stores(tmp_path_factory)


def copy(store: Store, tmp_path: Path) -> Path:
    """A private copy of a store; for SQLite, the folder with mlflow.db and its artifacts."""
    target = tmp_path / ("store" if store.kind == "v3-sqlite" else "mlruns")
    shutil.copytree(store.root, target, symlinks=True)
    return target


def run_folder(root: Path, store: Store, name: str = "train-logreg") -> Path:
    return root / store.client["experiment_id"] / store.run(name)["run_id"]


def _link(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)


def failure(source: Path | str, **kwargs: str) -> str:
    with pytest.raises(IngestError) as caught:
        mlflow.read(str(source), **kwargs)
    return caught.value.message


@pytest.mark.parametrize(
    ("edit", "where", "field"),
    [
        (lambda run: (run / "meta.yaml").unlink(), "meta.yaml", "missing"),
        (lambda run: (run / "meta.yaml").write_text("status: [3\n"), "meta.yaml", "not valid YAML"),
        (lambda run: (run / "meta.yaml").write_text("- a list\n"), "meta.yaml", "expected a YAML mapping"),
        (lambda run: (run / "metrics" / "loss").write_text("1700000000000 high 0\n"), "metrics/loss", "line 1"),
        (lambda run: (run / "metrics" / "loss").write_text("1700000000000 0.5\nnot-a-time 0.4 1\n"), "loss", "line 2"),
        (lambda run: (run / "metrics" / "auc").write_text("only-one-field\n"), "metrics/auc", "timestamp value"),
        (lambda run: (run / "params" / "C").write_bytes(b"\xff\xfe"), "params/C", "params.C: not UTF-8"),
        (lambda run: _link(run / "tags" / "team", Path("/etc/hostname")), "tags/team", "symbolic link"),
    ],
)
def test_broken_run_files(stores: dict[str, Store], tmp_path: Path, edit: Edit, where: str, field: str) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    run = run_folder(root, store)
    edit(run)
    message = failure(root)
    assert where in message and field in message, message
    assert str(root) in message  # the file is named with its full path


def test_status_and_ids_are_checked(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v3-files"]
    root = copy(store, tmp_path)
    meta = run_folder(root, store) / "meta.yaml"
    text = meta.read_text()
    meta.write_text(text.replace("status: 3", "status: 9"))
    assert "status: unknown run status 9" in failure(root)
    meta.write_text(text.replace(f"run_id: {store.run('train-logreg')['run_id']}", "run_id: somebody-else"))
    assert "run_id: 'somebody-else' does not match" in failure(root)


def test_missing_experiment_meta_and_dangling_links(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v3-files"]
    root = copy(store, tmp_path)
    experiment = root / store.client["experiment_id"]
    shutil.rmtree(experiment / "datasets")
    message = failure(root)
    assert "inputs" in message and "source_id: names dataset" in message
    shutil.rmtree(experiment / "models")
    (experiment / "datasets").mkdir()
    root2 = copy(store, tmp_path / "second")
    shutil.rmtree(root2 / store.client["experiment_id"] / "models")
    assert "destination_id: names model" in failure(root2)
    (root2 / store.client["experiment_id"] / "meta.yaml").unlink()
    message = failure(root2)
    assert f"{root2 / store.client['experiment_id'] / 'meta.yaml'}: missing" in message


def test_unknown_run_and_experiment(stores: dict[str, Store]) -> None:
    for store in stores.values():
        assert "run_id: no run 'f00d' in the store" in failure(store.source, run_id="f00d")
        assert "experiment: no experiment named 'nope'" in failure(store.source, experiment="nope")


def test_unreadable_sqlite(stores: dict[str, Store], tmp_path: Path) -> None:
    db = copy(stores["v3-sqlite"], tmp_path) / "mlflow.db"
    data = db.read_bytes()
    db.write_bytes(data[:100] + b"\x00" * 4000)  # the header survives, the pages do not
    message = failure(db)
    assert str(db) in message and "SQLite" in message
    db.write_bytes(b"not a database at all, just text\n" * 10)
    assert "neither an mlruns folder nor an SQLite database" in failure(db)
    db.unlink()
    sqlite3.connect(db).execute("CREATE TABLE unrelated (x)").connection.commit()
    assert "table experiments: missing: not an MLflow tracking database" in failure(f"sqlite:///{db}")


def test_hostile_sqlite_values(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v3-sqlite"]
    db = copy(store, tmp_path) / "mlflow.db"
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE metrics SET value = 'lots' WHERE key = 'auc'")
    message = failure(db)
    assert "table metrics" in message and "auc" in message and "'lots' is not a number" in message
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE metrics SET value = 0.9 WHERE key = 'auc'")
        connection.execute("PRAGMA ignore_check_constraints = ON")  # MLflow's own checks do not bind a hostile file
        connection.execute("UPDATE runs SET status = 'EXPLODED'")
    assert "unknown run status 'EXPLODED'" in failure(db)


def test_running_run_and_nan_metric(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    run = run_folder(root, store)
    meta = run / "meta.yaml"
    meta.write_text(meta.read_text().replace("status: 3", "status: 1"))
    with (run / "metrics" / "loss").open("a") as handle:
        handle.write("1800000000000 nan 6\n")
    (got,) = mlflow.read(str(root), run_id=run.name)
    assert got.status == "unfinished" and got.exit_code is None and got.ended_at is None and got.error is None
    assert any("never ended" in n and "recorded as unfinished" in n for n in got.notes)
    assert "metric 'loss': 1 value(s) a record cannot hold left out (nan at step 6)" in got.notes
    assert [m.step for m in got.metrics if m.name == "loss"] == [0, 1, 2, 3, 4, 5]


def test_symlinks_out_of_the_store_are_not_followed(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    run = run_folder(root, store)
    secret = tmp_path / "outside.txt"
    secret.write_text("not for the auditor\n")
    (run / "artifacts" / "plots" / "leak.csv").symlink_to(secret)
    (run / "artifacts" / "model" / "extra.bin").symlink_to(secret)
    (got,) = mlflow.read(str(root), run_id=run.name)
    plots = next(d for d in got.datasets if d.annotations.get("artifact") == "plots")
    assert isinstance(plots.after, Missing) and "symbolic link" in plots.after.reason
    (model,) = got.models
    assert isinstance(model.after, Missing)
    assert sum("not followed" in n for n in got.notes) == 2


def test_artifacts_elsewhere_are_reported_not_read(stores: dict[str, Store], tmp_path: Path) -> None:
    store = stores["v2-files"]
    root = copy(store, tmp_path)
    run = run_folder(root, store)
    shutil.rmtree(run / "artifacts")
    meta = run / "meta.yaml"
    lines = [ln for ln in meta.read_text().splitlines() if not ln.startswith("artifact_uri:")]
    meta.write_text("\n".join([*lines, "artifact_uri: s3://bucket/path?X-Amz-Signature=abc123secret"]) + "\n")
    (got,) = mlflow.read(str(root), run_id=run.name)
    assert got.models == () and got.declared is None
    assert any("only local artifact stores are read" in n for n in got.notes)
    meta.write_text("\n".join([*lines, f"artifact_uri: file://{tmp_path}"]) + "\n")  # a folder outside the store
    (got,) = mlflow.read(str(root), run_id=run.name)
    assert [d for d in got.datasets if d.role == "output"] == []
    assert any("outside the MLflow store" in n for n in got.notes)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("s3://bucket/mlruns", "or a tracking server's http(s):// URL"),  # servers: test_mlflow_rest*.py
        ("sqlite://relative.db", "expected sqlite:///"),
        ("file://otherhost/mlruns", "only local file: URIs"),
        ("/nonexistent/mlruns", "no such file or folder"),
    ],
)
def test_sources_that_are_not_local_stores(source: str, problem: str) -> None:
    assert problem in failure(source)


def test_an_empty_folder_is_not_a_store(tmp_path: Path) -> None:
    assert "no MLflow store here" in failure(tmp_path)


@pytest.mark.parametrize("kind", ["v3-files", "v3-sqlite"])
def test_deleted_runs_are_skipped_unless_named(stores: dict[str, Store], tmp_path: Path, kind: str) -> None:
    store = stores[kind]
    root = copy(store, tmp_path)
    gone = store.run("broken")["run_id"]
    if kind == "v3-sqlite":
        source = root / "mlflow.db"
        with sqlite3.connect(source) as connection:
            connection.execute("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", (gone,))
    else:
        source = root
        meta = run_folder(root, store, "broken") / "meta.yaml"
        meta.write_text(meta.read_text().replace("lifecycle_stage: active", "lifecycle_stage: deleted"))
    assert [r.source_run_id for r in mlflow.read(str(source))] == [store.run("train-logreg")["run_id"]]
    (named,) = mlflow.read(str(source), run_id=gone)
    assert "MLflow marks this run as deleted" in named.notes


def test_an_experiment_folder_is_not_the_store(stores: dict[str, Store]) -> None:
    store = stores["v2-files"]
    assert "name the mlruns folder" in failure(store.root / store.client["experiment_id"])
