"""Reading W&B runs that the real `wandb` package wrote offline, compared with what the runs
logged (tests/ingest/wandb_producer.py) and with W&B's own protobuf classes' decoding of the
same files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.ingest.ingested import Ingested, build_record
from auditor.ingest.interface import Confidence
from auditor.ingest.wandb import reader as wandb
from auditor.record.base import Missing
from auditor.record.lineage import IdentityHint
from auditor.record.models import DeclaredRequirements, ReportedSource
from tests.ingest.conftest import tool_python

PRODUCER = Path(__file__).parent / "wandb_producer.py"
TOKEN = "ghp_s3cr3tT0kenForTheTests"


@dataclass(frozen=True)
class Project:
    root: Path  # the project folder, holding wandb/
    logged: dict[str, dict[str, Any]]  # scenario -> what the run logged (wandb_producer.py)
    oracle: dict[str, list[dict[str, Any]]]  # scenario -> its records, as W&B's own classes decode them
    folders: dict[str, Path]  # scenario -> its run folder
    commit: str

    def record(self, scenario: str, kind: str) -> dict[str, Any]:
        """The last record of a kind ("run", "exit", ...) in a run's file, as W&B decodes it."""
        found = [r[kind] for r in self.oracle[scenario] if kind in r]
        return found[-1] if found else {}

    def environment(self, scenario: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for record in self.oracle[scenario]:
            merged |= record.get("environment", {})
        return merged


_made: dict[str, Project] = {}


def _git(cwd: Path, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def make_project(base: Path) -> Project:
    root = base / "credit"
    root.mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "remote", "add", "origin", f"https://analyst:{TOKEN}@github.com/acme/credit.git")
    shutil.copy(PRODUCER, root / "train.py")
    _git(root, "add", "train.py")
    _git(root, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-qm", "train")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base), "USER": "analyst"}
    python = str(tool_python("wandb"))
    done = subprocess.run([python, "train.py", str(root)], cwd=root, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    logged = {name: json.loads((root / f"logged-{name}.json").read_text()) for name in ("train", "broken", "killed")}
    folders = {name: next((root / "wandb").glob(f"offline-run-*-{v['run_id']}")) for name, v in logged.items()}
    files = [str(next(f.glob("*.wandb"))) for f in folders.values()]
    shown = subprocess.run([python, str(PRODUCER), "--oracle", *files], env=env, capture_output=True, timeout=120)
    assert shown.returncode == 0, shown.stderr.decode()[-3000:]
    decoded = json.loads(shown.stdout)
    oracle = {name: decoded[file] for name, file in zip(folders, files, strict=True)}
    return Project(root, logged, oracle, folders, _git(root, "rev-parse", "HEAD"))


def shared_project(factory: pytest.TempPathFactory) -> Project:
    """Made once per test session, for every test_wandb*.py module (the real wandb takes seconds)."""
    if "made" not in _made:
        _made["made"] = make_project(factory.mktemp("wandb"))
    return _made["made"]


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return shared_project(tmp_path_factory)


def runs_of(project: Project) -> dict[str, Ingested]:
    by_id = {r.source_run_id: r for r in wandb.read(project.root)}
    assert set(by_id) == {v["run_id"] for v in project.logged.values()}
    return {name: by_id[v["run_id"]] for name, v in project.logged.items()}


def test_config_is_kept_verbatim(project: Project) -> None:
    train = runs_of(project)["train"]
    config = project.logged["train"]["config"]
    assert set(train.params) == set(config)
    for key, value in config.items():
        got = train.params[key]
        if isinstance(value, list | dict):
            assert isinstance(got, str) and json.loads(got) == value  # W&B's JSON text of it
        else:
            assert got == value and type(got) is type(value), key  # strings byte for byte
    wandbs_own = {i["key"]: i["value_json"] for i in project.record("train", "run")["config"]["update"]}
    assert train.params["hidden_layers"] == wandbs_own["hidden_layers"] == "[64,32]"
    assert train.params["optimizer"] == wandbs_own["optimizer"]


def test_history_and_summary_match_what_was_logged(project: Project) -> None:
    train = runs_of(project)["train"]
    rows = project.logged["train"]["history"]
    for key in ("loss", "accuracy"):
        mine = [(m.step, m.value) for m in train.metrics if m.name == key]
        assert mine == [(step, row[key]) for step, row in enumerate(rows)]
    assert not [m for m in train.metrics if m.name == "phase"]  # text is not a metric...
    assert train.tags["wandb.summary.phase"] == rows[-1]["phase"]  # ...it is kept in the summary, verbatim
    assert {(m.name, m.step, m.value) for m in train.metrics if m.name.startswith("eval.")} == {
        ("eval.f1", 12, 0.81),
        ("eval.auc", 12, 0.9),
    }
    assert [(m.step, m.value) for m in train.metrics if m.name == "best_accuracy"] == [(None, 0.97)]
    assert train.tags["wandb.summary.verdict"] == "keep [1, 2] exactly"
    times = [m.logged_at for m in train.metrics if m.name == "loss"]
    assert times == sorted(times) and train.started_at <= times[0] and train.ended_at is not None
    assert times[-1] <= train.ended_at
    history_records = [r for r in project.oracle["train"] if "history" in r]
    assert len(history_records) == len(rows) + 1  # every row W&B wrote is read


def test_run_metadata_matches_wandbs_own_decoding(project: Project) -> None:
    train = runs_of(project)["train"]
    run, env = project.record("train", "run"), project.environment("train")
    assert train.started_at == datetime.fromisoformat(run["start_time"].replace("Z", "+00:00"))
    assert train.name == run["display_name"] == "train-logreg" and train.project == run["project"] == "credit-scoring"
    assert train.tool == "Weights & Biases" and train.tool_version == project.logged["train"]["version"]
    assert train.host == run["host"] and train.cwd == env["root"] == str(project.root)
    assert train.argv == (env["executable"], env["program"], *env.get("args", []))
    assert train.tags["wandb.os"] == env["os"] and train.tags["wandb.python"] == env["python"]
    assert train.tags["wandb.cpu_count"] == str(env["cpu_count"])
    assert train.tags["wandb.memory_bytes"] == str(env["memory"]["total"])
    assert train.tags["wandb.notes"] == "first baseline, see ticket 12"
    assert json.loads(train.tags["wandb.tags"]) == ["baseline", "v1"]
    assert train.tags["wandb.group"] == "baseline" and train.tags["wandb.job_type"] == "train"
    assert ("gpu_nvidia" in env) == ("wandb.gpus" in train.tags)  # this machine has none: none invented
    source = train.source
    assert isinstance(source, ReportedSource) and source.commit == env["git"]["commit"] == project.commit
    assert source.repo_url == "https://github.com/acme/credit.git" and source.path == "train.py"
    assert TOKEN not in json.dumps(train.tags) + str(train.source)


def test_exit_codes_and_unfinished_runs(project: Project) -> None:
    runs = runs_of(project)
    train, broken, killed = runs["train"], runs["broken"], runs["killed"]
    assert (train.status, train.exit_code, train.error) == ("succeeded", 0, None)
    assert project.record("broken", "exit").get("exit_code") == 1
    assert (broken.status, broken.exit_code) == ("failed", 1)
    assert broken.error == "RuntimeError: the data loader failed"  # the last line W&B saw on stderr
    assert project.record("killed", "exit") == {} and not any("exit" in r for r in project.oracle["killed"])
    assert (killed.status, killed.exit_code, killed.ended_at) == ("unfinished", None, None)
    assert any("no exit record" in note for note in killed.notes)
    written = len([r for r in project.oracle["killed"] if "history" in r])
    assert 0 < written <= project.logged["killed"]["steps"]
    assert len(killed.metrics) == written  # every row that reached the file
    record = build_record(killed)
    assert record.identity.ended_at is None and record.identity.duration_s is None
    assert record.identity.status == "unfinished" and record.resources.wall_s is None


def test_artifacts_are_identity_hints(project: Project) -> None:
    train = runs_of(project)["train"]
    files = project.logged["train"]["files"]
    artifacts = {a["name"]: a for r in project.oracle["train"] if "artifact" in r for a in [r["artifact"]]}
    (dataset,) = train.datasets
    assert dataset.role == "output" and dataset.uri == "credit-scoring/credit-train"
    assert isinstance(dataset.after, IdentityHint) and dataset.after.algorithm == "md5"
    assert dataset.after.value == files["train.csv"]  # W&B's MD5 is the file's
    assert dataset.annotations["description"] == "the training split"
    (model,) = train.models
    assert isinstance(model.after, IdentityHint) and model.after.algorithm == "wandb-manifest-md5"
    assert model.after.value == artifacts["credit-model"]["digest"]
    assert model.annotations["type"] == "model"
    assert json.loads(model.annotations["metadata"]) == {"framework": "sklearn"}
    assert "candidate" in model.annotations["aliases"]
    for name in ("weights.bin", "config.json"):
        assert f"{name} (" in model.annotations["entries"] and files[name] in model.annotations["entries"]
    assert "not integrity hashes" in " ".join(train.notes)


def test_requirements_are_the_declared_environment(project: Project) -> None:
    train = runs_of(project)["train"]
    text = (project.folders["train"] / "files" / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    declared = train.declared
    assert isinstance(declared, DeclaredRequirements)
    (file,) = declared.files
    assert file.path.endswith("files/requirements.txt") and file.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert [f"{p.name}{p.specifier}" for p in file.pins] == lines
    assert any(p.name == "wandb" and p.version == project.logged["train"]["version"] for p in file.pins)
    assert any("declared environment, not observed" in note for note in train.notes)
    record = build_record(train)
    assert record.environment.declared == declared
    assert isinstance(record.environment.packages, Missing) and isinstance(record.hardware.gpus, Missing)


def test_every_spelling_of_the_source_reads_the_same_runs(project: Project) -> None:
    whole = {r.source_run_id for r in wandb.read(project.root)}
    assert {r.source_run_id for r in wandb.read(project.root / "wandb")} == whole
    folder = project.folders["broken"]
    (one,) = wandb.read(folder)
    assert one.source_run_id == project.logged["broken"]["run_id"]
    (chosen,) = wandb.read(project.root, run_id=project.logged["train"]["run_id"])
    assert chosen.name == "train-logreg"
    assert wandb.read(project.root, run_id="nosuchrun") == []


def test_a_folder_of_wandb_runs_is_detected(project: Project, tmp_path: Path) -> None:
    from auditor.ingest.registry import canonical, detect
    from auditor.ingest.wandb.ingester import WandbIngester

    for source in (project.root, project.root / "wandb", project.folders["killed"]):
        assert detect(str(source)) == "wandb"
        assert WandbIngester().detect(str(source)) == Confidence.SURE
    empty = tmp_path / "wandb" / "offline-run-20260101_000000-abc"
    empty.mkdir(parents=True)  # a run folder without its .wandb file is not claimed
    assert WandbIngester().detect(str(tmp_path)) == Confidence.NO
    link = tmp_path / "latest-run"  # as wandb makes it
    link.symlink_to(project.folders["train"])
    assert WandbIngester().detect(str(link)) == Confidence.SURE  # named, it is followed...
    assert len(wandb.read(project.root / "wandb")) == 3  # ...but a folder's links are not: no run read twice
    (run,) = wandb.read(Path(canonical(str(link))))
    assert run.name == "train-logreg"
