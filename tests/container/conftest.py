"""The real container engine for these tests: podman serving the Docker API (see .ci/engine).

`./dev test` starts it and exports DOCKER_HOST; run alone (`pytest -m container`), the session
starts it here and stops it by its PID afterwards. An engine that cannot start fails the tests:
they are never skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, base_env

BASE_IMAGE = "localhost/auditor-python:bookworm"
SAMPLE_IMAGE = "localhost/auditor-sample:credit-scoring"
NOPYTHON_IMAGE = "localhost/auditor-nopython:test"
ENGINE = REPO / ".ci" / "engine"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.container)


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str]:
    started = False
    subprocess.run([str(ENGINE), "images"], check=True, timeout=900)
    host = os.environ.get("DOCKER_HOST")
    if not host:
        out = subprocess.run([str(ENGINE), "start"], check=True, capture_output=True, text=True, timeout=60)
        host = out.stdout.strip().split("=", 1)[1]
        started = True
    yield host
    if started:
        subprocess.run([str(ENGINE), "stop"], check=True, timeout=60)


@pytest.fixture
def engine_env(docker_host: str) -> dict[str, str]:
    return base_env(DOCKER_HOST=docker_host)


def podman(*args: str) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(REPO / ".cache" / "engine" / "containers.conf")}
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True, env=env, timeout=300).stdout


def leftover_containers() -> list[str]:
    return podman("ps", "-a", "--filter", "label=org.auditor.managed=true", "--format", "{{.ID}}").split()
