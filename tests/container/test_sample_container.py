"""The sample project in a container of an image holding its pinned requirements, then reproduced."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor.record import load_record
from auditor.record.models import Packages
from tests.conftest import SAMPLE, CliRunner
from tests.container.conftest import SAMPLE_IMAGE, podman
from tests.test_sample import _pins

pytestmark = pytest.mark.slow


def test_the_sample_runs_in_a_container_and_reproduces_identically(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    project = tmp_path / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")  # auditor.yaml declares the data inside the venv
    done = cli(
        "run", "--image", SAMPLE_IMAGE, "--", "python", "run_pipeline.py", cwd=project, env=engine_env, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "[3/3] train done" in done.stdout
    (run_dir,) = (project / ".auditor" / "runs").iterdir()
    record = load_record(run_dir / "record.json")

    inspect = podman("image", "inspect", "--format", "{{.Id}} {{range .RepoDigests}}{{.}} {{end}}", SAMPLE_IMAGE)
    image_id, *digests = inspect.split()
    assert record.container is not None
    assert record.container.image_id == f"sha256:{image_id.removeprefix('sha256:')}"
    assert set(record.container.repo_digests) == set(digests)
    # The packages are the image's (/opt/venv), at exactly the pinned versions.
    packages = record.environment.packages
    assert isinstance(packages, Packages)
    installed = {d.name.lower().replace("_", "-"): d.version for d in packages.distributions}
    assert all(d.location.startswith("/opt/venv/") for d in packages.distributions)
    pins = _pins(SAMPLE / "requirements.txt")
    assert pins and all(installed.get(name) == version for name, version in pins.items())
    assert getattr(record.environment.python, "executable", "") == "/opt/venv/bin/python"

    done = cli("reproduce", record.identity.run_id, cwd=project, env=engine_env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "verdict: identical" in done.stdout
