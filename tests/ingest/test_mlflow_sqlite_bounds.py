"""A hostile mlflow.db cannot make auditor hold or compute without bound: a value's length, the
rows of one query and the time of the whole read are capped, each with one line and exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from auditor.errors import EXIT_USAGE, IngestError
from auditor.ingest.mlflow import sqlite as mlflow_sqlite
from auditor.ingest.mlflow.reader import read

SCHEMA = """
CREATE TABLE experiments (experiment_id INTEGER, name TEXT);
CREATE TABLE runs (run_uuid TEXT, name TEXT, status TEXT, start_time INTEGER, end_time INTEGER, user_id TEXT,
                   lifecycle_stage TEXT, artifact_uri TEXT, experiment_id INTEGER);
CREATE TABLE params (run_uuid TEXT, key TEXT, value TEXT);
CREATE TABLE tags (run_uuid TEXT, key TEXT, value TEXT);
CREATE TABLE metrics (run_uuid TEXT, key TEXT, value REAL, timestamp INTEGER, step INTEGER, is_nan INTEGER);
INSERT INTO experiments VALUES (0, 'Default');
INSERT INTO runs VALUES ('r1', 'run', 'FINISHED', 1700000000000, 1700000001000, 'u', 'active', '', 0);
"""


def _db(tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA + "".join(extra))
    connection.close()
    return path


def test_a_well_formed_database_is_read(tmp_path: Path) -> None:
    db = _db(tmp_path, "INSERT INTO params VALUES ('r1', 'lr', '0.1');")
    (run,) = read(f"sqlite:///{db}")
    assert run.source_run_id == "r1"


def test_a_value_longer_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlflow_sqlite, "MAX_VALUE_BYTES", 1000)
    db = _db(tmp_path, "INSERT INTO params VALUES ('r1', 'big', printf('%.*c', 5000, 'x'));")
    with pytest.raises(IngestError, match="table params: cannot read: string or blob too big") as caught:
        read(f"sqlite:///{db}")
    assert caught.value.exit_code == EXIT_USAGE


def test_a_generated_column_cannot_make_a_huge_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table may compute a column on every read: zeroblob(1e9) would be a gigabyte per row."""
    monkeypatch.setattr(mlflow_sqlite, "MAX_VALUE_BYTES", 1 << 20)
    db = _db(tmp_path)
    with sqlite3.connect(db) as connection:
        connection.executescript(
            "DROP TABLE tags; CREATE TABLE tags (run_uuid TEXT, key TEXT, value BLOB AS (zeroblob(1000000000)));"
            "INSERT INTO tags (run_uuid, key) VALUES ('r1', 'k');"
        )
    connection.close()
    with pytest.raises(IngestError, match="table tags: cannot read: string or blob too big"):
        read(f"sqlite:///{db}")


def test_more_rows_than_the_cap_and_a_read_over_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _db(
        tmp_path,
        "INSERT INTO params SELECT 'r1', 'p' || x, x FROM"
        " (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) SELECT x FROM c);",
    )
    monkeypatch.setattr(mlflow_sqlite, "MAX_ROWS", 10)
    with pytest.raises(IngestError, match=r"table params: more than 10 rows: ingest one run at a time \(--run-id\)"):
        read(f"sqlite:///{db}")
    monkeypatch.setattr(mlflow_sqlite, "MAX_ROWS", 1000)
    monkeypatch.setattr(mlflow_sqlite, "MAX_SECONDS", -1.0)  # every look at the clock is past the deadline
    monkeypatch.setattr(mlflow_sqlite, "_STEPS", 1)
    with pytest.raises(IngestError, match=r"reading took more than -1 s: stopped"):
        read(f"sqlite:///{db}")


def test_a_fifo_named_as_the_database_is_refused(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "mlflow.db")
    with pytest.raises(IngestError, match=r"mlflow\.db: not a regular file"):
        read(f"sqlite:///{tmp_path / 'mlflow.db'}")
