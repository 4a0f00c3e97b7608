"""`auditor init` in a DVC repository the real DVC made, and in an MLflow project: steps, roles,
models, params and metrics files from the pipeline files; build and tool folders skipped."""

from __future__ import annotations

import subprocess
from pathlib import Path

from auditor.project.spec import load_spec
from tests.conftest import CliRunner, base_env, git
from tests.ingest.conftest import tool_python

MLPROJECT = """name: wine
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      data_file: {type: path, default: data/wine.csv}
      l1_ratio: float
    command: "python train.py --alpha {alpha}
              --data {data_file}"
  validate:
    parameters:
      model_dir: path
    command: "python validate.py {model_dir}"
"""


def _dvc(repo: Path, *args: str) -> None:
    dvc = tool_python("dvc").parent / "dvc"
    subprocess.run([str(dvc), *args], cwd=repo, env=base_env(), check=True, capture_output=True, timeout=120)


def test_init_reads_a_dvc_pipeline(tmp_path: Path, cli: CliRunner) -> None:
    repo = tmp_path / "pipeline"
    for folder in ("data", "src", "build/lib", "dist", "mypkg.egg-info", "src/__pycache__", "outputs", ".venv"):
        (repo / folder).mkdir(parents=True, exist_ok=True)
    (repo / "data" / "raw.csv").write_text("x,y\n1,0\n")
    (repo / "data" / "lookup.csv").write_text("k\n1\n")  # beside `dvc add`ed data, in no pipeline file
    (repo / "src" / "prepare.py").write_text("print(1)\n")
    (repo / "src" / "train.py").write_text("print(2)\n")
    (repo / "params.yaml").write_text("prepare:\n  split: 0.2\ntrain:\n  C: 1\n")
    (repo / "mypkg.egg-info" / "SOURCES.txt").write_text("src/prepare.py\n")
    (repo / "build" / "lib" / "table.csv").write_text("a\n")
    (repo / "dist" / "mypkg-0.1.tar.gz.json").write_text("{}")
    (repo / "src" / "__pycache__" / "cache.json").write_text("{}")
    (repo / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / "outputs" / "scores.csv").write_text("s\n1\n")
    (repo / ".devcontainer.json").write_text("{}")
    git(repo, "init", "-q", "-b", "main")
    _dvc(repo, "init", "-q")
    _dvc(repo, "add", "-q", "data/raw.csv")
    _dvc(repo, "stage", "add", "-q", "-n", "prepare", "-d", "src/prepare.py", "-d", "data/raw.csv",
         "-p", "prepare.split", "-o", "data/prepared", "python src/prepare.py")  # fmt: skip
    _dvc(repo, "stage", "add", "-q", "-n", "train", "-d", "src/train.py", "-d", "data/prepared",
         "-p", "train.C", "-o", "models/model.pkl", "-M", "metrics.json", "python src/train.py")  # fmt: skip

    done = cli("init", cwd=repo)
    assert done.returncode == 0, done.stderr
    spec = load_spec(repo / "auditor.yaml")
    roles = {d.path: d.role for d in spec.datasets}
    assert roles == {
        "data/raw.csv": "input",
        "data/lookup.csv": "input",
        "data/prepared": "intermediate",
        "metrics.json": "output",
        "params.yaml": "input",
        "outputs/scores.csv": "output",
    }
    ids = {d.path: d.id for d in spec.datasets}
    assert [(m.id, m.path) for m in spec.models] == [("model", "models/model.pkl")]
    assert [(s.name, s.command, s.inputs, s.outputs) for s in spec.steps] == [
        ("prepare", "python src/prepare.py", (ids["data/raw.csv"], ids["params.yaml"]), (ids["data/prepared"],)),
        ("train", "python src/train.py", (ids["data/prepared"], ids["params.yaml"]), ("model", ids["metrics.json"])),
    ]
    assert spec.params_files == ("params.yaml",) and spec.metrics_files == ("metrics.json",)
    text = (repo / "auditor.yaml").read_text()
    skipped_names = ("egg-info", "SOURCES.txt", "build/", "dist/", "__pycache__", ".venv", ".dvc/", "raw.csv.dvc")
    for skipped in (*skipped_names, ".devcontainer"):
        assert skipped not in text, skipped
    assert "# code: src/prepare.py" in text


def test_init_reads_an_mlflow_project(tmp_path: Path, cli: CliRunner) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "wine.csv").write_text("a\n1\n")
    (tmp_path / "MLproject").write_text(MLPROJECT)
    (tmp_path / "train.py").write_text("pass\n")
    done = cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    spec = load_spec(tmp_path / "auditor.yaml")
    assert [(d.id, d.role, d.path) for d in spec.datasets] == [("wine", "input", "data/wine.csv")]
    assert [(s.name, s.command, s.inputs) for s in spec.steps] == [
        ("main", "python train.py --alpha {alpha} --data {data_file}", ("wine",)),
        ("validate", "python validate.py {model_dir}", ()),
    ]
    text = (tmp_path / "auditor.yaml").read_text()
    assert "MLproject parameters: alpha (float, default 0.5), data_file (path, default data/wine.csv)" in text
    assert "MLproject python_env: python_env.yaml" in text


def test_a_broken_pipeline_file_is_one_line(tmp_path: Path, cli: CliRunner) -> None:
    (tmp_path / "dvc.yaml").write_text("stages:\n  a: [\n")
    done = cli("init", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("auditor: error: dvc.yaml:") and "Traceback" not in done.stderr
    assert not (tmp_path / "auditor.yaml").exists()


def test_pipeline_text_stays_inside_comments(tmp_path: Path, cli: CliRunner) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    outs: [model.pkl]\n"
        'artifacts:\n  clf:\n    path: model.pkl\n    type: model\n    desc: "line\\nversion: 2\\nsteps: oops"\n'
    )
    done = cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    spec = load_spec(tmp_path / "auditor.yaml")
    assert [m.path for m in spec.models] == ["model.pkl"] and [s.name for s in spec.steps] == ["train"]
    text = (tmp_path / "auditor.yaml").read_text()
    assert "#   model.pkl: DVC model artifact clf: line version: 2 steps: oops" in text
