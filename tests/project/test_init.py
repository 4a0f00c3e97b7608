from __future__ import annotations

from pathlib import Path

from auditor.project.spec import load_spec
from tests.conftest import CliRunner


def test_init_writes_a_valid_commented_starter(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "churn model"
    (project / "data").mkdir(parents=True)
    (project / "data" / "customers.csv").write_text("id\n1\n")
    (project / "exports").mkdir()
    (project / "exports" / "scores.parquet").write_bytes(b"PAR1")
    (project / "exports" / "model.pkl").write_bytes(b"\x80")
    (project / "exports" / "model.json").write_text("{}")
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / ".venv" / "junk.csv").write_text("x\n")
    (project / "requirements.txt").write_text("numpy==2.1.0\n")

    done = cli("init", cwd=project)
    assert done.returncode == 0, done.stderr
    text = (project / "auditor.yaml").read_text()
    assert "# description" not in text and "description: null  # what the data is" in text
    spec = load_spec(project / "auditor.yaml")
    assert spec.project.name == "churn model"
    assert spec.environment.requirements == ("requirements.txt",)
    assert [d.path for d in spec.datasets] == ["data", "exports/model.json", "exports/scores.parquet"]
    assert [(m.id, m.path) for m in spec.models] == [("model-2", "exports/model.pkl")]
    assert all(d.datasheet.description is None for d in spec.datasets)

    again = cli("init", cwd=project)
    assert again.returncode == 2 and "already exists (use --force to overwrite)" in again.stderr
    assert cli("init", "--force", cwd=project).returncode == 0


def test_init_in_an_empty_folder(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("init", cwd=tmp_path).returncode == 0
    spec = load_spec(tmp_path / "auditor.yaml")
    assert spec.datasets == () and spec.models == ()
