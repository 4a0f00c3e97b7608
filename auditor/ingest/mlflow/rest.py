"""Ingest runs from an MLflow tracking server (`http(s)://HOST[:PORT]`) through its REST API.

The server's answers are read into the same RawRun values as the file and SQLite stores, and
mapped by the same code (auditor.ingest.mlflow.reader.ingested), so a run reads the same whichever
way it is reached. Runs come from runs/search (every page), each metric's whole history from
metrics/get-history, MLflow 3's logged models from logged-models/search and the runs' outputs;
files are downloaded into a private temporary folder one run at a time per worker, hashed and
read there, and removed (auditor.ingest.mlflow.rest_artifacts).

The source recorded is the server's URL without credentials; the credentials (environment
variables, or a user and password in the URL) only ever travel in the Authorization header.
Runs are fetched by a few threads (one connection each): a request costs a local server about
5 ms, and a run takes one per metric plus one per artifact folder and file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.ingested import Ingested
from auditor.ingest.mlflow import rest_runs as api
from auditor.ingest.mlflow.raw import RawMetric, RawRun
from auditor.ingest.mlflow.rest_artifacts import fetch_files
from auditor.ingest.mlflow.rest_http import HttpStatusError, Server, endpoint

Mapping = Callable[[RawRun, str, datetime], Ingested]
PAGE_SIZE = 1000  # runs a runs/search page (MLflow's own default)
WORKERS = 4


def is_server(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def read_server(
    source: str,
    ingested: Mapping,
    *,
    run_id: str | None = None,
    experiment: str | None = None,
    page_size: int = PAGE_SIZE,
) -> list[Ingested]:
    """Every run the options select, each mapped by `ingested` (auditor.ingest.mlflow.reader's,
    passed in so that this module does not import the reader that dispatches to it)."""
    server = Server(endpoint(source))
    try:
        experiments = api.experiments(server)
        version = _version(server)
        chosen = _runs(server, experiments, run_id, experiment, page_size)
        ids = sorted(
            {
                str(run.get("info", {}).get("experiment_id"))
                for _shape, run in chosen
                if isinstance(run.get("info"), dict)
            }
        )
        models = api.logged_models(server, ids) if ids else {}
        wanted: dict[str, list[str]] = {}
        for shape, run in chosen:
            info = shape.obj(run.get("info"), "info")
            run_id = info.get("run_id") or info.get("run_uuid")
            if not isinstance(run_id, str):
                continue  # raw_run names the problem
            for key in api.latest_keys(shape, run):
                wanted.setdefault(key, []).append(run_id)
        histories = api.bulk_histories(server, wanted) if len(chosen) > 1 else {}
        now = datetime.now(UTC)
        out = []
        for raw, root in _fetched(server, chosen, models, experiments, histories):
            try:
                raw.version_hint = version
                out.append(ingested(raw, server.url, now))
            finally:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        server.close()
    return sorted(out, key=lambda r: (r.started_at, r.source_run_id or ""))


def _version(server: Server) -> str | None:
    """The MLflow version the server runs (its /version page), when it says."""
    import io

    buffer = io.BytesIO()
    try:
        server.download("/version", {}, buffer, 64, None)
    except IngestError:  # absent behind a proxy, or a page that is no version: only a hint is lost
        return None
    text = buffer.getvalue().decode("utf-8", "replace").strip()
    return text if text and all(c.isalnum() or c in ".+-" for c in text) else None


def _runs(
    server: Server, experiments: dict[str, str], run_id: str | None, experiment: str | None, page_size: int
) -> list[tuple[api.Shape, dict[str, Any]]]:
    wanted = [e for e, name in experiments.items() if experiment is None or experiment in (e, name)]
    if run_id is not None:
        try:
            shape, run = api.get_run(server, run_id)
        except HttpStatusError as exc:
            if exc.status == 404:
                raise IngestError(server.url, "run_id", f"no run {run_id!r} on the server") from exc
            raise
        exp_id = str(shape.obj(run.get("info"), "info").get("experiment_id"))
        if exp_id not in experiments:
            experiments[exp_id] = api.experiment_name(server, exp_id)
        if experiment is not None and experiment not in (exp_id, experiments[exp_id]):
            raise IngestError(server.url, "run_id", f"run {run_id!r} is not in experiment {experiment!r}")
        return [(shape, run)]
    if experiment is not None and not wanted:
        raise IngestError(server.url, "experiment", f"no experiment named {experiment!r} on the server")
    found = list(api.search_runs(server, wanted, page_size)) if wanted else []
    if not found:
        raise IngestError(
            server.url, None, "no runs on the server" + (f" in experiment {experiment!r}" if experiment else "")
        )
    return found


def _fetched(
    server: Server,
    chosen: list[tuple[api.Shape, dict[str, Any]]],
    models: dict[str, dict[str, Any]],
    experiments: dict[str, str],
    histories: dict[tuple[str, str], list[RawMetric]],
) -> Iterator[tuple[RawRun, Path]]:
    """Each run read with its histories and files, in order, by a few threads; the folders of runs
    fetched but not yet consumed when something fails are removed."""
    pending: deque[Future[tuple[RawRun, Path]]] = deque()
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="auditor-mlflow") as pool:
        try:
            for shape, run in chosen:
                pending.append(pool.submit(_one, server, shape, run, models, experiments, histories))
                if len(pending) > WORKERS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
            for future in pending:
                if future.done() and not future.cancelled() and future.exception() is None:
                    shutil.rmtree(future.result()[1], ignore_errors=True)
            server.close()


def _one(
    server: Server,
    shape: api.Shape,
    run: dict[str, Any],
    models: dict[str, dict[str, Any]],
    names: dict[str, str],
    histories: dict[tuple[str, str], list[RawMetric]],
) -> tuple[RawRun, Path]:
    raw = api.raw_run(shape, run, names, server)
    root = Path(tempfile.mkdtemp(prefix="auditor-mlflow-"))
    try:
        for key in api.latest_keys(shape, run):
            known = histories.get((raw.run_id, key))
            raw.metrics += known if known else api.history(server, raw.run_id, key)
        linked = [m for m in models.values() if m.get("source_run_id") == raw.run_id]
        for model_id in api.model_outputs(shape, run):
            if model_id not in {m["model_id"] for m in linked}:
                linked.append(models.get(model_id) or api.logged_model(server, model_id))
        fetch_files(server, raw, linked, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return raw, root
