"""MLflow's SQL store in SQLite (`mlflow.db`, MLflow 3's default), read with sqlite3 read-only.

Tables used: experiments, runs (status by name, times in epoch ms), params, tags, metrics
(every logged value; `is_nan` marks NaN, stored as 0), datasets/inputs/input_tags (since
MLflow 2.4) and logged_models (MLflow 3). alembic_version holds the schema revision.
Every value is type-checked: a hostile database can put text where MLflow puts numbers.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.errors import IngestError
from auditor.ingest.mlflow.raw import RawDataset, RawMetric, RawModel, RawRun, status_name

REQUIRED = ("experiments", "runs", "params", "tags", "metrics")
# Bounds on what a hostile database can make auditor hold or do. MLflow's own limits are far lower
# (a param value is at most 6,000 characters); a table may be a view or have generated columns,
# so even a plain SELECT could otherwise compute without end.
MAX_VALUE_BYTES = 16 << 20  # one text or blob value
MAX_ROWS = 5_000_000  # rows of one query: metrics are the largest, about five million points
MAX_SECONDS = 300.0  # the whole read
_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the clock


def read_sqlite(db: Path, *, run_id: str | None, experiment: str | None) -> list[RawRun]:
    try:
        connection = sqlite3.connect(f"file:{quote(str(db.absolute()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise IngestError(db, None, f"cannot open the SQLite database: {exc}") from exc
    try:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        deadline = time.monotonic() + MAX_SECONDS
        connection.set_progress_handler(lambda: time.monotonic() > deadline, _STEPS)  # true interrupts
        return _read(connection, db, run_id, experiment)
    finally:
        connection.close()


def _query(connection: sqlite3.Connection, db: Path, table: str, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
    try:
        rows = connection.execute(sql, args).fetchmany(MAX_ROWS + 1)
    except sqlite3.Error as exc:
        raise IngestError(db, f"table {table}", _problem(exc, "cannot read")) from exc
    if len(rows) > MAX_ROWS:
        raise IngestError(db, f"table {table}", f"more than {MAX_ROWS:,} rows: ingest one run at a time (--run-id)")
    return rows


def _problem(exc: sqlite3.Error, what: str) -> str:
    """What went wrong, in words; the progress handler's interruption is the time limit."""
    if isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted":
        return f"reading took more than {MAX_SECONDS:.0f} s: stopped"
    return f"{what}: {exc}"


def _read(connection: sqlite3.Connection, db: Path, run_id: str | None, experiment: str | None) -> list[RawRun]:
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise IngestError(db, None, _problem(exc, "not a readable SQLite database")) from exc
    for table in REQUIRED:
        if table not in tables:
            raise IngestError(db, f"table {table}", "missing: not an MLflow tracking database")
    revision = None
    if "alembic_version" in tables:
        rows = _query(connection, db, "alembic_version", "SELECT version_num FROM alembic_version")
        revision = str(rows[0][0]) if rows else None
    hint = "3.x" if "logged_models" in tables else None
    experiments = {
        str(exp_id): str(name)
        for exp_id, name in _query(connection, db, "experiments", "SELECT experiment_id, name FROM experiments")
    }
    wanted = [e for e, n in experiments.items() if experiment is None or experiment in (e, n)]
    if experiment is not None and not wanted:
        raise IngestError(db, "experiment", f"no experiment named {experiment!r} in the store")
    sql = (
        "SELECT run_uuid, name, status, start_time, end_time, user_id, lifecycle_stage, artifact_uri, experiment_id"
        " FROM runs WHERE (? IS NULL OR run_uuid = ?)"
    )
    rows = _query(connection, db, "runs", sql, (run_id, run_id))
    runs: dict[str, RawRun] = {}
    for row in rows:
        run = _run(db, row, experiments, hint)
        if run.experiment_id in wanted and (run_id is not None or not run.deleted):
            if revision:
                run.notes.append(f"the SQLite store's schema is at alembic revision {revision}")
            runs[run.run_id] = run
    if run_id is not None and not runs:
        raise IngestError(db, "run_id", f"no run {run_id!r} in the store")
    one = (run_id, run_id)  # every query below takes all runs, or the one asked for
    sql = "SELECT run_uuid, key, value FROM params WHERE (? IS NULL OR run_uuid = ?)"
    for rid, key, value in _query(connection, db, "params", sql, one):
        if rid in runs:
            runs[rid].params[_text(key, db, "params", rid)] = _text(value, db, "params", rid)
    sql = "SELECT run_uuid, key, value FROM tags WHERE (? IS NULL OR run_uuid = ?)"
    for rid, key, value in _query(connection, db, "tags", sql, one):
        if rid in runs:
            runs[rid].tags[_text(key, db, "tags", rid)] = _text(value, db, "tags", rid)
    sql = "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics WHERE (? IS NULL OR run_uuid = ?)"
    for rid, key, value, timestamp, step, is_nan in _query(connection, db, "metrics", sql, one):
        if rid in runs:
            runs[rid].metrics.append(_metric(db, rid, key, value, timestamp, step, is_nan))
    if {"datasets", "inputs"} <= tables:
        _datasets(connection, db, runs, with_tags="input_tags" in tables)
    if "logged_models" in tables:
        _models(connection, db, runs)
    return list(runs.values())


def _text(value: object, db: Path, table: str, run_id: str) -> str:
    if not isinstance(value, str):
        raise IngestError(db, f"table {table} (run {run_id})", f"expected text, found {value!r:.40}")
    return value


def _whole(value: object, db: Path, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int):
        raise IngestError(db, field, f"expected a whole number, found {value!r:.40}")
    return value


def _run(db: Path, row: tuple[Any, ...], experiments: dict[str, str], hint: str | None) -> RawRun:
    run_id, name, status, start, end, user, stage, artifact_uri, exp_id = row
    where = f"table runs (run {run_id})"
    if not isinstance(run_id, str):
        raise IngestError(db, "table runs", f"run_uuid {run_id!r:.40} is not text")
    return RawRun(
        run_id=run_id,
        experiment_id=str(exp_id),
        experiment=experiments.get(str(exp_id), str(exp_id)),
        name=name if isinstance(name, str) else None,
        status=status_name(status, f"{db}: {where}"),
        start_ms=_whole(start, db, f"{where}.start_time"),
        end_ms=_whole(end, db, f"{where}.end_time"),
        user_id=user if isinstance(user, str) else None,
        deleted=stage == "deleted",
        artifact_uri=artifact_uri if isinstance(artifact_uri, str) else "",
        where=f"{db}: {where}",
        store_root=db.parent,
        fallback_artifacts=None,
        version_hint=hint,
    )


def _metric(db: Path, rid: str, key: object, value: object, ts: object, step: object, is_nan: object) -> RawMetric:
    field = f"table metrics (run {rid}, key {key!r:.60})"
    if not isinstance(key, str):
        raise IngestError(db, field, "the key is not text")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IngestError(db, field, f"value {value!r:.40} is not a number")
    timestamp, number = _whole(ts, db, field + ".timestamp"), _whole(step, db, field + ".step")
    return RawMetric(key, float("nan") if is_nan else float(value), timestamp or 0, number or 0)


def _datasets(connection: sqlite3.Connection, db: Path, runs: dict[str, RawRun], *, with_tags: bool) -> None:
    sql = (
        "SELECT i.input_uuid, i.destination_id, i.source_id, d.name, d.digest, d.dataset_source_type,"
        " d.dataset_source, d.dataset_schema, d.dataset_profile, d.dataset_uuid FROM inputs i"
        " LEFT JOIN datasets d ON d.dataset_uuid = i.source_id"
        " WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN'"
    )
    contexts: dict[str, list[str]] = defaultdict(list)
    if with_tags:
        sql_tags = "SELECT input_uuid, value FROM input_tags WHERE name = 'mlflow.data.context'"
        for input_id, value in _query(connection, db, "input_tags", sql_tags):
            contexts[str(input_id)].append(str(value))
    found: dict[tuple[str, str], RawDataset] = {}
    for input_id, rid, source_id, name, digest, kind, source, schema, profile, dataset_id in _query(
        connection, db, "inputs", sql
    ):
        if rid not in runs:
            continue
        where = f"{db}: table datasets ({source_id})"
        if dataset_id is None:
            raise IngestError(db, f"table inputs ({input_id}).source_id", f"names dataset {source_id!r}, not stored")
        dataset = found.get((rid, source_id))
        if dataset is None:
            dataset = RawDataset(
                name=_text(name, db, "datasets", rid),
                digest=_text(digest, db, "datasets", rid),
                source_type=kind if isinstance(kind, str) else "unknown",
                source=source if isinstance(source, str) else "",
                schema=schema if isinstance(schema, str) else None,
                profile=profile if isinstance(profile, str) else None,
                contexts=[],
                where=where,
            )
            found[(rid, source_id)] = dataset
            runs[rid].datasets.append(dataset)
        dataset.contexts += [c for c in contexts.get(str(input_id), []) if c not in dataset.contexts]


def _models(connection: sqlite3.Connection, db: Path, runs: dict[str, RawRun]) -> None:
    sql = "SELECT model_id, name, artifact_location, source_run_id FROM logged_models"
    outputs = "SELECT source_id, destination_id FROM inputs WHERE source_type = 'RUN_OUTPUT'"
    linked: dict[str, set[str]] = defaultdict(set)
    for rid, mid in _query(connection, db, "inputs", outputs):
        linked[str(mid)].add(str(rid))
    for model_id, name, location, source_run_id in _query(connection, db, "logged_models", sql):
        model = RawModel(
            model_id=str(model_id),
            name=name if isinstance(name, str) else str(model_id),
            location=location if isinstance(location, str) else "",
            fallback=None,
            where=f"{db}: table logged_models ({model_id})",
            source_run_id=source_run_id if isinstance(source_run_id, str) else None,
        )
        for rid in sorted(linked.get(model.model_id, set()) | {model.source_run_id or ""}):
            if rid in runs:
                runs[rid].models.append(model)
