"""Reading a real MLflow 3 tracking server through its REST API, compared with what MLflow's own
client (MlflowClient, over the same server) reports; and the model's declared requirements read
alike by all three readers (server, file store, SQLite store)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.ingest.ingested import Ingested
from auditor.ingest.mlflow import reader, rest, rest_artifacts, rest_runs
from auditor.record.base import Missing
from auditor.record.lineage import ContentHash
from auditor.record.models import DeclaredRequirements
from tests.ingest.mlflow_server import Served, shared_served, stop_served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield shared_served(tmp_path_factory)
    stop_served()


def by_run(runs: list[Ingested]) -> dict[str, Ingested]:
    return {r.source_run_id or "": r for r in runs}


def test_runs_match_mlflows_own_client(served: Served) -> None:
    runs = by_run(reader.read(served.server.url))
    assert set(runs) == {r["run_id"] for r in served.active}  # the deleted run is left out
    for expected in served.active:
        got = runs[expected["run_id"]]
        assert got.params == expected["params"] and got.tags == expected["tags"]
        assert got.name == expected["run_name"] and got.project == expected["experiment"]
        assert got.user == expected["tags"].get("mlflow.user", expected["user_id"])
        assert int(got.started_at.timestamp() * 1000) == expected["start_time"]
        assert {m.name: m.value for m in got.metrics} == expected["metrics"]  # the last value of each
        for key, history in expected["history"].items():
            mine = [(m.value, m.step, int(m.logged_at.timestamp() * 1000)) for m in got.metrics if m.name == key]
            assert sorted(mine) == sorted(tuple(h) for h in history)
        digests = {(d.annotations["name"], d.annotations["digest"]) for d in got.datasets if d.role == "input"}
        assert digests == {(d["name"], d["digest"]) for d in expected["datasets"]}
        assert [m.id for m in got.models] == expected["model_ids"]
        outputs = {d.annotations["artifact"] for d in got.datasets if d.role == "output"}
        assert outputs == set(expected["artifacts"])
        assert got.source_uri == served.server.url and got.tool == "MLflow"
        if expected["status"] == "RUNNING":
            assert got.status == "unfinished" and got.ended_at is None
            assert any("never ended" in n for n in got.notes)
        else:
            assert int(got.ended_at.timestamp() * 1000) == expected["end_time"]  # type: ignore[union-attr]
    statuses = {r["run_name"]: runs[r["run_id"]].status for r in served.active if r["experiment"] != "sweep"}
    assert statuses == {
        "train-logreg": "succeeded",
        "broken": "failed",
        "pinned-env": "succeeded",
        "still-running": "unfinished",
    }
    train = runs[served.run("train-logreg")["run_id"]]
    evaluation = next(d for d in train.datasets if d.annotations.get("name") == "credit-eval")
    assert evaluation.uri == "https://data.example.com/credit/eval.csv"  # the reader's password is gone
    assert train.tool_version == served.client["mlflow_version"]


def test_deleted_run_only_when_named(served: Served) -> None:
    deleted = served.run("deleted")
    (got,) = reader.read(served.server.url, run_id=deleted["run_id"])
    assert got.params == deleted["params"] and "MLflow marks this run as deleted" in got.notes
    with pytest.raises(Exception, match="is not in experiment 'sweep'"):
        reader.read(served.server.url, run_id=deleted["run_id"], experiment="sweep")


def test_every_page_of_runs_is_read(served: Served) -> None:
    sweep = {r["run_id"] for r in served.active if r["experiment"] == "sweep"}
    assert len(sweep) == 12
    small = by_run(rest.read_server(served.server.url, reader.ingested, experiment="sweep", page_size=5))  # three pages
    assert set(small) == sweep
    assert set(by_run(reader.read(served.server.url, experiment="sweep"))) == sweep  # one page
    for run in small.values():
        assert [m.step for m in run.metrics] == [0, 1, 2] and run.tags["sweep"] == "grid"


def test_files_are_downloaded_and_hashed(served: Served) -> None:
    expected = served.run("train-logreg")
    run = by_run(reader.read(served.server.url, run_id=expected["run_id"]))[expected["run_id"]]
    stored = served.server.root / "artifacts" / "1"  # --artifacts-destination: <experiment id>/...
    outputs = {d.annotations["artifact"]: d for d in run.datasets if d.role == "output"}
    report = outputs["report.txt"].after
    assert isinstance(report, ContentHash) and outputs["report.txt"].path == "artifacts/report.txt"
    on_server = (stored / expected["run_id"] / "artifacts" / "report.txt").read_bytes()
    assert report.sha256 == hashlib.sha256(on_server).hexdigest()
    plots = outputs["plots"].after
    assert isinstance(plots, ContentHash) and sorted(f.path for f in plots.files) == ["pr.csv", "roc.csv"]
    (model,) = run.models
    assert isinstance(model.after, ContentHash) and model.after.kind == "tree"
    files = {f.path: f.sha256 for f in model.after.files}
    mlmodel = stored / "models" / model.id / "artifacts" / "MLmodel"
    assert files["MLmodel"] == hashlib.sha256(mlmodel.read_bytes()).hexdigest()
    assert model.annotations["flavors"] == "python_function, sklearn" and model.annotations["signature"] == "yes"
    assert model.path == f"models/{model.id}/artifacts"
    inspected = run.inspected_models[model.id]
    assert isinstance(inspected, Missing) and "zip archive" in inspected.reason  # skops: reported, not read


@pytest.mark.parametrize("kind", ["server", "files", "sqlite"])
def test_declared_requirements_of_a_logged_model(served: Served, kind: str) -> None:
    """pip_requirements=["jinja2==2.10"]: the declared environment the vulnerability rules read."""
    if kind == "server":
        source, dump = served.server.url, served.client
    else:
        source, dump = served.local[kind]
    expected = next(r for r in dump["runs"] if r["run_name"] == "pinned-env")
    run = by_run(reader.read(source, run_id=expected["run_id"]))[expected["run_id"]]
    assert isinstance(run.declared, DeclaredRequirements)
    (model,) = run.models
    by_name = {Path(f.path).name: f for f in run.declared.files}
    assert list(by_name) == ["requirements.txt", "conda.yaml", "python_env.yaml"]
    for name, file in by_name.items():
        assert file.path.endswith(f"models/{model.id}/artifacts/{name}")  # names the artifact
        assert not file.problems
    if kind == "server":
        assert by_name["requirements.txt"].path == f"models/{model.id}/artifacts/requirements.txt"
    for name in ("requirements.txt", "conda.yaml"):
        pins = {p.name: p.version for p in by_name[name].pins}
        assert pins["jinja2"] == "2.10", name
    text = f"models/{model.id}/artifacts/requirements.txt"
    assert by_name["requirements.txt"].sha256 == _server_sha(served, expected, text) if kind == "server" else True


def _server_sha(served: Served, run: dict[str, Any], path: str) -> str:
    stored = served.server.root / "artifacts" / "1" / path
    return hashlib.sha256(stored.read_bytes()).hexdigest()


def test_experiment_and_run_options(served: Served) -> None:
    with pytest.raises(Exception, match="no experiment named 'nope' on the server"):
        reader.read(served.server.url, experiment="nope")
    with pytest.raises(Exception, match="no run 'f00' on the server"):
        reader.read(served.server.url, run_id="f00")
    runs = reader.read(served.server.url, experiment="credit-scoring")
    assert {r.name for r in runs} == {"train-logreg", "broken", "pinned-env", "still-running"}


def test_a_copy_of_the_server_store_reads_the_same_through_sqlite(served: Served, tmp_path: Path) -> None:
    """The server's own SQLite database, read directly, gives the same params, tags and metrics."""
    copy = tmp_path / "mlflow.db"
    shutil.copy(served.server.root / "mlflow.db", copy)
    direct = by_run(reader.read(f"sqlite:///{copy}"))
    remote = by_run(reader.read(served.server.url))
    assert set(direct) == set(remote)
    for run_id, got in remote.items():
        assert got.params == direct[run_id].params and got.tags == direct[run_id].tags
        assert sorted((m.name, m.step, m.value) for m in got.metrics) == sorted(
            (m.name, m.step, m.value) for m in direct[run_id].metrics
        )
        assert got.status == direct[run_id].status and got.started_at == direct[run_id].started_at


def test_files_over_the_download_limit_are_recorded_unhashed(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's downloads stop at the limit; what holds a file not downloaded is not hashed, saying why."""
    monkeypatch.setattr(rest_artifacts, "MAX_RUN_BYTES", 50)
    expected = served.run("train-logreg")
    (run,) = reader.read(served.server.url, run_id=expected["run_id"])
    outputs = {d.annotations["artifact"]: d.after for d in run.datasets if d.role == "output"}
    assert isinstance(outputs["report.txt"], ContentHash)  # 29 bytes: read first
    assert isinstance(outputs["plots"], Missing) and "not downloaded" in outputs["plots"].reason
    (model,) = run.models
    assert isinstance(model.after, Missing) and "MLmodel not downloaded" in model.after.reason
    assert isinstance(run.declared, DeclaredRequirements)  # the environment files are named, unread
    assert {Path(f.path).name for f in run.declared.files} == {"requirements.txt", "conda.yaml", "python_env.yaml"}
    assert all(f.sha256 is None and "not downloaded" in f.problems[0] for f in run.declared.files)


@pytest.mark.parametrize("cut", [4, 3])
def test_histories_read_in_bulk_never_cut_short(served: Served, monkeypatch: pytest.MonkeyPatch, cut: int) -> None:
    """MLflow's bulk history endpoint silently stops at max_results: a batch that reaches it is
    split (4: down to single runs of 3 values), and a single run that reaches it is read by
    get-history's pages (3)."""
    monkeypatch.setattr(rest_runs, "BULK_MAX", cut)
    runs = rest.read_server(served.server.url, reader.ingested, experiment="sweep")
    expected = {r["run_id"]: r["history"]["loss"] for r in served.active if r["experiment"] == "sweep"}
    got = {r.source_run_id: [[m.value, m.step, int(m.logged_at.timestamp() * 1000)] for m in r.metrics] for r in runs}
    assert got == expected


def test_run_scoped_endpoints_give_the_same_files(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that does not keep the files itself is read through artifacts/list, get-artifact and
    logged-models/<id>/artifacts: the same files, the same hashes as through mlflow-artifacts."""
    expected = served.run("train-logreg")
    (direct,) = reader.read(served.server.url, run_id=expected["run_id"])
    monkeypatch.setattr(rest_artifacts, "_proxied", lambda server, uri: None)
    (scoped,) = reader.read(served.server.url, run_id=expected["run_id"])
    assert [(d.id, d.path) for d in scoped.datasets] == [(d.id, d.path) for d in direct.datasets]
    for mine, theirs in zip(scoped.datasets, direct.datasets, strict=True):
        if isinstance(mine.after, ContentHash):
            assert isinstance(theirs.after, ContentHash)
            assert [(f.path, f.sha256) for f in mine.after.files] == [(f.path, f.sha256) for f in theirs.after.files]
    (model,), (other,) = scoped.models, direct.models
    assert isinstance(model.after, ContentHash) and isinstance(other.after, ContentHash)
    assert [(f.path, f.sha256) for f in model.after.files] == [(f.path, f.sha256) for f in other.after.files]
    assert scoped.declared == direct.declared
