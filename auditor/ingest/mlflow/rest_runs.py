"""An MLflow tracking server's answers (JSON, untrusted) read into the readers' plain values (RawRun).

Endpoints, as MLflow 2 and 3 servers serve them: experiments/search (GET, paged), runs/search
(POST, paged: MLflow serves it by POST only), runs/get, metrics/get-history (paged), and MLflow 3's
logged-models/search and logged-models/GET. Every value is type-checked; an answer of the wrong
shape is an IngestError naming the endpoint's URL and the field. Numbers may come as JSON numbers
or as the text protobuf's JSON mapping writes for 64-bit integers, and NaN or infinities as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.mlflow.raw import RawDataset, RawMetric, RawRun, status_name
from auditor.ingest.mlflow.rest_http import HttpStatusError, Server

API = "/api/2.0/mlflow"
MAX_PAGES = 100_000  # of one listing: a server whose page tokens never end is stopped
HISTORY_PAGE = 25_000  # metric values a page, as MLflow's own client asks for
MAX_HISTORY = 2_000_000  # values of one metric (the file store's reader holds as many)
BULK_PATH = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"
BULK_RUNS = 100  # the most run ids MLflow's handler takes
BULK_MAX = 25_000  # the most values it returns (silently cutting the rest)
_SPECIAL = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

Fetch = Callable[[str | None], dict[str, Any]]


class Shape:
    """Reads fields out of one JSON answer, naming the endpoint and the field's path on failure."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, problem: str) -> IngestError:
        return IngestError(self.where, path, problem)

    def obj(self, data: object, path: str) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise self.fail(path, f"expected a JSON object, found {type(data).__name__}")
        return data

    def items(self, data: object, path: str) -> list[Any]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise self.fail(path, f"expected a JSON list, found {type(data).__name__}")
        return data

    def text(self, data: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or (value == "" and not required):
            if required:
                raise self.fail(f"{path}.{key}", "missing")
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", f"expected text, found {type(value).__name__}")
        return value

    def whole(self, data: dict[str, Any], key: str, path: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 30:
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{path}.{key}", f"expected a whole number, found {str(value)[:40]!r}")
        return value

    def number(self, data: dict[str, Any], key: str, path: str) -> float:
        value = data.get(key)
        if isinstance(value, str) and value in _SPECIAL:
            return _SPECIAL[value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{path}.{key}", f"expected a number, found {str(value)[:40]!r}")
        return float(value)

    def pairs(self, data: object, path: str) -> dict[str, str]:
        """MLflow's [{"key": ..., "value": ...}] lists (params, tags) as a mapping."""
        out = {}
        for n, item in enumerate(self.items(data, path)):
            entry = self.obj(item, f"{path}[{n}]")
            key = self.text(entry, "key", f"{path}[{n}]", required=True)
            value = entry.get("value", "")
            if not isinstance(value, str):
                raise self.fail(f"{path}[{n}].value", f"expected text, found {type(value).__name__}")
            out[str(key)] = value
        return out


def pages(fetch: Fetch, where: str, key: str) -> Iterator[tuple[Shape, list[Any]]]:
    """Every page of a listing, following next_page_token; a token seen twice is an error, not a loop."""
    seen: set[str] = set()
    token: str | None = None
    for _ in range(MAX_PAGES):
        answer = fetch(token)
        shape = Shape(where)
        yield shape, shape.items(answer.get(key), key)
        token = shape.text(answer, "next_page_token", "")
        if not token:
            return
        if token in seen:
            raise IngestError(where, "next_page_token", "a page token came back again: the listing would never end")
        seen.add(token)
    raise IngestError(where, "next_page_token", f"more than {MAX_PAGES} pages: stopped")


def experiments(server: Server) -> dict[str, str]:
    """Every active experiment: id -> name."""
    where = f"{server.url}{API}/experiments/search"

    def fetch(token: str | None) -> dict[str, Any]:
        params: dict[str, str | int] = {"max_results": 1000, **({"page_token": token} if token else {})}
        return server.get(f"{API}/experiments/search", params)

    out = {}
    for shape, found in pages(fetch, where, "experiments"):
        for n, item in enumerate(found):
            entry = shape.obj(item, f"experiments[{n}]")
            exp_id = shape.text(entry, "experiment_id", f"experiments[{n}]", required=True)
            out[str(exp_id)] = shape.text(entry, "name", f"experiments[{n}]") or str(exp_id)
    return out


def experiment_name(server: Server, experiment_id: str) -> str:
    where = f"{server.url}{API}/experiments/get"
    shape = Shape(where)
    answer = shape.obj(
        server.get(f"{API}/experiments/get", {"experiment_id": experiment_id}).get("experiment"), "experiment"
    )
    return shape.text(answer, "name", "experiment") or experiment_id


def search_runs(server: Server, experiment_ids: list[str], page_size: int) -> Iterator[tuple[Shape, dict[str, Any]]]:
    """The active runs of these experiments, each with the answer it came in (for errors)."""
    where = f"{server.url}{API}/runs/search"

    def fetch(token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "experiment_ids": experiment_ids,
            "max_results": page_size,
            "run_view_type": "ACTIVE_ONLY",
        }
        return server.post(f"{API}/runs/search", {**body, **({"page_token": token} if token else {})})

    for shape, found in pages(fetch, where, "runs"):
        for n, item in enumerate(found):
            yield Shape(f"{where} (runs[{n}])"), shape.obj(item, f"runs[{n}]")


def get_run(server: Server, run_id: str) -> tuple[Shape, dict[str, Any]]:
    shape = Shape(f"{server.url}{API}/runs/get?run_id={run_id}")
    return shape, shape.obj(server.get(f"{API}/runs/get", {"run_id": run_id}).get("run"), "run")


def raw_run(shape: Shape, run: dict[str, Any], experiments: dict[str, str], server: Server) -> RawRun:
    """One run's info, params, tags and datasets; its metric histories and files come later."""
    info = shape.obj(run.get("info"), "info")
    data = shape.obj(run.get("data"), "data")
    run_id = shape.text(info, "run_id", "info") or shape.text(info, "run_uuid", "info", required=True)
    exp_id = shape.text(info, "experiment_id", "info", required=True)
    raw = RawRun(
        run_id=str(run_id),
        experiment_id=str(exp_id),
        experiment=experiments.get(str(exp_id), str(exp_id)),
        name=shape.text(info, "run_name", "info"),
        status=status_name(shape.text(info, "status", "info"), f"{shape.where}: info"),
        start_ms=shape.whole(info, "start_time", "info"),
        end_ms=shape.whole(info, "end_time", "info"),
        user_id=shape.text(info, "user_id", "info"),
        deleted=info.get("lifecycle_stage") == "deleted",
        artifact_uri=shape.text(info, "artifact_uri", "info") or "",
        where=f"{server.url}: run {run_id}",
        store_root=Path(),
        fallback_artifacts=None,
        version_hint=None,
    )
    raw.params = shape.pairs(data.get("params"), "data.params")
    raw.tags = shape.pairs(data.get("tags"), "data.tags")
    inputs = shape.obj(run.get("inputs"), "inputs")
    for n, item in enumerate(shape.items(inputs.get("dataset_inputs"), "inputs.dataset_inputs")):
        raw.datasets.append(_dataset(shape, shape.obj(item, f"inputs.dataset_inputs[{n}]"), n, raw.where))
    return raw


def latest_keys(shape: Shape, run: dict[str, Any]) -> list[str]:
    """The names of the run's metrics (the search answer holds only each one's latest value)."""
    data = shape.obj(run.get("data"), "data")
    keys = []
    for n, item in enumerate(shape.items(data.get("metrics"), "data.metrics")):
        key = shape.text(shape.obj(item, f"data.metrics[{n}]"), "key", f"data.metrics[{n}]", required=True)
        if key not in keys:
            keys.append(str(key))
    return keys


def model_outputs(shape: Shape, run: dict[str, Any]) -> list[str]:
    """MLflow 3: the ids of the models the run logged."""
    outputs = shape.obj(run.get("outputs"), "outputs")
    ids = []
    for n, item in enumerate(shape.items(outputs.get("model_outputs"), "outputs.model_outputs")):
        model_id = shape.text(shape.obj(item, f"outputs.model_outputs[{n}]"), "model_id", "outputs.model_outputs")
        if model_id:
            ids.append(model_id)
    return ids


def _dataset(shape: Shape, entry: dict[str, Any], n: int, where: str) -> RawDataset:
    path = f"inputs.dataset_inputs[{n}]"
    dataset = shape.obj(entry.get("dataset"), f"{path}.dataset")
    tags = shape.pairs(entry.get("tags"), f"{path}.tags")
    context = tags.get("mlflow.data.context")
    return RawDataset(
        name=shape.text(dataset, "name", f"{path}.dataset", required=True) or "",
        digest=shape.text(dataset, "digest", f"{path}.dataset", required=True) or "",
        source_type=shape.text(dataset, "source_type", f"{path}.dataset") or "unknown",
        source=shape.text(dataset, "source", f"{path}.dataset") or "",
        schema=shape.text(dataset, "schema", f"{path}.dataset"),
        profile=shape.text(dataset, "profile", f"{path}.dataset"),
        contexts=[context] if context else [],
        where=f"{where}: {path}",
    )


def history(server: Server, run_id: str, key: str) -> list[RawMetric]:
    """Every value logged under one metric name."""
    where = f"{server.url}{API}/metrics/get-history?run_id={run_id}&metric_key={key}"

    def fetch(token: str | None) -> dict[str, Any]:
        params: dict[str, str | int] = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
        return server.get(f"{API}/metrics/get-history", {**params, **({"page_token": token} if token else {})})

    out = []
    for shape, found in pages(fetch, where, "metrics"):
        for n, item in enumerate(found):
            entry = shape.obj(item, f"metrics[{n}]")
            path = f"metrics[{n}]"
            out.append(
                RawMetric(
                    key,
                    shape.number(entry, "value", path),
                    shape.whole(entry, "timestamp", path) or 0,
                    shape.whole(entry, "step", path) or 0,
                )
            )
        if len(out) > MAX_HISTORY:
            raise IngestError(where, "metrics", f"more than {MAX_HISTORY:,} values: not read")
    return out


def bulk_histories(server: Server, wanted: dict[str, list[str]]) -> dict[tuple[str, str], list[RawMetric]]:
    """Metric histories of many runs at once, by (run id, key), through the endpoint MLflow's own UI
    uses (ajax-api metrics/get-history-bulk, up to 100 runs a request): one request per 100 runs
    and key instead of one per run and key, which made a 1,000-run ingest three times faster.
    That endpoint cuts its answer at 25,000 values without saying so: a batch that reaches it is
    split, down to single runs, which are then left to get-history's pages. {} when the server
    has no such endpoint; what is missing here is read run by run."""
    out: dict[tuple[str, str], list[RawMetric]] = {}
    try:
        for key, run_ids in wanted.items():
            for start in range(0, len(run_ids), BULK_RUNS):
                _bulk(server, key, run_ids[start : start + BULK_RUNS], out)
    except HttpStatusError as exc:
        if exc.status in (404, 405):
            return {}
        raise
    return out


def _bulk(server: Server, key: str, run_ids: list[str], out: dict[tuple[str, str], list[RawMetric]]) -> None:
    params = [*(("run_id", r) for r in run_ids), ("metric_key", key), ("max_results", BULK_MAX)]
    shape = Shape(f"{server.url}{BULK_PATH}?metric_key={key}")
    found = shape.items(server.get(BULK_PATH, params).get("metrics"), "metrics")
    if len(found) >= BULK_MAX:  # perhaps cut short
        if len(run_ids) > 1:
            half = len(run_ids) // 2
            _bulk(server, key, run_ids[:half], out)
            _bulk(server, key, run_ids[half:], out)
        return
    per_run: dict[str, list[RawMetric]] = {r: [] for r in run_ids}
    for n, item in enumerate(found):
        entry, path = shape.obj(item, f"metrics[{n}]"), f"metrics[{n}]"
        run_id = shape.text(entry, "run_id", path, required=True)
        if run_id not in per_run or entry.get("key", key) != key:
            raise shape.fail(
                f"{path}.run_id", f"{str(run_id)[:40]!r} ({str(entry.get('key'))[:40]!r}) was not asked for"
            )
        value = shape.number(entry, "value", path)
        per_run[str(run_id)].append(
            RawMetric(key, value, shape.whole(entry, "timestamp", path) or 0, shape.whole(entry, "step", path) or 0)
        )
    out.update({(run_id, key): values for run_id, values in per_run.items() if values})


def logged_models(server: Server, experiment_ids: list[str]) -> dict[str, dict[str, Any]]:
    """MLflow 3's logged models of these experiments, by model id ({} from an MLflow 2 server)."""
    where = f"{server.url}{API}/logged-models/search"

    def fetch(token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"experiment_ids": experiment_ids, "max_results": 100}
        return server.post(f"{API}/logged-models/search", {**body, **({"page_token": token} if token else {})})

    out = {}
    try:
        for shape, found in pages(fetch, where, "models"):
            for n, item in enumerate(found):
                info = model_info(shape, shape.obj(item, f"models[{n}]"), f"models[{n}]")
                out[info["model_id"]] = info
    except HttpStatusError as exc:
        if exc.status == 404:
            return {}  # an MLflow 2 server: no logged models as their own entity
        raise
    return out


def logged_model(server: Server, model_id: str) -> dict[str, Any]:
    shape = Shape(f"{server.url}{API}/logged-models/{model_id}")
    return model_info(shape, shape.obj(server.get(f"{API}/logged-models/{model_id}").get("model"), "model"), "model")


def model_info(shape: Shape, model: dict[str, Any], path: str) -> dict[str, Any]:
    info = shape.obj(model.get("info"), f"{path}.info")
    return {
        "model_id": shape.text(info, "model_id", f"{path}.info", required=True),
        "name": shape.text(info, "name", f"{path}.info"),
        "artifact_uri": shape.text(info, "artifact_uri", f"{path}.info") or "",
        "source_run_id": shape.text(info, "source_run_id", f"{path}.info"),
    }
