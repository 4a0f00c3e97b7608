"""`auditor reproduce` after a normal local run in a git repository: the run's own outputs
(tracked or not) are expected changes; any other changed file is named in the refusal."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CliRunner, git

TRAIN = """import json, os, auditor
rows = open("data/in.csv").read().split()
os.makedirs("work", exist_ok=True)
open("work/clean.csv", "w").write("\\n".join(rows))
json.dump({"n": len(rows)}, open("outputs/metrics.json", "w"))
open("outputs/model.txt", "w").write("model\\n")
open("dvc.lock", "w").write("schema: '2.0'\\n")
auditor.log_metric("n", len(rows))
"""
SPEC = """version: 1
project: {name: repro}
datasets:
  - {id: in, role: input, path: data/in.csv}
  - {id: clean, role: intermediate, path: work/clean.csv}
  - {id: metrics, role: output, path: outputs/metrics.json}
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "outputs").mkdir()
    (root / "data" / "in.csv").write_text("x\n1\n2\n")
    (root / "train.py").write_text(TRAIN)
    (root / "auditor.yaml").write_text(SPEC)
    (root / "outputs" / "metrics.json").write_text("{}")  # tracked: the run changes it
    (root / "dvc.lock").write_text("")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    return root


def test_the_runs_own_outputs_are_expected_changes(tmp_path: Path, cli: CliRunner) -> None:
    root = _project(tmp_path)
    assert cli("run", "--", "python", "train.py", cwd=root).returncode == 0
    original = sorted(p.name for p in (root / ".auditor" / "runs").iterdir())[0]
    assert git(root, "status", "--porcelain")  # outputs/metrics.json, dvc.lock, new files

    done = cli("reproduce", original, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "verdict: identical" in done.stdout
    assert "only the run's own outputs changed since" in done.stdout

    (root / "train.py").write_text(TRAIN + "# tuned\n")
    (root / "notes.txt").write_text("n")
    done = cli("reproduce", original, cwd=root)
    assert done.returncode == 3
    assert "files changed that the run does not write: notes.txt, train.py" in done.stderr
    for expected in ("metrics.json", "model.txt", "clean.csv", "dvc.lock"):
        assert expected not in done.stderr
    assert "None" not in done.stderr and "Traceback" not in done.stderr


def test_a_new_commit_is_named(tmp_path: Path, cli: CliRunner) -> None:
    root = _project(tmp_path)
    assert cli("run", "--", "python", "train.py", cwd=root).returncode == 0
    first = git(root, "rev-parse", "HEAD")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "outputs")
    done = cli("reproduce", "latest", cwd=root)
    assert done.returncode == 3
    assert f"it was at git commit {first}, now at git commit {git(root, 'rev-parse', 'HEAD')}" in done.stderr
