"""The sample credit-scoring project, captured end to end through the real CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, CliRunner, base_env

pytestmark = pytest.mark.slow


def _pins(requirements: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", requirements.read_text(), flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_capturing_the_sample_training_run(cli: CliRunner, tmp_path: Path) -> None:
    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup`")
    project = tmp_path / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))

    done = cli(
        "run",
        "--project",
        "credit-scoring",
        "--",
        str(python),
        "run_pipeline.py",
        cwd=project,
        env=base_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "[3/3] train done" in done.stdout and "metrics: " in done.stdout

    for produced in ("data/raw/german.csv", "models/credit_model.joblib", "outputs/predictions.csv"):
        assert (project / produced).is_file(), produced
    (run_dir,) = (project / ".auditor" / "runs").iterdir()
    record = json.loads((run_dir / "record.json").read_text())
    assert record["identity"]["project"] == "credit-scoring"
    assert record["identity"]["status"] == "succeeded"
    assert "metrics: " in (run_dir / "stdout.log").read_text()

    env = record["environment"]
    assert env["python"]["executable"] == str(python) and env["python"]["is_virtualenv"]
    installed = {d["name"].lower().replace("_", "-"): d["version"] for d in env["packages"]["distributions"]}
    pins = _pins(SAMPLE / "requirements.txt")
    assert {"pandas", "scikit-learn", "dalex"} <= set(pins)
    for name, version in pins.items():
        assert installed.get(name) == version, f"{name}: pinned {version}, recorded {installed.get(name)}"
    assert not {"typer", "pydantic", "auditor"} & set(installed), "auditor's own packages leaked into the record"
    assert record["resources"]["user_cpu_s"] > 1.0  # the three steps' subprocesses are accounted for
