"""The code a run executed, in its record: captured by the real `auditor run`, ingested from a
pipeline the real DVC reproduced, and shown by `auditor show` and the dossier."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from auditor.capture.codeprint import SCHEME, similarity
from auditor.ingest.dvc.reader import read
from auditor.ingest.ingested import Ingested, build_record
from auditor.record.base import Missing
from auditor.record.code import Code
from auditor.render.dossier.build_env import code, code_files
from auditor.render.summary import code_summary, render_summary
from tests.conftest import CliRunner, base_env
from tests.factories import make_record
from tests.ingest.test_dvc import pipeline

TRAIN = """\
import sys
from helpers import load
from pkg.steps import fit

rows = load("data.csv")
query = open("queries/select.sql").read()
print(fit(rows), len(query), file=sys.stderr)
"""
HELPERS = """\
import csv


def load(path):
    with open(path, newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["x"] != ""]
"""
STEPS = """\
def fit(rows):
    total = 0.0
    for row in rows:
        total += float(row["x"]) * 2.0 - 1.0
    return total / max(len(rows), 1)
"""


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    files = {
        "train.py": TRAIN,
        "helpers.py": HELPERS,
        "pkg/__init__.py": "",
        "pkg/steps.py": STEPS,
        "queries/select.sql": "-- rows\nSELECT x, y FROM points WHERE x > 0 ORDER BY y;\n",
        "data.csv": "x,y\n1,2\n3,4\n",
        "run.sh": '#!/bin/sh\n# the whole pipeline\nset -e\nfor step in a b; do echo "$step"; done\n',
        "unused.py": "print('never run')\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def captured(cli: CliRunner, root: Path, *argv: str) -> dict[str, object]:
    done = cli("run", "--store", str(root.parent / "store"), "--", *argv, cwd=root, env=base_env())
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("auditor: run ", 1)[1].split()[0]
    shown = cli("show", run_id, "--store", str(root.parent / "store"), "--json", cwd=root)
    record: dict[str, object] = json.loads(shown.stdout)
    text = cli("show", run_id, "--store", str(root.parent / "store"), cwd=root).stdout
    record["shown"] = text
    return record


def test_a_run_records_the_code_its_processes_read(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    first = captured(cli, root, sys.executable, "train.py")
    again = captured(cli, root, sys.executable, "train.py")  # helpers now load from __pycache__
    assert (root / "__pycache__").is_dir()
    for record in (first, again):
        code = record["code"]
        assert isinstance(code, dict)
        assert code["state"] == "captured" and code["fingerprint"] == SCHEME
        assert code["method"] == "read by the command", code
        files = {f["path"]: f for f in code["files"]}
        assert set(files) == {"train.py", "helpers.py", "pkg/__init__.py", "pkg/steps.py", "queries/select.sql"}
        for path, entry in files.items():
            assert entry["sha256"] == hashlib.sha256((root / path).read_bytes()).hexdigest()
            assert entry["size"] == (root / path).stat().st_size
        assert files["queries/select.sql"]["language"] == "sql" and files["train.py"]["language"] == "python"
        assert files["pkg/__init__.py"]["minhash"] == [] and len(files["train.py"]["minhash"]) == 64
        assert code["notes"] == []
        assert "code        5 files fingerprinted (read by the command)" in str(record["shown"])
    assert first["code"] == again["code"]


def test_code_named_on_the_command_line_and_runs_with_none(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    shell = captured(cli, root, "sh", "run.sh")  # no Python process: the script named in argv
    code = shell["code"]
    assert isinstance(code, dict) and code["method"] == "named on the command line"
    assert [(f["path"], f["language"]) for f in code["files"]] == [("run.sh", "shell")]

    inline = captured(cli, root, sys.executable, "-c", "print(sum(range(10)))")
    assert inline["code"] == {"state": "missing", "reason": "the command read no code file inside the project"}
    assert "code        not captured: the command read no code file inside the project" in str(inline["shown"])

    nothing = captured(cli, root, "true")
    reason = "no Python process reported what it read and no code file was named on the command line"
    assert nothing["code"] == {"state": "missing", "reason": reason}


def test_a_link_out_of_the_project_is_not_read(cli: CliRunner, tmp_path: Path) -> None:
    root = project(tmp_path)
    secret = tmp_path / "elsewhere" / "secret_helpers.py"
    secret.parent.mkdir()
    secret.write_text(HELPERS.replace("row", "TOPSECRET"))
    (root / "helpers.py").unlink()
    (root / "helpers.py").symlink_to(secret)
    record = captured(cli, root, sys.executable, "train.py")
    code = record["code"]
    assert isinstance(code, dict)
    assert "helpers.py" not in {f["path"] for f in code["files"]}
    assert "helpers.py: its real path leaves the project: not read" in code["notes"]
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    assert digest not in json.dumps(record)


def test_dvc_ingest_fingerprints_the_stages_code(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    repo = tmp_path / "churn"
    shutil.copytree(pipeline(tmp_path_factory), repo, symlinks=True)
    (record,) = [build_record(i) for i in read(repo)]
    assert isinstance(record.code, Code) and record.code.method == "DVC stage dependencies"
    files = {f.path: f for f in record.code.files}
    assert set(files) == {"src/prepare.py", "src/train.py", "src/evaluate.py"}
    for path, entry in files.items():
        assert entry.sha256 == hashlib.sha256((repo / path).read_bytes()).hexdigest()
    assert record.code.notes[0].startswith("read from the workspace when ingested")

    (repo / "src" / "train.py").unlink()  # not pulled, or deleted since
    (record,) = [build_record(i) for i in read(repo)]
    assert isinstance(record.code, Code) and "src/train.py: no such file" in record.code.notes
    assert {f.path for f in record.code.files} == {"src/prepare.py", "src/evaluate.py"}


def test_other_tools_and_older_records_say_why_there_is_no_code() -> None:
    from datetime import UTC, datetime

    ingested = Ingested(
        tool="MLflow",
        tool_version="2.0",
        source_uri="mlruns",
        source_run_id="r1",
        project="p",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        ended_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        status="succeeded",
    )
    record = build_record(ingested)
    assert record.code == Missing(reason="MLflow does not record the code's content")
    assert code_summary(record) == ("not captured: MLflow does not record the code's content", True)

    old = make_record().model_copy(update={"schema_version": "1.5", "code": None})
    assert code_summary(old) == ("not recorded (record schema 1.5 predates code capture)", True)
    assert "code        not recorded (record schema 1.5 predates code capture)" in render_summary(old)
    (item,) = code(old)
    assert item.missing and item.value == "not recorded (record schema 1.5 predates code capture)"
    assert code_files(old) == ()


def test_the_scenario_duplicates_share_their_code(cli: CliRunner, tmp_path: Path) -> None:
    """The portfolio scenario's duplicate pair, captured for real: same code under other names."""
    from tests.portfolio import synthetic

    signatures = []
    for words in (synthetic.DUP_A, synthetic.DUP_B):
        root, argv = synthetic.write_duplicate(tmp_path, words)
        record = captured(cli, root, sys.executable, *argv)
        code = record["code"]
        assert isinstance(code, dict) and len(code["files"]) == 3
        signatures.append({Path(f["path"]).name: f for f in code["files"]})
    a, b = signatures
    pairs = [("train.py", "fit.py"), ("prepare.py", "build_features.py")]
    for left, right in pairs:
        assert a[left]["sha256"] != b[right]["sha256"]
        estimate = similarity(a[left]["minhash"], b[right]["minhash"])
        assert estimate is not None and estimate > 0.8, (left, estimate)
    assert similarity(a["train.py"]["minhash"], a["prepare.py"]["minhash"]) < 0.5  # type: ignore[operator]


def test_dvc_code_folders_are_walked_inside_the_repository_only(tmp_path: Path) -> None:
    from auditor.ingest.dvc.code import stage_code
    from auditor.record.lineage import Dataset, Datasheet

    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "src" / "nested").mkdir(parents=True)
    (repo / "src" / "a.py").write_text(HELPERS)
    (repo / "src" / "nested" / "q.sql").write_text("SELECT a FROM b WHERE c = 1;\n")
    (repo / "src" / "README.txt").write_text("not code")
    outside.mkdir()
    (outside / "secret.py").write_text(STEPS)
    (repo / "lib").symlink_to(outside)
    (outside / "sub").mkdir()
    (outside / "sub" / "more.py").write_text(STEPS)  # lib/sub: a real folder, reached through a link

    def dep(path: str, kind: str = "code") -> Dataset:
        return Dataset(id=path, role="input", path=path, datasheet=Datasheet(), annotations={"dvc.kind": kind})

    deps = [
        dep("src"),
        dep("lib"),
        dep("lib/sub"),
        dep("lib/secret.py"),
        dep("fit.jl"),
        dep("../up.py"),
        dep("data.csv", "data"),
    ]
    code = stage_code(repo, deps)
    assert isinstance(code, Code)
    assert [(f.path, f.language) for f in code.files] == [("src/a.py", "python"), ("src/nested/q.sql", "sql")]
    assert "lib: a link to a folder, not followed" in code.notes
    assert "lib/sub: leads out of the repository, not read" in code.notes
    assert "lib/secret.py: its real path leaves the project: not read" in code.notes
    assert "fit.jl: a language auditor does not fingerprint" in code.notes
    assert stage_code(repo, [dep("data.csv", "data")]) == Missing(
        reason="DVC does not record the code's content: no stage lists a code file among its deps"
    )
