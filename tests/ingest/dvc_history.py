"""A DVC project with a git history, built once per test session by the real DVC and git.

`other`: a second git + DVC repository holding data/labels.csv (`dvc add`), imported by the main one.
`project`, one commit per step, each dated in the past:
  2021-01-10  `dvc add data/raw.csv`, requirements.txt, .dvcignore, the scripts, a local DVC remote
  2021-02-15  `dvc import OTHER data/labels.csv -o data/labels.csv`
  2021-03-04  dvc.yaml (stages prepare and train, `artifacts:`), `dvc repro`
  2021-05-20  a new train.epochs, `dvc repro` (only train runs again)
Everything is pushed to the local remote, so a clone can `dvc pull`. `clone()` makes a fresh
`git clone` (today's file times, no data: as after cloning a real project).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.ingest.conftest import tool_python
from tests.ingest.test_dvc import dvc, dvc_env

DATES = {
    "add": "2021-01-10T09:30:00+00:00",
    "import": "2021-02-15T14:00:00+00:00",
    "pipeline": "2021-03-04T11:15:00+00:00",
    "retrain": "2021-05-20T16:45:00+00:00",
}
PREPARE = """\
import os
rows = open("data/raw.csv").read().splitlines()
labels = open("data/labels.csv").read().splitlines()
os.makedirs("data/prepared", exist_ok=True)
open("data/prepared/train.csv", "w").write("\\n".join(rows[:3]) + "\\n")
open("data/prepared/labels.csv", "w").write("\\n".join(labels) + "\\n")
open("data/prepared/scratch.tmp", "w").write("ignored by .dvcignore\\n")
"""
TRAIN = """\
import json
params = {"epochs": int(open("params.yaml").read().split("epochs:")[1].split()[0])}
rows = open("data/prepared/train.csv").read().splitlines()
json.dump({"weights": [len(r) for r in rows], "epochs": params["epochs"]}, open("model.json", "w"))
json.dump({"accuracy": 0.5 + params["epochs"] / 100}, open("metrics.json", "w"))
"""
DVC_YAML = """\
artifacts:
  churn-model:
    path: model.json
    type: model
    desc: Predicts which customers leave
    labels: [tabular, churn]
    meta:
      owner: data-team
  raw-data:
    path: data/raw.csv
    type: dataset
    desc: Customer table exported from the CRM
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
    - data/raw.csv
    - data/labels.csv
    - src/prepare.py
    outs:
    - data/prepared
  train:
    cmd: python src/train.py
    deps:
    - data/prepared
    - src/train.py
    - src/requirements-train.txt
    params:
    - train.epochs
    outs:
    - model.json
    metrics:
    - metrics.json:
        cache: false
"""


@dataclass(frozen=True)
class History:
    project: Path  # the repository DVC built (data in the workspace)
    other: Path  # the repository it imports from
    remote: Path  # the DVC remote everything was pushed to


_built: dict[str, History] = {}


def git_at(repo: Path, when: str, *args: str) -> str:
    env = {**dvc_env(repo), "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout.strip()


def commit(repo: Path, when: str, message: str) -> None:
    git_at(repo, when, "add", "-A")
    git_at(repo, when, "commit", "-q", "-m", message)


def history(factory: pytest.TempPathFactory) -> History:
    if "h" in _built:
        return _built["h"]
    root = factory.mktemp("dvc-history")
    remote = root / "remote"
    remote.mkdir()
    other = root / "registry"
    (other / "data").mkdir(parents=True)
    git_at(other, DATES["add"], "init", "-q", "-b", "main")
    dvc(other, "init", "-q")
    (other / "data" / "labels.csv").write_text("id,label\n1,0\n2,1\n3,0\n")
    dvc(other, "add", "-q", "data/labels.csv")
    commit(other, "2020-06-01T08:00:00+00:00", "labels")

    project = root / "churn"
    for folder in ("data", "src"):
        (project / folder).mkdir(parents=True)
    git_at(project, DATES["add"], "init", "-q", "-b", "main")
    dvc(project, "init", "-q")
    dvc(project, "remote", "add", "-q", "-d", "store", str(remote))
    (project / "data" / "raw.csv").write_text("id,plan,months\n1,basic,3\n2,pro,12\n3,pro,1\n4,basic,7\n")
    dvc(project, "add", "-q", "data/raw.csv")
    (project / "requirements.txt").write_text("pyyaml==6.0.1\nnumpy>=1.24\n")
    (project / "src" / "requirements-train.txt").write_text("scikit-learn==1.3.2\n")
    (project / ".dvcignore").write_text("# scratch files of the scripts\n*.tmp\n")
    (project / "src" / "prepare.py").write_text(PREPARE)
    (project / "src" / "train.py").write_text(TRAIN)
    (project / "params.yaml").write_text("train:\n  epochs: 3\n")
    commit(project, DATES["add"], "raw data")

    dvc(project, "import", "-q", str(other), "data/labels.csv", "-o", "data/labels.csv")
    commit(project, DATES["import"], "import labels")

    (project / "dvc.yaml").write_text(DVC_YAML)
    dvc(project, "repro", "-q")
    commit(project, DATES["pipeline"], "pipeline")

    (project / "params.yaml").write_text("train:\n  epochs: 5\n")
    dvc(project, "repro", "-q")
    commit(project, DATES["retrain"], "retrain")
    dvc(project, "push", "-q")
    assert not git_at(project, DATES["retrain"], "status", "--porcelain")
    (root / "dag.dot").write_text(dvc(project, "dag", "--dot"))
    (root / "artifacts.json").write_text(artifacts_of(project))
    _built["h"] = History(project, other, remote)
    return _built["h"]


def clone(built: History, target: Path) -> Path:
    """A fresh `git clone`: the commits, today's file times, none of the DVC-tracked data."""
    subprocess.run(["git", "clone", "-q", str(built.project), str(target)], check=True, capture_output=True, timeout=60)
    return target


def artifacts_of(repo: Path) -> str:
    """DVC's own reading of `artifacts:` (its Python API: DVC has no command that lists them)."""
    script = (
        "import json, sys\nfrom dvc.repo import Repo\nout = {}\n"
        "for file, found in Repo(sys.argv[1]).artifacts.read().items():\n"
        "    for name, a in found.items():\n"
        "        out[name] = {'path': a.path, 'type': a.type, 'desc': a.desc, 'labels': a.labels, 'meta': a.meta}\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(tool_python("dvc")), "-c", script, str(repo)],
        cwd=repo,
        env=dvc_env(repo),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    json.loads(done.stdout)
    return done.stdout


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
