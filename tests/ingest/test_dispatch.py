"""`auditor ingest` picks the reader from the source's shape; an explicit kind always wins."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from auditor.errors import UsageError
from auditor.ingest.registry import canonical, detect, read
from tests.conftest import CliRunner


def test_kinds_are_detected_from_the_shape_of_the_source(tmp_path: Path) -> None:
    mlruns = tmp_path / "mlruns" / "0"
    mlruns.mkdir(parents=True)
    (mlruns / "meta.yaml").write_text("name: Default\n")
    assert detect(str(tmp_path / "mlruns")) == "mlflow"
    assert detect(str(tmp_path)) == "mlflow"  # the folder holding mlruns/
    database = tmp_path / "mlflow.db"
    sqlite3.connect(database).execute("create table runs (run_uuid text)").connection.commit()
    assert detect(str(database)) == "mlflow"
    assert detect(f"sqlite:///{database}") == "mlflow"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "dvc.yaml").write_text("stages: {}\n")
    assert detect(str(repo)) == "dvc" and detect(str(repo / "dvc.yaml")) == "dvc"
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    assert detect(str(events)) == "openlineage"


def test_an_unknown_source_asks_for_the_kind(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(UsageError, match=r"cannot tell which tool recorded this; name it: auditor ingest mlflow\|dvc"):
        detect(str(tmp_path / "notes.txt"))
    with pytest.raises(UsageError, match="no such file or folder"):
        detect(str(tmp_path / "absent"))


def test_options_that_do_not_fit_the_kind_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--experiment is for MLflow stores only"):
        read("dvc", str(tmp_path), run_id=None, experiment="x", rehash=False)
    with pytest.raises(UsageError, match="--rehash is for DVC repositories only"):
        read("openlineage", str(tmp_path), run_id=None, experiment=None, rehash=True)


def test_an_explicit_kind_wins_over_detection(cli: CliRunner, tmp_path: Path) -> None:
    events = tmp_path / "mlruns.jsonl"  # would be detected as OpenLineage events
    events.write_text("{}\n")
    done = cli("ingest", "mlflow", str(events), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2
    assert "neither an mlruns folder nor an SQLite database" in done.stderr  # the MLflow reader answered
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "store" / "runs").exists() or not any((tmp_path / "store" / "runs").iterdir())


def test_one_spelling_per_source() -> None:
    here = Path.cwd()
    assert canonical("mlruns") == str(here / "mlruns")
    assert canonical("sqlite:///mlflow.db") == str(here / "mlflow.db")
    assert canonical("sqlite:////srv/mlflow.db") == "/srv/mlflow.db"
    assert canonical("file:///srv/ml%20runs") == "/srv/ml runs"
    assert canonical("http://tracking.example") == "http://tracking.example"


def test_values_under_secret_names_are_masked_in_ingested_records(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from auditor.ingest.common import Ingested, build_record, commit
    from auditor.record import load_record
    from auditor.record.lineage import Dataset, Datasheet
    from auditor.store.runs import RunStore

    facet = '{"spark_properties": {"fs.s3a.secret.key": "abc123secret", "spark.app.name": "etl"}}'
    now = datetime(2026, 11, 27, tzinfo=UTC)
    run = Ingested(
        tool="MLflow",
        tool_version=None,
        source_uri="/x",
        source_run_id="r1",
        project="p",
        started_at=now,
        ended_at=now,
        status="succeeded",
        params={"db_password": "hunter2-very-secret", "lr": "0.1"},
        tags={"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI", "mlflow.user": "ana"},
        datasets=(
            Dataset(id="d", role="input", uri="s3://b/k", datasheet=Datasheet(), annotations={"facet.x": facet}),
        ),
    )
    store = RunStore.create(tmp_path / "store")
    path = commit(store, build_record(run))
    text = (path / "record.json").read_text()
    for secret in ("hunter2-very-secret", "wJalrXUtnFEMI", "abc123secret"):
        assert secret not in text
    record = load_record(path / "record.json")
    assert record.params["lr"] == "0.1" and record.tags["mlflow.user"] == "ana"
    assert "etl" in record.lineage.datasets[0].annotations["facet.x"]  # type: ignore[union-attr]
