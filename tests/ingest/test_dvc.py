"""`auditor.ingest.dvc.reader` on a pipeline the real DVC built: `dvc init`, `dvc stage add`, `dvc repro`.

The record's lineage must have the stage graph `dvc dag --dot` prints and the outputs that
`dvc dag --outs --dot` prints; DVC's MD5s recomputed by auditor must equal the ones in dvc.lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.ingest.dvc.md5 import current
from auditor.ingest.dvc.reader import read
from auditor.ingest.ingested import Ingested, build_record
from auditor.record.lineage import ContentHash, Dataset, IdentityHint, Step
from tests.conftest import git
from tests.ingest.conftest import tool_python

PARAMS = """\
prepare:
  split: 0.25
  seed: 7
train:
  lr: 0.01
  epochs: 3
  layers: [8, 4]
"""
PREPARE = """\
import os
rows = open("data/raw.csv", "rb").read().splitlines(keepends=True)
os.makedirs("data/prepared/nested", exist_ok=True)
open("data/prepared/train.csv", "wb").write(b"".join(rows[:3]))
open("data/prepared/test.csv", "wb").write(b"".join(rows[:1] + rows[3:]))
open("data/prepared/nested/info.txt", "wb").write(b"split 0.25\\r\\nseed 7\\r\\n")
open("data/prepared/Z-first.txt", "w").write("upper case sorts first")
for i in range(6):
    open(f"data/prepared/nested/part-{i}.txt", "w").write(f"part {i}\\n")
"""
TRAIN = """\
import json, os
rows = open("data/prepared/train.csv").read().splitlines()
json.dump({"weights": [len(r) for r in rows]}, open("model.json", "w"))
json.dump({"accuracy": 0.875, "loss": {"train": 0.25, "val": 0.5}, "note": "ok", "converged": True},
          open("metrics.json", "w"))
"""
EVALUATE = """\
import json, sys
split = sys.argv[1]
rows = open(f"data/prepared/{split}.csv").read().splitlines()
json.dump({"rows": len(rows)}, open(f"eval/{split}.json", "w"))
"""
FOREACH = """\
  evaluate:
    foreach: [train, test]
    do:
      cmd: python src/evaluate.py ${item}
      deps:
      - model.json
      - src/evaluate.py
      - data/prepared/${item}.csv
      outs:
      - eval/${item}.json:
          cache: false
"""
_built: dict[str, Path] = {}


def dvc_env(repo: Path) -> dict[str, str]:
    python = tool_python("dvc")
    return {
        **{k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TZ", "USER")},
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(repo.parent / "dvc-site-cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }


def dvc(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [str(tool_python("dvc")), "-m", "dvc", *args],
        cwd=repo,
        env=dvc_env(repo),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def pipeline(factory: pytest.TempPathFactory) -> Path:
    """The pipeline, built once per test session; tests that change it work on a copy."""
    if "repo" not in _built:
        repo = factory.mktemp("dvc-pipeline") / "churn"
        for folder in ("data", "src", "eval"):
            (repo / folder).mkdir(parents=True)
        (repo / "data" / "raw.csv").write_bytes(b"id,label\r\n1,0\r\n2,1\r\n3,0\r\n4,1\r\n")
        (repo / "params.yaml").write_text(PARAMS)
        for name, text in (("prepare", PREPARE), ("train", TRAIN), ("evaluate", EVALUATE)):
            (repo / "src" / f"{name}.py").write_text(text)
        git(repo, "init", "-q", "-b", "main")
        dvc(repo, "init", "-q")
        dvc(repo, "config", "core.analytics", "false")
        dvc(
            repo,
            "stage",
            "add",
            "-n",
            "prepare",
            "-p",
            "prepare.split,prepare.seed",
            "-d",
            "src/prepare.py",
            "-d",
            "data/raw.csv",
            "-o",
            "data/prepared",
            "python src/prepare.py",
        )
        dvc(
            repo,
            "stage",
            "add",
            "-n",
            "train",
            "-p",
            "train",
            "-d",
            "src/train.py",
            "-d",
            "data/prepared",
            "-o",
            "model.json",
            "-M",
            "metrics.json",
            "python src/train.py",
        )
        with (repo / "dvc.yaml").open("a") as handle:
            handle.write(FOREACH)
        dvc(repo, "repro", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "pipeline")
        (repo.parent / "dag.dot").write_text(dvc(repo, "dag", "--dot"))
        (repo.parent / "outs.dot").write_text(dvc(repo, "dag", "--outs", "--dot"))
        _built["repo"] = repo
    return _built["repo"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline(tmp_path_factory)


def copy_of(repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / repo.name
    shutil.copytree(repo, target, symlinks=True)
    return target


def dot_edges(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    nodes = set(re.findall(r'^"([^"]+)";$', text, re.M))
    edges = set(re.findall(r'^"([^"]+)" -> "([^"]+)";$', text, re.M))
    return nodes, edges


def only(runs: list[Ingested]) -> Ingested:
    assert len(runs) == 1
    return runs[0]


def stage_graph(graph: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """Stage -> stage edges through a dataset, read from the record's node-link JSON."""
    steps = {n["id"].removeprefix("step:") for n in graph["nodes"] if n["id"].startswith("step:")}
    writes: dict[str, set[str]] = {}
    reads: dict[str, set[str]] = {}
    for edge in graph["edges"]:
        source, target = edge["source"], edge["target"]
        if source.startswith("step:") and target.startswith("dataset:"):
            writes.setdefault(target, set()).add(source.removeprefix("step:"))
        elif source.startswith("dataset:") and target.startswith("step:"):
            reads.setdefault(source, set()).add(target.removeprefix("step:"))
    edges = {(a, b) for d, writers in writes.items() for a in writers for b in reads.get(d, set())}
    return steps, edges


def test_lineage_has_the_stage_graph_of_dvc_dag(repo: Path) -> None:
    record = build_record(only(read(repo)))
    assert record.lineage is not None and not isinstance(record.lineage, dict)
    graph = record.lineage.graph  # type: ignore[union-attr]
    ours = stage_graph(graph)
    theirs = dot_edges((repo.parent / "dag.dot").read_text())
    assert theirs[0] == {"prepare", "train", "evaluate@train", "evaluate@test"}
    assert ours == theirs
    assert outs_graph(record.lineage.datasets, record.lineage.steps) == dot_edges(  # type: ignore[union-attr]
        (repo.parent / "outs.dot").read_text()
    )


def outs_graph(datasets: tuple[Dataset, ...], steps: tuple[Step, ...]) -> tuple[set[str], set[tuple[str, str]]]:
    """`dvc dag --outs`: an edge from the output a stage reads (or the folder holding it) to each of its outputs."""
    by_id = {d.id: d for d in datasets}
    own = {
        s.name: [by_id[i].path or "" for i in s.outputs if "dvc.overlaps" not in by_id[i].annotations] for s in steps
    }
    nodes = {path for paths in own.values() for path in paths if path}
    edges: set[tuple[str, str]] = set()
    for step in steps:
        for ident in step.inputs:
            dataset = by_id[ident]
            source = dataset.annotations.get("dvc.overlaps", "").removeprefix("inside output ") or dataset.path
            if source in nodes:
                edges |= {(source, out) for out in own[step.name] if out}
    return nodes, edges


def test_stages_datasets_params_and_metrics(repo: Path) -> None:
    run = only(read(repo))
    assert run.tool == "DVC" and run.status == "succeeded" and run.error is None
    steps = {s.name: s for s in run.steps}
    assert steps["prepare"].command == "python src/prepare.py"
    assert steps["evaluate@test"].command == "python src/evaluate.py test"
    assert steps["prepare"].annotations["param:prepare.split"] == "0.25"
    assert steps["train"].annotations["param:train.layers"] == "[8, 4]"
    datasets = {d.path: d for d in run.datasets}
    assert datasets["data/raw.csv"].role == "input"
    assert datasets["data/prepared"].role == "intermediate"
    assert datasets["model.json"].role == "intermediate"
    assert datasets["eval/test.json"].role == "output"
    assert datasets["eval/test.json"].annotations["dvc.cache"] == "false"
    assert datasets["data/prepared/test.csv"].annotations["dvc.overlaps"] == "inside output data/prepared"
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    raw = datasets["data/raw.csv"].before
    assert isinstance(raw, IdentityHint) and raw.algorithm == "md5" and raw.tool == "DVC"
    assert (
        raw.value == lock["stages"]["prepare"]["deps"][0]["md5"]
        or raw.value == lock["stages"]["prepare"]["deps"][1]["md5"]
    )
    folder = datasets["data/prepared"].after
    assert isinstance(folder, IdentityHint) and folder.algorithm == "md5-dir" and folder.value.endswith(".dir")
    assert run.params == {
        "prepare.split": 0.25,
        "prepare.seed": 7,
        "train.lr": 0.01,
        "train.epochs": 3,
        "train.layers": "[8, 4]",
    }
    metrics = {m.name: m.value for m in run.metrics}
    assert metrics == {"accuracy": 0.875, "loss.train": 0.25, "loss.val": 0.5}
    assert any("not numeric" in n and "note" in n and "converged" in n for n in run.notes)
    assert run.time_basis == "git_commit" and run.time_note
    assert "(stages evaluate@test, evaluate@train, prepare, train)" in run.time_note
    assert run.source is not None and not isinstance(run.source, dict)
    assert run.source.commit == git(repo, "rev-parse", "HEAD")  # type: ignore[union-attr]
    assert run.started_at <= run.ended_at


def test_auditor_md5_equals_dvc_lock(repo: Path) -> None:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    seen = set()
    for stage in lock["stages"].values():
        for entry in stage.get("deps", []) + stage.get("outs", []):
            assert current(repo / entry["path"], repo, legacy=False).md5 == entry["md5"], entry["path"]
            seen.add(entry["md5"].endswith(".dir"))
    assert seen == {True, False}  # files and a folder


def legacy_md5s(repo: Path, paths: list[str]) -> dict[str, str]:
    """DVC 2's md5-dos2unix, computed by dvc-data itself, for files and folders."""
    script = """
import json, os, sys
from dvc_data.hashfile.hash import file_md5
from dvc_data.hashfile.hash_info import HashInfo
from dvc_data.hashfile.meta import Meta
from dvc_data.hashfile.tree import Tree
out = {}
for path in sys.argv[1:]:
    if os.path.isdir(path):
        tree = Tree()
        for root, _, files in os.walk(path):
            for name in files:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, path).split(os.sep)
                tree.add(tuple(rel), Meta(), HashInfo("md5-dos2unix", file_md5(full, name="md5-dos2unix")))
        tree.digest(name="md5-dos2unix")
        out[path] = tree.hash_info.value
    else:
        out[path] = file_md5(path, name="md5-dos2unix")
print(json.dumps(out))
"""
    done = subprocess.run(
        [str(tool_python("dvc")), "-c", script, *paths],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def as_legacy(repo: Path, lock: dict[str, Any]) -> None:
    """dvc.lock as DVC 2 wrote it: no `hash:`, MD5s of CRLF-normalised text."""
    paths = sorted({e["path"] for s in lock["stages"].values() for e in s.get("deps", []) + s.get("outs", [])})
    legacy = legacy_md5s(repo, paths)
    for stage in lock["stages"].values():
        for entry in stage.get("deps", []) + stage.get("outs", []):
            del entry["hash"]
            entry["md5"] = legacy[entry["path"]]
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def test_legacy_lock_entries_are_flagged_and_rehash_with_dos2unix(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    modern = {e["path"]: e["md5"] for s in lock["stages"].values() for e in s["deps"] + s["outs"]}
    as_legacy(work, lock)
    legacy = {e["path"]: e["md5"] for s in lock["stages"].values() for e in s["deps"] + s["outs"]}
    assert legacy["data/raw.csv"] != modern["data/raw.csv"]  # CRLF text: the two MD5s differ
    assert legacy["data/prepared"] != modern["data/prepared"]
    run = only(read(work, rehash=True))
    raw = next(d for d in run.datasets if d.path == "data/raw.csv")
    assert raw.annotations["dvc.workspace"].startswith("matches dvc.lock")
    assert isinstance(raw.before, ContentHash)
    assert raw.before.sha256 == hashlib.sha256((work / "data/raw.csv").read_bytes()).hexdigest()
    assert not [n for n in run.notes if n.startswith("changed since dvc.lock")]
    assert any("without `hash:`" in n and "md5-legacy" in n for n in run.notes)
    plain = only(read(work))
    hints = [d.before or d.after for d in plain.datasets]
    assert {h.algorithm for h in hints if isinstance(h, IdentityHint)} == {"md5-legacy"}


def test_dvc1_lock_without_schema_is_read_as_legacy(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    as_legacy(work, lock)
    (work / "dvc.lock").write_text(yaml.safe_dump(lock["stages"], sort_keys=False))
    run = only(read(work, rehash=True))
    assert any("DVC 1's unversioned format" in n for n in run.notes)
    assert run.status == "succeeded"
    assert not [n for n in run.notes if n.startswith("changed since dvc.lock")]


def test_rehash_reports_what_changed_since_the_lock(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    (work / "data" / "raw.csv").write_bytes(b"id,label\n9,9\n")
    (work / "data" / "prepared" / "nested" / "info.txt").write_text("edited\n")
    run = only(read(work, rehash=True))
    changed = sorted(n.removeprefix("changed since dvc.lock: ") for n in run.notes if n.startswith("changed since"))
    assert changed == ["data/prepared", "data/raw.csv"]
    datasets = {d.path: d for d in run.datasets}
    assert isinstance(datasets["data/raw.csv"].before, IdentityHint)  # not the new bytes' SHA-256
    assert datasets["data/raw.csv"].annotations["dvc.workspace"].startswith("changed since dvc.lock")
    model = datasets["model.json"]
    assert isinstance(model.after, ContentHash) and isinstance(model.before, ContentHash)
    assert model.after.sha256 == hashlib.sha256((work / "model.json").read_bytes()).hexdigest()
    unchanged = only(read(copy_of(repo, tmp_path / "again"), rehash=True))
    assert not [n for n in unchanged.notes if n.startswith("changed since")]
    assert all(
        isinstance(d.before or d.after, ContentHash) for d in unchanged.datasets if "dvc.overlaps" not in d.annotations
    )


def test_params_changed_since_the_lock_keep_the_locked_value(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    (work / "params.yaml").write_text(PARAMS.replace("lr: 0.01", "lr: 0.5") + "extra: 1\n")
    run = only(read(work))
    assert run.params["train.lr"] == 0.01 and run.params["extra"] == 1
    assert any("train.lr is 0.5 in the workspace, 0.01 in dvc.lock" in n for n in run.notes)


def test_a_stage_not_yet_reproduced(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    dvc(work, "stage", "add", "-n", "report", "-d", "metrics.json", "-o", "report.txt", "cat metrics.json > report.txt")
    with (work / "dvc.yaml").open("a") as handle:
        handle.write(
            "  sweep:\n    matrix:\n      lr: [0.1, 0.2]\n      opt: [sgd]\n"
            "    cmd: echo ${item.lr} ${item.opt} > sweep_${item.lr}.txt\n"
            '    outs: ["sweep_${item.lr}_${item.opt}.txt"]\n'
        )
    (work / "params.yaml").write_text(PARAMS.replace("epochs: 3", "epochs: 4"))
    run = only(read(work))
    assert run.status == "interrupted" and run.error is not None and "report" in run.error
    steps = {s.name: s for s in run.steps}
    assert steps["report"].annotations["lock"] == "not in dvc.lock"
    assert steps["report"].command == "cat metrics.json > report.txt"
    assert steps["sweep@0.2-sgd"].command == "echo 0.2 sgd > sweep_0.2.txt"
    assert "sweep_0.2_sgd.txt" in {d.path for d in run.datasets}
    theirs = dot_edges(dvc(work, "dag", "--dot"))
    assert stage_graph(build_record(run).lineage.graph) == theirs  # type: ignore[union-attr]


def test_a_remote_dependency_is_a_dataset_with_a_uri(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    url = "https://bob:s3cret@example.com/remote.csv"
    with (work / "dvc.yaml").open("a") as handle:
        handle.write(
            f"  download:\n    cmd: curl -o data/remote.csv {url}\n    deps: [{url}]\n    outs: [data/remote.csv]\n"
        )
    (work / "data" / "remote.csv").write_bytes(b"a,b\n1,2\n")
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    lock["stages"]["download"] = {
        "cmd": f"curl -o data/remote.csv {url}",
        "deps": [{"path": url, "etag": '"5d41402a"', "size": 8}],
        "outs": [
            {
                "path": "data/remote.csv",
                "hash": "md5",
                "md5": hashlib.md5(b"a,b\n1,2\n", usedforsecurity=False).hexdigest(),
                "size": 8,
            }
        ],
    }
    (work / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    run = only(read(work, rehash=True))
    assert run.status == "succeeded", run.error
    remote = next(d for d in run.datasets if d.uri)
    assert remote.uri == "https://example.com/remote.csv" and remote.path is None and remote.role == "input"
    assert isinstance(remote.before, IdentityHint) and remote.before.algorithm == "etag"
    assert "s3cret" not in remote.id and "bob" not in remote.id
    local = next(d for d in run.datasets if d.path == "data/remote.csv")
    assert isinstance(local.after, ContentHash)
