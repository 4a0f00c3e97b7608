"""A store run's check outcome is kept in the store's SQLite index by sqlite3 alone (no SQLAlchemy): the
same row the index layer writes; anything else is left to the index layer."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from auditor.index import db, kept, schema
from auditor.index.query import record_check, update
from auditor.store.runs import RunStore
from tests.factories import make_record

RESULT = kept.CheckResult(
    run_id="01JGZ0000000000000000000AA",
    record_sha256="ab" * 32,
    context="c" * 32,
    policy="default",
    verdict="violations",
    failing={"high": 2, "low": 0},
    could_not=1,
    waived=3,
    findings_digest="d" * 64,
    checked_at=datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC),
)


def _rows(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store / kept.INDEX_FILE) as conn:
        return conn.execute(f"SELECT * FROM {kept.TABLE} ORDER BY run_id, context").fetchall()  # noqa: S608


def _store(root: Path) -> RunStore:
    store = RunStore.create(root)
    record = make_record()
    store.commit(store.begin(record.identity.run_id), record)
    return store


def test_the_names_are_the_index_layers() -> None:
    assert (kept.INDEX_ENV, kept.INDEX_FILE, kept.BUSY_TIMEOUT_S) == (db.INDEX_ENV, db.INDEX_FILE, db.BUSY_TIMEOUT_S)
    assert (schema.checks.name, tuple(schema.checks.c.keys())) == (kept.TABLE, kept.COLUMNS)


def test_sqlite3_keeps_the_row_the_index_layer_keeps(tmp_path: Path) -> None:
    layer = _store(tmp_path / "a")
    assert update(layer) is None  # the index exists, as after any `runs` or commit
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    quick = RunStore.open(tmp_path / "b")
    earlier = kept.CheckResult(**{**RESULT.__dict__, "verdict": "compliant", "failing": {}})
    for result in (earlier, RESULT):  # the second replaces the first: one row per run and context
        record_check(layer, result)
        assert kept.keep_in_store_sqlite(quick, result, {}) is True
    assert _rows(tmp_path / "b") == _rows(tmp_path / "a") != []
    assert len(_rows(tmp_path / "b")) == 1


def test_anything_else_is_left_to_the_index_layer(tmp_path: Path) -> None:
    store = _store(tmp_path / "store")
    assert kept.keep_in_store_sqlite(store, RESULT, {}) is False  # no index yet: the layer creates it
    assert not (tmp_path / "store" / kept.INDEX_FILE).exists()
    assert update(store) is None
    assert kept.keep_in_store_sqlite(store, RESULT, {kept.INDEX_ENV: "postgresql://db/index"}) is False
    with sqlite3.connect(tmp_path / "store" / kept.INDEX_FILE) as conn:
        conn.execute(f"ALTER TABLE {kept.TABLE} ADD COLUMN extra TEXT")
    assert kept.keep_in_store_sqlite(store, RESULT, {}) is False  # a table of another shape
    (tmp_path / "store" / kept.INDEX_FILE).write_bytes(b"not a database" * 100)
    assert kept.keep_in_store_sqlite(store, RESULT, {}) is False  # the layer rebuilds it
