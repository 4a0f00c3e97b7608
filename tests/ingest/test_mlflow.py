"""Reading MLflow stores that real MLflow 2 and 3 wrote, compared with what MLflow's own client reports."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.ingest.ingested import Ingested, build_record
from auditor.ingest.mlflow import reader as mlflow
from auditor.ingest.store import commit
from auditor.record.base import Missing
from auditor.record.lineage import ContentHash, IdentityHint
from auditor.record.model_card import InspectedModel
from auditor.record.models import DeclaredRequirements, ReportedSource
from auditor.store.runs import RunStore
from tests.ingest.conftest import tool_python

PRODUCER = Path(__file__).parent / "mlflow_producer.py"
BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "ingest_speed.py"
KINDS = ("v2-files", "v3-files", "v3-sqlite")


@dataclass(frozen=True)
class Store:
    kind: str
    source: str  # what a user passes to `auditor ingest mlflow`
    root: Path  # the mlruns folder, or the folder of mlflow.db
    client: dict[str, Any]  # what MLflow's client reported (mlflow_producer.py's dump)

    def run(self, name: str) -> dict[str, Any]:
        return next(r for r in self.client["runs"] if r["run_name"] == name)


_made: dict[str, dict[str, Store]] = {}


def make_stores(base: Path) -> dict[str, Store]:
    """Run the producer in the three setups at once (each takes 10-20 s, mostly imports)."""
    plan = {
        "v2-files": ("mlflow2", lambda w: f"file://{w}/mlruns", {}),
        "v3-files": ("mlflow3", lambda w: f"file://{w}/mlruns", {"MLFLOW_ALLOW_FILE_STORE": "true"}),
        "v3-sqlite": ("mlflow3", lambda w: f"sqlite:///{w}/mlflow.db", {}),
    }
    started = {}
    for kind, (tool, uri, extra) in plan.items():
        work = base / kind
        work.mkdir(parents=True)
        script = shutil.copy(PRODUCER, work / "producer.py")  # outside any git repository: no automatic git tags
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "USER": "analyst", **extra}
        env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}
        argv = [str(tool_python(tool)), str(script), uri(work), str(work), str(work / "client.json")]
        started[kind] = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stores = {}
    for kind, process in started.items():
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-3000:]
        work = base / kind
        client = json.loads((work / "client.json").read_text())
        source = f"sqlite:///{work}/mlflow.db" if kind == "v3-sqlite" else str(work / "mlruns")
        stores[kind] = Store(kind, source, work if kind == "v3-sqlite" else work / "mlruns", client)
    return stores


def shared_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    """Made once per test session, for every test_mlflow*.py module."""
    if "made" not in _made:
        _made["made"] = make_stores(tmp_path_factory.mktemp("mlflow"))
    return _made["made"]


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    return shared_stores(tmp_path_factory)


def by_run(runs: list[Ingested]) -> dict[str, Ingested]:
    return {r.source_run_id or "": r for r in runs}


@pytest.mark.parametrize("kind", KINDS)
def test_runs_match_mlflows_own_client(stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    runs = by_run(mlflow.read(store.source))
    assert set(runs) == {r["run_id"] for r in store.client["runs"]}
    for expected in store.client["runs"]:
        got = runs[expected["run_id"]]
        assert got.params == expected["params"]
        assert got.tags == expected["tags"]  # every tag, none dropped
        assert got.name == expected["run_name"] and got.project == "credit-scoring"
        assert got.user == expected["tags"]["mlflow.user"] == "analyst"
        assert int(got.started_at.timestamp() * 1000) == expected["start_time"]
        assert int(got.ended_at.timestamp() * 1000) == expected["end_time"]
        latest = {m.name: m.value for m in got.metrics}  # the last value per name, as auditor reads it
        assert latest == expected["metrics"]
        for key, history in expected["history"].items():
            mine = [(m.value, m.step, int(m.logged_at.timestamp() * 1000)) for m in got.metrics if m.name == key]
            assert sorted(mine) == sorted(tuple(h) for h in history)
        digests = {(d.annotations["name"], d.annotations["digest"]) for d in got.datasets if d.role == "input"}
        assert digests == {(d["name"], d["digest"]) for d in expected["datasets"]}
        assert got.source_uri == store.source and got.tool == "MLflow"
    statuses = {r["run_name"]: runs[r["run_id"]].status for r in store.client["runs"]}
    assert statuses == {"train-logreg": "succeeded", "broken": "failed"}


@pytest.mark.parametrize("kind", KINDS)
def test_datasets_are_identity_hints_with_schema_and_context(stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    run = by_run(mlflow.read(store.source))[store.run("train-logreg")["run_id"]]
    inputs = {d.annotations["name"]: d for d in run.datasets if d.role == "input"}
    train, evaluation = inputs["credit-train"], inputs["credit-eval"]
    assert isinstance(train.before, IdentityHint) and train.before.algorithm == "mlflow-dataset-digest"
    assert train.before.value == train.annotations["digest"] and train.after is None
    assert [(c.name, c.type) for c in train.columns] == [("income", "double"), ("age", "long"), ("default", "long")]
    assert train.annotations["context"] == "training" and evaluation.annotations["context"] == "evaluation"
    assert train.annotations["source_type"] == "local"
    work = store.root if kind == "v3-sqlite" else store.root.parent
    assert train.uri == str(work / "data" / "train.csv")
    assert evaluation.uri == "https://data.example.com/credit/eval.csv"  # the reader's password is gone
    assert evaluation.datasheet.source == "http: https://data.example.com/credit/eval.csv"
    assert any("credentials removed" in n for n in run.notes)
    assert all(d.id.replace("-", "").replace(".", "").isalnum() for d in run.datasets)


@pytest.mark.parametrize("kind", KINDS)
def test_models_and_declared_environment(stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    expected = store.run("train-logreg")
    run = by_run(mlflow.read(store.source))[expected["run_id"]]
    (model,) = run.models
    assert isinstance(model.after, ContentHash) and model.after.kind == "tree"
    files = {f.path: f.sha256 for f in model.after.files}
    assert {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"} <= set(files)
    folder = store.root / model.path
    assert files["MLmodel"] == hashlib.sha256((folder / "MLmodel").read_bytes()).hexdigest()
    assert model.annotations["flavors"] == "python_function, sklearn"
    assert model.annotations["mlflow_version"] == store.client["mlflow_version"] == run.tool_version
    assert model.annotations["signature"] == "yes"
    assert model.annotations["serialization"] == ("skops" if kind.startswith("v3") else "cloudpickle")
    inspected = run.inspected_models[model.id]  # the model card's evidence, read without executing the file
    if kind.startswith("v3"):
        assert isinstance(inspected, Missing) and "zip archive" in inspected.reason
    else:
        assert isinstance(inspected, InspectedModel) and inspected.class_name == "LogisticRegression"
        assert inspected.library == "scikit-learn" and inspected.library_version == "1.9.1"
    if kind.startswith("v3"):
        (logged,) = store.client["models"]
        assert model.id == logged["model_id"] and "/models/" in f"/{model.path}"
    else:
        assert model.path.endswith("/artifacts/model")
    assert isinstance(run.declared, DeclaredRequirements)
    names = [Path(f.path).name for f in run.declared.files]
    assert names == ["requirements.txt", "conda.yaml", "python_env.yaml"]
    pins = {p.name: p.version for p in run.declared.files[0].pins}
    assert pins["scikit-learn"] == "1.9.1" and pins["mlflow"] == store.client["mlflow_version"]
    assert all(not f.problems for f in run.declared.files)
    broken = by_run(mlflow.read(store.source))[store.run("broken")["run_id"]]
    assert broken.models == () and broken.declared is None


@pytest.mark.parametrize("kind", KINDS)
def test_other_artifacts_are_hashed_outputs(stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    run = by_run(mlflow.read(store.source))[store.run("train-logreg")["run_id"]]
    outputs = {d.annotations["artifact"]: d for d in run.datasets if d.role == "output"}
    assert set(outputs) == {"report.txt", "plots"}
    report = outputs["report.txt"]
    assert isinstance(report.after, ContentHash) and report.after.kind == "file"
    expected = hashlib.sha256(b"accuracy on the training set\n").hexdigest()
    assert report.after.sha256 == expected == hashlib.sha256((store.root / str(report.path)).read_bytes()).hexdigest()
    plots = outputs["plots"].after
    assert isinstance(plots, ContentHash) and sorted(f.path for f in plots.files) == ["pr.csv", "roc.csv"]


@pytest.mark.parametrize("kind", KINDS)
def test_source_and_record(stores: dict[str, Store], kind: str, tmp_path: Path) -> None:
    store = stores[kind]
    runs = by_run(mlflow.read(store.source))
    run = runs[store.run("train-logreg")["run_id"]]
    assert isinstance(run.source, ReportedSource)
    assert run.source.commit == "3f2c1e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"
    assert run.source.repo_url == "https://github.com/acme/credit.git"  # the CI token is gone
    assert run.source.path is not None and run.source.path.endswith("producer.py")
    target = RunStore.create(tmp_path / "store")
    for each in runs.values():
        record = build_record(each)
        commit(target, record)
        assert isinstance(record.hardware.cpu, Missing) and record.identity.exit_code is None
    dumped = json.dumps([r.model_dump(mode="json") for r in target.iter_records()])
    assert "ghp_" not in dumped and "s3cr3t" not in dumped


@pytest.mark.parametrize("kind", KINDS)
def test_one_run_or_one_experiment(stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    wanted = store.run("broken")["run_id"]
    (only,) = mlflow.read(store.source, run_id=wanted)
    assert only.source_run_id == wanted and only.status == "failed"
    assert len(mlflow.read(store.source, experiment="credit-scoring")) == 2
    assert len(mlflow.read(store.source, experiment=store.client["experiment_id"])) == 2
    assert mlflow.read(store.source, experiment="Default") == []


def test_version_is_what_the_store_reveals(stores: dict[str, Store]) -> None:
    for kind in ("v3-files", "v3-sqlite"):
        broken = by_run(mlflow.read(stores[kind].source))[stores[kind].run("broken")["run_id"]]
        assert broken.tool_version == "3.x"  # no model, so no exact version: the layout says MLflow 3
    sqlite = mlflow.read(stores["v3-sqlite"].source)[0]
    assert any("alembic revision" in n for n in sqlite.notes)


def test_sources_given_as_uris_folders_and_files(stores: dict[str, Store]) -> None:
    v2, v3 = stores["v2-files"], stores["v3-sqlite"]
    ids = {r.source_run_id for r in mlflow.read(v2.source)}
    assert {r.source_run_id for r in mlflow.read(f"file://{v2.root}")} == ids
    assert {r.source_run_id for r in mlflow.read(str(v2.root.parent))} == ids  # the folder holding mlruns/
    sqlite_ids = {r.source_run_id for r in mlflow.read(v3.source)}
    assert {r.source_run_id for r in mlflow.read(str(v3.root / "mlflow.db"))} == sqlite_ids
    assert {r.source_run_id for r in mlflow.read(str(v3.root))} == sqlite_ids  # the folder holding mlflow.db


CLIENT = """
import json, sys
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
runs = client.search_runs([sys.argv[2]])
print(json.dumps({r.info.run_id: [r.data.params, r.data.metrics, r.data.tags, r.info.status] for r in runs}))
"""


@pytest.mark.parametrize("tool", ["mlflow2", "mlflow3"])
def test_the_benchmarks_store_is_what_mlflow_reads(tmp_path: Path, tool: str) -> None:
    """benchmarks/ingest_speed.py writes the file store itself, for speed: MLflow must read it as its own."""
    spec = importlib.util.spec_from_file_location("ingest_speed", BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_store(tmp_path / "mlruns", 3, 4, 5, 2)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "MLFLOW_ALLOW_FILE_STORE": "true"}
    argv = [str(tool_python(tool)), "-c", CLIENT, f"file://{tmp_path}/mlruns", bench.EXPERIMENT]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    client = json.loads(done.stdout)
    mine = {r.source_run_id: r for r in mlflow.read(str(tmp_path / "mlruns"))}
    assert set(mine) == set(client) and len(client) == 3
    for run_id, (params, metrics, tags, status) in client.items():
        assert mine[run_id].params == params and mine[run_id].tags == tags and status == "FINISHED"
        assert {m.name: m.value for m in mine[run_id].metrics} == metrics
