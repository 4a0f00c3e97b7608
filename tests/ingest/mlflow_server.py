"""A real `mlflow server` on loopback for the REST tests and the benchmark: MLflow 3 (the full
package, tests/ingest/tools/mlflowserver.txt), an SQLite backend store and a local artifact
root it serves itself (--serve-artifacts), on a free port; stopped by `stop()`.

Also the two broken servers the error tests need: one that accepts a connection and never
answers, and one that answers every request with garbage (both record what they were sent)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ingest.conftest import TOOLS, tool_python

PRODUCER = Path(__file__).parent / "mlflow_server_producer.py"
START_SECONDS = 120  # a cold start imports Flask, FastAPI and SQLAlchemy and creates the tables: ~10 s idle


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quiet_env(home: Path) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "USER": "analyst"}
    return env | {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}


@dataclass
class MlflowServer:
    url: str
    root: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own process group: uvicorn and its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def start_server(root: Path) -> MlflowServer:
    """Start `mlflow server` and wait (with a deadline) until /health answers."""
    mlflow = TOOLS / "mlflowserver" / "bin" / "mlflow"
    if not mlflow.exists():
        raise AssertionError(f"{mlflow} is missing: run `./dev setup` (installs tests/ingest/tools/mlflowserver.txt)")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    argv += ["--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination", str(root / "artifacts")]
    argv += ["--serve-artifacts"]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        argv, cwd=root, env=quiet_env(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = MlflowServer(f"http://127.0.0.1:{port}", root, process)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_text = (root / "server.log").read_text()[-3000:]
            raise AssertionError(f"mlflow server exited {process.returncode}: {log_text}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as answer:  # noqa: S310 (http only)
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise AssertionError(f"mlflow server did not answer /health within {START_SECONDS} s")


@dataclass
class BrokenServer:
    """Accepts connections on loopback; `answer` is sent back to each request (None: never answer)."""

    answer: bytes | None
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._held.append(connection)  # kept open: a hanging server never closes either
            connection.settimeout(2)
            try:
                self.requests.append(connection.recv(65536))
                if self.answer is not None:
                    connection.sendall(self.answer)
                    connection.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        for held in self._held:
            held.close()
        self._socket.close()


@dataclass(frozen=True)
class Served:
    server: MlflowServer
    client: dict[str, Any]  # what MlflowClient reported over the same server
    local: dict[str, tuple[str, dict[str, Any]]]  # "files"/"sqlite" -> (source, client dump): the jinja2 run

    def run(self, name: str) -> dict[str, Any]:
        return next(r for r in self.client["runs"] if r["run_name"] == name)

    @property
    def active(self) -> list[dict[str, Any]]:
        return [r for r in self.client["runs"] if r["lifecycle_stage"] == "active"]


def _produce(uri: str, work: Path, mode: str, **extra: str) -> subprocess.Popen[bytes]:
    work.mkdir(parents=True, exist_ok=True)
    argv = [str(tool_python("mlflow3")), str(PRODUCER), uri, str(work), str(work / "client.json"), mode]
    env = quiet_env(work) | extra
    return subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


_made: dict[str, Served] = {}


def shared_served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """One server for the session (every test_mlflow_rest*.py module), filled by MLflow's own
    client; the local stores with the jinja2 run meanwhile. `stop_served` ends it."""
    if "made" in _made:
        return _made["made"]
    base = tmp_path_factory.mktemp("mlflow-server")
    local = {
        "files": _produce(f"file://{base}/files/mlruns", base / "files", "pinned", MLFLOW_ALLOW_FILE_STORE="true"),
        "sqlite": _produce(f"sqlite:///{base}/sqlite/mlflow.db", base / "sqlite", "pinned"),
    }
    server = start_server(base / "server")
    try:
        producer = _produce(server.url, base / "client", "all")
        dumps = {}
        for name, process in {"server": producer, **local}.items():
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err.decode()[-3000:]
            dumps[name] = json.loads((base / ("client" if name == "server" else name) / "client.json").read_text())
        sources = {"files": str(base / "files" / "mlruns"), "sqlite": f"sqlite:///{base}/sqlite/mlflow.db"}
        _made["made"] = Served(server, dumps["server"], {k: (sources[k], dumps[k]) for k in local})
    except BaseException:
        server.stop()
        raise
    return _made["made"]


def stop_served() -> None:
    if "made" in _made:
        _made["made"].server.stop()
