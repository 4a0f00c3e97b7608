"""`auditor run -- dvc repro`: the real DVC's own files (`.git/`, `.dvc/`, `.gitignore`,
`~/.gitconfig`, temporary files) are counted as tool internals, never reported as undeclared
data, while a data file nobody declared still fails the rule."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from auditor.capture.observe.internals import Places, internal_place
from tests.conftest import CliRunner, base_env, git
from tests.ingest.conftest import tool_python

SPEC = """version: 1
project: {name: dvc-pipeline}
datasets:
  - {id: raw, role: input, path: data/raw.csv}
  - {id: params, role: input, path: params.yaml}
  - {id: code, role: input, path: src/prepare.py}
  - {id: clean, role: output, path: out/clean.csv}
"""
PREPARE = """import os
rows = open("data/raw.csv").read().splitlines()
if os.environ.get("READ_EXTRA"):
    open("data/extra.csv").read()
os.makedirs("out", exist_ok=True)
open("out/clean.csv", "w").write("\\n".join(rows[:3]) + "\\n")
"""

PLACES = Places(root="/w/proj", home="/home/ana", temp="/tmp")


@pytest.mark.parametrize(
    ("path", "place"),
    [
        ("/w/proj/.git/index", "tool internals: .git"),
        ("/w/proj/.dvc/config", "tool internals: .dvc"),
        ("/w/proj/.dvc/cache/files/md5/68/8bb8", "tool internals: .dvc"),
        ("/w/proj/data/.gitignore", "tool internals: .gitignore"),
        ("/w/proj/.dvcignore", "tool internals: .dvcignore"),
        ("/w/proj/dvc.lock", "tool internals: dvc.lock"),
        ("/w/proj/data/raw.csv.dvc", "tool internals: *.dvc"),
        ("/w/proj/src/__pycache__/a.cpython-311.pyc", "tool internals: __pycache__"),
        ("/w/proj/auditor_demo.egg-info/PKG-INFO", "tool internals: auditor_demo.egg-info"),
        ("/home/ana/.gitconfig", "tool internals: ~/.gitconfig"),
        ("/home/ana/.config/dvc/config", "tool internals: ~/.config"),
        ("/home/ana/.cache/pip/http/x", "tool internals: ~/.cache"),
        ("/opt/py/lib/python3.11/site-packages/x/y.json", "tool internals: site-packages"),
        ("/tmp/tmpjp7l2idl", "temporary files: /tmp"),
        ("/tmp/pymp-1234/x", "temporary files: /tmp"),
        ("/var/tmp/tmpq1w2e3", "temporary files: /var/tmp"),
    ],
)
def test_tool_internals_are_placed(path: str, place: str) -> None:
    assert internal_place(path, PLACES, written=False) == place


@pytest.mark.parametrize(
    "path",
    [
        "/w/proj/data/raw.csv",
        "/w/proj/dvc_results.csv",
        "/tmp/data.csv",
        "/var/tmp/d.csv",
        "/home/ana/ds/x.csv",
        "/home/ana/.cache/huggingface/datasets/imdb/train.arrow",
        "/home/ana/.cache/torch/hub/checkpoints/r.pth",
        "/home/ana/.keras/datasets/mnist.npz",
        "/w/proj/.cache/huggingface/hub/models--bert/model.safetensors",
    ],
)
def test_data_files_are_not_tool_internals(path: str) -> None:
    assert internal_place(path, PLACES, written=False) is None


def test_a_file_the_run_wrote_in_the_temp_folder_is_temporary() -> None:
    assert internal_place("/tmp/data.csv", PLACES, written=True) == "temporary files: /tmp"


def _project(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    (repo / "data").mkdir(parents=True)
    (repo / "src").mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n")
    (repo / "data" / "extra.csv").write_text("a\n1\n")
    (repo / "src" / "prepare.py").write_text(PREPARE)
    (repo / "params.yaml").write_text("prepare:\n  rows: 3\n")
    (repo / "auditor.yaml").write_text(SPEC)
    return repo


@pytest.fixture(scope="module")
def dvc_bin() -> Path:
    return tool_python("dvc").parent


def _run(cli: CliRunner, repo: Path, home: Path, dvc_bin: Path, **extra: str) -> dict[str, object]:
    env = base_env(HOME=str(home), **extra)
    env["PATH"] = f"{dvc_bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    done = cli("run", "--store", str(repo / ".auditor"), "--", "dvc", "repro", "-f", cwd=repo, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(cli("show", "latest", "--json", "--store", str(repo / ".auditor"), cwd=repo).stdout))


def test_dvc_repro_under_capture_has_no_undeclared_tool_files(tmp_path: Path, cli: CliRunner, dvc_bin: Path) -> None:
    repo = _project(tmp_path)
    home = tmp_path / "home"
    (home / ".config" / "dvc").mkdir(parents=True)
    (home / ".gitconfig").write_text("[user]\n\tname = t\n\temail = t@example.invalid\n")
    (home / ".config" / "dvc" / "config").write_text("[core]\n    analytics = false\n")
    env = base_env(HOME=str(home))
    env["PATH"] = f"{dvc_bin}{os.pathsep}{env['PATH']}"
    dvc = str(dvc_bin / "dvc")
    for argv in (
        [dvc, "init", "-q"],
        [dvc, "stage", "add", "-q", "-n", "prepare", "-d", "src/prepare.py", "-d", "data/raw.csv",
         "-p", "prepare.rows", "-o", "out/clean.csv", "python src/prepare.py"],
    ):  # fmt: skip
        subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True, timeout=120)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pipeline")

    record = _run(cli, repo, home, dvc_bin)
    observed = record["lineage"]["observed"]  # type: ignore[index]
    verdicts = {f["path"]: f["verdicts"] for f in observed["files"]}
    assert not [p for p, v in verdicts.items() if "undeclared_read" in v], verdicts
    assert verdicts["data/raw.csv"] == ["declared_read"]
    places = observed["environment_reads"]
    for place in ("tool internals: .git", "tool internals: .dvc", "tool internals: ~/.gitconfig"):
        assert places.get(place, 0) > 0, places
    check = cli("check", "latest", "--store", str(repo / ".auditor"), cwd=repo)
    assert "was read but is not declared" not in check.stdout
    store = ("--store", str(repo / ".auditor"))
    dossier = cli("report", "latest", "--format", "html", "-o", str(repo / "dossier"), *store, cwd=repo)
    assert dossier.returncode in (0, 1, 3), dossier.stderr
    assert "tool, cache and temporary files (.git, .dvc, ...)" in (repo / "dossier" / "dossier.html").read_text()

    _run(cli, repo, home, dvc_bin, READ_EXTRA="1")
    check = cli("check", "latest", "--store", str(repo / ".auditor"), cwd=repo)
    failures = [line for line in check.stdout.splitlines() if "was read but is not declared" in line]
    assert len(failures) == 1 and "data/extra.csv" in failures[0], check.stdout
