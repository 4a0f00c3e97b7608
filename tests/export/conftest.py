"""The sample project captured once through the real CLI, with one sign-off: what every export reads."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE, CliRunner, base_env


@dataclass(frozen=True)
class Captured:
    store: Path
    run_id: str
    record: dict[str, Any]
    folder: Path


def export(cli: CliRunner, captured: Captured, fmt: str, *extra: str) -> str:
    done = cli("export", captured.run_id, "--format", fmt, "--store", str(captured.store), *extra, cwd=captured.folder)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    from tests.conftest import AUDITOR

    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup`")
    folder = tmp_path_factory.mktemp("export")
    project = folder / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")  # auditor.yaml declares the data inside the venv
    store = folder / "store"
    import subprocess

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(AUDITOR), *args, "--store", str(store)] if args[0] != "run" else [str(AUDITOR), *args],
            cwd=project,
            env=base_env(AUDITOR_STORE=str(store)),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("run", "--project", "credit-scoring", "--", str(project / ".venv" / "bin" / "python"), "run_pipeline.py")
    record = json.loads(run("show", "latest", "--json"))
    run_id = record["identity"]["run_id"]
    run("approve", run_id, "--role", "model risk officer", "--decision", "approve", "--comment", "ok", "--name", "Ada")
    return Captured(store, run_id, record, folder)
