"""`auditor ingest mlflow http://...` against a real tracking server, then `check` and `report`;
credentials never recorded; and servers that hang, answer garbage or hostile JSON: one line,
exit 2, nothing written."""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.errors import IngestError, UsageError
from auditor.ingest.mlflow.reader import ingested
from auditor.ingest.mlflow.rest_http import Server, endpoint
from auditor.ingest.mlflow.rest_runs import Shape, latest_keys, model_outputs, raw_run
from tests.conftest import CliRunner, base_env
from tests.ingest.mlflow_server import BrokenServer, Served, shared_served, stop_served

TOKEN = "tok-9Qz7-never-recorded-81c4"
PASSWORD = "pa55-never-recorded-77"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield shared_served(tmp_path_factory)
    stop_served()


def _stored_text(store: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in store.rglob("*") if p.is_file())


def test_ingest_check_and_report_without_recording_credentials(cli: CliRunner, tmp_path: Path, served: Served) -> None:
    port = served.server.url.rsplit(":", 1)[1]
    url = f"http://alice:{PASSWORD}@127.0.0.1:{port}"  # a user and password in the URL, and a token
    env = base_env(MLFLOW_TRACKING_TOKEN=TOKEN)
    store = tmp_path / "store"
    done = cli("ingest", "mlflow", url, "--store", str(store), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    ingested = [line.split() for line in done.stdout.splitlines() if line.startswith("ingested")]
    assert len(ingested) == len(served.active)
    runs = {p[-1].rstrip(")"): p[1] for p in ingested}
    train = runs[served.run("train-logreg")["run_id"]]
    record = json.loads(cli("show", train, "--store", str(store), "--json", cwd=tmp_path).stdout)
    assert record["origin"]["source_uri"] == served.server.url  # no user, no password
    assert record["params"] == served.run("train-logreg")["params"]
    pinned = runs[served.run("pinned-env")["run_id"]]
    shown = json.loads(cli("show", pinned, "--store", str(store), "--json", cwd=tmp_path).stdout)
    files = shown["environment"]["declared"]["files"]
    assert any(p["name"] == "jinja2" and p["version"] == "2.10" for f in files for p in f["pins"])
    checked = cli("check", train, "--store", str(store), cwd=tmp_path)
    assert checked.returncode in (1, 3), checked.stdout + checked.stderr  # never 0
    running = runs[served.run("still-running")["run_id"]]
    findings = json.loads(cli("check", running, "--store", str(store), "--format", "json", cwd=tmp_path).stdout)
    assert {f["outcome"] for f in findings["findings"] if f["rule_id"] == "AUD-RUN-001"} == {"could_not_evaluate"}
    out = tmp_path / "dossier"
    assert cli("report", train, "--store", str(store), "-o", str(out), "--format", "html", cwd=tmp_path).returncode == 0
    again = cli("ingest", url, "--store", str(store), cwd=tmp_path, env=env)  # the kind is detected
    assert again.returncode == 0 and again.stdout.count("already ingested as") == len(runs), again.stderr
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    everything = _stored_text(store) + _stored_text(out) + done.stdout + done.stderr + again.stderr
    for secret in (TOKEN, PASSWORD, basic, "ghp_", "s3cr3t"):
        assert secret not in everything


def _refused(cli: CliRunner, tmp_path: Path, url: str, **env: str) -> tuple[str, float]:
    """Ingest from a broken server: exit 2, one line, nothing written; the line and the seconds taken."""
    store = tmp_path / "store"
    started = time.monotonic()
    done = cli("ingest", "mlflow", url, "--store", str(store), cwd=tmp_path, env=base_env(**env), timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditor: error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not store.exists() or not any((store / "runs").glob("*"))
    return lines[0], took


def test_a_server_that_never_answers(cli: CliRunner, tmp_path: Path) -> None:
    hanging = BrokenServer(answer=None)
    try:
        line, took = _refused(cli, tmp_path, hanging.url, MLFLOW_HTTP_REQUEST_TIMEOUT="2", MLFLOW_TRACKING_TOKEN=TOKEN)
    finally:
        hanging.close()
    assert f"{hanging.url}/api/2.0/mlflow/experiments/search" in line and "no answer within 2 s" in line
    assert took < 15 and TOKEN not in line
    assert b"Authorization: Bearer " + TOKEN.encode() in hanging.requests[0]  # sent, never shown


HTTP = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"


def _answer(body: bytes, status: int = 200, reason: bytes = b"OK") -> bytes:
    return HTTP % (status, reason, len(body), body)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_answer(b"<html>not json</html>"), "the answer is not JSON"),
        (b"garbage, not HTTP\r\n\r\n", "the answer is not HTTP"),
        (_answer(b'{"experiments": "all of them"}'), "experiments: expected a JSON list, found str"),
        (_answer(b'{"experiments": [{"experiment_id": 7}]}'), "experiments[0].experiment_id: expected text, found int"),
        (_answer(b"[" * 100_000 + b"]" * 100_000), "the answer is not JSON"),
        (_answer(b'{"error_code": "PERMISSION_DENIED"}', 403, b"Forbidden"), "HTTP 403 Forbidden: PERMISSION_DENIED"),
        (
            b"HTTP/1.1 302 Found\r\nLocation: http://u:p@elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
            "redirected to http://elsewhere.example/: not followed",
        ),
    ],
)
def test_a_server_that_answers_garbage(cli: CliRunner, tmp_path: Path, answer: bytes, expected: str) -> None:
    broken = BrokenServer(answer=answer)
    try:
        line, _ = _refused(
            cli, tmp_path, broken.url, MLFLOW_TRACKING_USERNAME="alice", MLFLOW_TRACKING_PASSWORD=PASSWORD
        )
    finally:
        broken.close()
    assert f"{broken.url}/api/2.0/mlflow/experiments/search" in line and expected in line, line
    assert PASSWORD not in line and "u:p@" not in line
    basic = base64.b64encode(f"alice:{PASSWORD}".encode())
    assert b"Authorization: Basic " + basic in broken.requests[0]


def test_server_errors_are_retried_for_gets_only_a_little(cli: CliRunner, tmp_path: Path) -> None:
    busy = BrokenServer(answer=_answer(b'{"error_code": "TEMPORARILY_UNAVAILABLE"}', 503, b"Service Unavailable"))
    try:
        line, took = _refused(cli, tmp_path, busy.url)
    finally:
        busy.close()
    assert "HTTP 503 Service Unavailable: TEMPORARILY_UNAVAILABLE" in line
    assert len(busy.requests) == 3 and took < 20  # two retries, after 0.5 and 1 s


def test_credentials_and_urls() -> None:
    where = endpoint("https://bob:hunter2@mlflow.example.com/tracking/", {})
    assert where.url == "https://mlflow.example.com/tracking" and where.prefix == "/tracking"
    assert where.authorization == "Basic " + base64.b64encode(b"bob:hunter2").decode()
    token = endpoint("http://mlflow.example.com:5000", {"MLFLOW_TRACKING_TOKEN": "t0k"})
    assert token.authorization == "Bearer t0k" and token.url == "http://mlflow.example.com:5000"
    assert endpoint("http://[::1]:5000", {}).url == "http://[::1]:5000"
    for bad, problem in [
        ("http://h:5000/?token=abc", "takes no query"),
        ("ftp://h", r"expected http\(s\)://HOST"),
        ("http://h:notaport", "not a valid URL"),
    ]:
        with pytest.raises(UsageError, match=problem):
            endpoint(bad, {})
    with pytest.raises(UsageError, match="MLFLOW_HTTP_REQUEST_TIMEOUT"):
        endpoint("http://h", {"MLFLOW_HTTP_REQUEST_TIMEOUT": "forever"})


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_RUN: dict[str, Any] = {
    "info": {"run_id": "r1", "experiment_id": "1", "status": "FINISHED", "start_time": 1_700_000_000_000},
    "data": {
        "params": [{"key": "C", "value": "0.5"}],
        "tags": [{"key": "mlflow.user", "value": "analyst"}],
        "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_001, "step": 0}],
    },
    "inputs": {"dataset_inputs": [{"tags": [], "dataset": {"name": "d", "digest": "ab", "source": "{}"}}]},
    "outputs": {"model_outputs": [{"model_id": "m-1", "step": 0}]},
}
_PLACES = [
    ("info",),
    ("info", "run_id"),
    ("info", "status"),
    ("info", "start_time"),
    ("info", "end_time"),
    ("data", "params"),
    ("data", "params", 0, "value"),
    ("data", "tags", 0),
    ("data", "metrics", 0, "key"),
    ("inputs", "dataset_inputs", 0, "dataset"),
    ("inputs", "dataset_inputs", 0, "dataset", "source"),
    ("outputs", "model_outputs"),
]


@settings(max_examples=300, deadline=None)
@given(place=st.sampled_from(_PLACES), value=_JSON)
def test_hostile_run_answers_are_one_clear_error(place: tuple[str | int, ...], value: object) -> None:
    """Whatever a server puts anywhere in a run, reading it gives a run or an IngestError, never a crash."""
    run = copy.deepcopy(_RUN)
    target: Any = run
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = value
    shape = Shape("http://127.0.0.1:9/api/2.0/mlflow/runs/search (runs[0])")
    server = Server(endpoint("http://127.0.0.1:9", {}))
    try:
        raw = raw_run(shape, run, {"1": "credit"}, server)
        latest_keys(shape, run)
        model_outputs(shape, run)
        ingested(raw, server.url, datetime.now(UTC))
    except IngestError as exc:
        assert exc.message.startswith("http://127.0.0.1:9") and "\n" not in exc.message
