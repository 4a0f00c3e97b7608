"""Every registered executor, end to end: a real command through capture_run, and the questions
capture asks it (what the command can write, what environment it saw, where it ran).

The container executor needs the engine (marked `container`; see tests/container/conftest.py).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest

from auditor.capture.execute.container_setup import ContainerOptions, container_request
from auditor.capture.execute.interface import DataScope, ExecutorName
from auditor.capture.execute.local import LocalExecutor
from auditor.capture.execute.registry import EXECUTORS
from auditor.capture.request import CaptureRequest
from auditor.capture.run import CaptureContext, capture_run
from auditor.record.models import Missing, NotARepository, OsInfo, PythonInfo
from auditor.store.runs import RunStore
from tests.conftest import base_env
from tests.container.conftest import BASE_IMAGE, docker_host  # noqa: F401 - the container's fixture

SCRIPT = "import sys; print('hello from', sys.platform)"
OUTPUT = b"hello from linux\n"
Builder = Callable[[pytest.FixtureRequest, pytest.MonkeyPatch, Path], CaptureRequest]


def _local(_fixtures: pytest.FixtureRequest, _monkeypatch: pytest.MonkeyPatch, project: Path) -> CaptureRequest:
    return CaptureRequest(
        argv=[sys.executable, "-c", SCRIPT], cwd=project, env=base_env(), executor=LocalExecutor(grace_s=1)
    )


def _container(fixtures: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, project: Path) -> CaptureRequest:
    monkeypatch.setenv("DOCKER_HOST", fixtures.getfixturevalue("docker_host"))
    return container_request(
        ["python3", "-c", SCRIPT],
        ContainerOptions(image=BASE_IMAGE),
        cwd=project,
        store_root=project / ".auditor",
        host_env={},
    )


BUILDERS: dict[str, Builder] = {"local": _local, "container": _container}
MARKS = {"container": pytest.mark.container}


def test_the_registry_names_every_executor_a_record_can_name() -> None:
    assert set(EXECUTORS) == set(get_args(ExecutorName)) == set(BUILDERS)
    for name, executor in EXECUTORS.items():
        assert executor.name == name


@pytest.mark.parametrize("name", [pytest.param(n, marks=MARKS.get(n, ())) for n in EXECUTORS])
def test_each_executor_runs_a_command_and_says_where(
    name: ExecutorName, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    capture = BUILDERS[name](request, monkeypatch, project)
    executor = capture.executor
    assert isinstance(executor, EXECUTORS[name])
    warnings: list[str] = []

    record = capture_run(RunStore.create(project / ".auditor"), capture, CaptureContext(warn=warnings.append))

    ident = record.identity
    assert (ident.status, ident.exit_code, ident.error) == ("succeeded", 0, None), ident
    assert record.origin.executor == name
    assert record.outputs.stdout.sha256 == hashlib.sha256(OUTPUT).hexdigest()
    assert isinstance(record.source, NotARepository)
    assert isinstance(record.environment.python, PythonInfo)
    assert isinstance(record.environment.os, OsInfo)
    assert warnings == []
    scope = executor.data_scope()
    why = Missing(reason="collector failed: test")
    missing = executor.environment_missing(why)
    assert missing.python.python == why
    if name == "local":
        assert scope == DataScope()
        assert record.container is None
        assert executor.section(missing, ()) is None
        assert isinstance(missing.os, OsInfo)  # this machine's OS is known without the probe
    else:
        assert scope.allowed_roots is not None and project in scope.allowed_roots
        assert record.container is not None and record.container.image_ref == BASE_IMAGE
        assert record.container.config is not None and record.container.config.workdir == str(project)
        assert getattr(record.container.system_packages, "manager", None) == "dpkg"
        assert missing.os == why
        section = executor.section(missing, ())
        assert section is not None and section.system_packages == why
