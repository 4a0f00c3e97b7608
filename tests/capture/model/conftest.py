"""The sample project's real model file and predictions, made once per session by its own pipeline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample after `run_pipeline.py`: models/credit_model.joblib, outputs/*."""
    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup`")
    project = tmp_path_factory.mktemp("sample") / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")
    done = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "run_pipeline.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return project
