"""The logging API in training scripts, on every Python a training script may use (3.8 to 3.13).

`auditor run` serves auditor/api.py as the `auditor` module to interpreters without auditor (any
Python >= 3.8); each call becomes part of the run record. The interpreters are the ones pyenv holds
on these machines: a missing one fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliRunner

PYENV = Path.home() / ".pyenv" / "versions"
VERSIONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")

SCRIPT = """\
import auditor
auditor.log_param("seed", 7)
auditor.log_params({"C": 1.5, "layers": [64, 32], "db_password": "hunter2-not-logged"})
auditor.log_metric("loss", 0.9, step=1)
auditor.log_metrics({"loss": 0.4, "accuracy": 0.81}, step=2)
auditor.set_tag("team", "credit-risk")
auditor.set_tags({"ticket": "MRM-112", "api_key": "sk-should-be-masked"})
with open("model.bin", "wb") as handle:
    handle.write(b"weights")
auditor.log_artifact("model.bin", artifact_path="models")
"""


def interpreter(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.fail(f"no Python {version} under {PYENV}: these machines hold 3.8 to 3.13 in pyenv")
    return found[-1]


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_every_logging_call_reaches_the_record(version: str, cli: CliRunner, tmp_path: Path) -> None:
    python = interpreter(version)
    (tmp_path / "train.py").write_text(SCRIPT)
    done = cli("run", "--", str(python), "train.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / ".auditor" / "runs").iterdir()
    record = json.loads((folder / "record.json").read_text())
    assert record["environment"]["python"]["version"].startswith(version + ".")
    params = record["params"]
    assert params["seed"] == 7 and params["C"] == 1.5 and params["layers"] == "[64, 32]"
    assert params["db_password"] != "hunter2-not-logged"
    assert "hunter2" not in (folder / "record.json").read_text()
    metrics = {(m["name"], m["step"]): m["value"] for m in record["metrics"]}
    assert metrics == {("loss", 1): 0.9, ("loss", 2): 0.4, ("accuracy", 2): 0.81}
    tags = record["tags"]
    assert tags["team"] == "credit-risk" and tags["ticket"] == "MRM-112"
    assert tags["api_key"] != "sk-should-be-masked"
    outputs = [d for d in record["lineage"]["datasets"] if d["role"] == "output"]
    assert [d["path"] for d in outputs] == ["model.bin"]
    import hashlib

    assert outputs[0]["after"]["sha256"] == hashlib.sha256(b"weights").hexdigest()


def test_the_api_module_imports_on_python_3_8(tmp_path: Path) -> None:
    """Without `auditor run` too: the module a script imports must at least load (and warn once)."""
    package = tmp_path / "auditor"
    package.mkdir()
    source = Path(__file__).resolve().parents[1] / "auditor" / "api.py"
    (package / "__init__.py").write_text(source.read_text())
    done = subprocess.run(
        [str(interpreter("3.8")), "-W", "error::DeprecationWarning", "-c", SCRIPT],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("not inside `auditor run`") == 1
    assert sys.version_info >= (3, 11)  # auditor itself: the API module is the one 3.8 part
