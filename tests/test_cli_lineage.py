"""Lineage and fairness through the real CLI: declared, observed, hashed, logged."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import CliRunner, base_env

PY = sys.executable

SPEC = """\
version: 1
project:
  name: lineage-case
datasets:
  - id: applicants
    role: input
    path: data/applicants.csv
    datasheet: {description: applicants, source: bank, owner: risk team, licence: internal, personal_data: false}
  - id: unused
    role: input
    path: data/unused.csv
  - id: gone
    role: input
    path: data/not-there.csv
  - id: scores
    role: output
    path: out/scores.csv
steps:
  - name: score
    command: python score.py
    inputs: [applicants]
    outputs: [scores, model]
models:
  - id: model
    path: out/model.bin
predictions:
  path: out/scores.csv
  label_column: label
  prediction_column: prediction
  sensitive_columns: [group]
  favourable_outcome: "1"
  min_group_size: 2
  bootstrap_resamples: 200
"""

SCRIPT = """\
import csv, os
os.makedirs('out', exist_ok=True)
rows = list(csv.DictReader(open('data/applicants.csv')))
open('data/secret_extra.csv').read()
with open('out/scores.csv', 'w', newline='') as handle:
    writer = csv.writer(handle)
    writer.writerow(['group', 'label', 'prediction'])
    for row in rows:
        writer.writerow([row['group'], row['label'], row['prediction']])
open('out/model.bin', 'wb').write(b'model')
"""

ROWS = "group,label,prediction\n" + "".join(
    f"{g},{label},{pred}\n"
    for g, label, pred in [
        ("a", 1, 1),
        ("a", 1, 1),
        ("a", 0, 1),
        ("a", 0, 0),
        ("b", 1, 0),
        ("b", 1, 1),
        ("b", 0, 0),
        ("b", 0, 0),
    ]
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "data" / "applicants.csv").write_text(ROWS)
    (root / "data" / "unused.csv").write_text("x\n")
    (root / "data" / "secret_extra.csv").write_text("ssn\n123\n")
    (root / "auditor.yaml").write_text(SPEC)
    (root / "score.py").write_text(SCRIPT)
    return root


def _record(root: Path) -> dict:  # type: ignore[type-arg]
    (run_dir,) = (root / ".auditor" / "runs").iterdir()
    return json.loads((run_dir / "record.json").read_text())  # type: ignore[no-any-return]


def test_declared_observed_and_hashed(cli: CliRunner, project: Path) -> None:
    done = cli("run", "--", PY, "score.py", cwd=project)
    assert done.returncode == 0, done.stderr
    record = _record(project)
    assert record["identity"]["project"] == "lineage-case"  # from auditor.yaml
    lineage = record["lineage"]
    assert lineage["spec_path"] == "auditor.yaml"
    assert lineage["spec_sha256"] == hashlib.sha256(SPEC.encode()).hexdigest()
    datasets = {d["id"]: d for d in lineage["datasets"]}
    assert datasets["applicants"]["before"]["sha256"] == hashlib.sha256(ROWS.encode()).hexdigest()
    assert datasets["gone"]["before"] == {"state": "absent", "path": "data/not-there.csv"}
    assert datasets["scores"]["after"]["state"] == "hashed" and datasets["scores"]["before"] is None
    assert lineage["models"][0]["after"]["sha256"] == hashlib.sha256(b"model").hexdigest()

    observed = lineage["observed"]
    assert observed["method"] == "audit-hook" and observed["processes"] == 1
    files = {f["path"]: f for f in observed["files"]}
    assert files["data/applicants.csv"]["verdicts"] == ["declared_read"]
    assert files["data/secret_extra.csv"]["verdicts"] == ["undeclared_read"]
    assert files["out/scores.csv"]["verdicts"] == ["written"] and files["out/scores.csv"]["dataset"] == "scores"
    assert observed["declared_unread"] == ["gone", "unused"]

    graph = lineage["graph"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert nodes["dataset:applicants"]["documented"] is True
    assert nodes["dataset:unused"]["missing_fields"] == ["description", "source", "owner", "licence", "personal_data"]
    run_node = f"run:{record['identity']['run_id']}"
    assert {
        (run_node, "step:score"),
        ("dataset:applicants", "step:score"),
        ("step:score", "model:model"),
        ("file:data/secret_extra.csv", run_node),
    } <= edges

    fairness = record["fairness"]
    assert fairness["state"] == "captured" and fairness["rows"] == 8
    (by_group,) = fairness["by_attributes"]
    rates = {tuple(g["group"]): g["selection_rate"] for g in by_group["groups"]}
    assert rates == {("a",): 0.75, ("b",): 0.25}
    parity = {d["metric"]: d["value"] for d in by_group["disparities"]}
    assert parity["demographic_parity_difference"] == pytest.approx(0.5)

    shown = cli("show", "latest", cwd=project).stdout
    assert "UNDECLARED  data/secret_extra.csv was read but is not declared" in shown
    assert "NOT READ    gone, unused (declared inputs)" in shown
    assert "GROUP (group)" in shown and "demographic_parity_difference" in shown


def test_non_python_commands_get_a_tree_diff(cli: CliRunner, project: Path) -> None:
    done = cli("run", "--", "sh", "-c", "mkdir -p out && cp data/applicants.csv out/scores.csv", cwd=project)
    assert done.returncode == 0, done.stderr
    observed = _record(project)["lineage"]["observed"]
    assert observed["method"] == "tree-diff" and observed["processes"] == 0
    assert [f["path"] for f in observed["files"] if f["written"]] == ["out/scores.csv"]


def test_a_bad_spec_stops_before_the_command_runs(cli: CliRunner, project: Path) -> None:
    (project / "auditor.yaml").write_text(SPEC.replace("role: output", "role: outptu"))
    done = cli("run", "--", "touch", "ran", cwd=project)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"auditor: error: {project / 'auditor.yaml'}:16: datasets[3].role: "
        "Input should be 'input', 'output' or 'intermediate'"
    ]
    assert not (project / "ran").exists()
    assert not (project / ".auditor" / "runs").exists() or not list((project / ".auditor" / "runs").iterdir())


def test_stale_predictions_with_wrong_columns_stop_before_the_run(cli: CliRunner, project: Path) -> None:
    (project / "out").mkdir()
    (project / "out" / "scores.csv").write_text("grp,label,prediction\n")
    done = cli("run", "--", "touch", "ran", cwd=project)
    assert done.returncode == 2
    assert "out/scores.csv:1: column 'group' declared in auditor.yaml is not in the file" in done.stderr
    assert not (project / "ran").exists()


def test_predictions_that_come_out_wrong_are_missing_not_a_pass(cli: CliRunner, project: Path) -> None:
    (project / "score.py").write_text(
        SCRIPT.replace("['group', 'label', 'prediction']", "['grp', 'label', 'prediction']")
    )
    done = cli("run", "--", PY, "score.py", cwd=project)
    assert done.returncode == 0
    assert "auditor: warning: out/scores.csv: column 'group' not found" in done.stderr
    fairness = _record(project)["fairness"]
    assert fairness["state"] == "missing" and "column 'group' not found" in fairness["reason"]


def test_the_logging_api_inside_a_run(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "extra.csv").write_text("a\n1\n")
    script = textwrap.dedent("""\
        import auditor, pandas as pd
        auditor.log_params({"seed": 42, "model": "logreg"})
        auditor.log_metric("loss", 0.9, step=1)
        auditor.log_metric("loss", 0.4, step=2)
        auditor.log_metric("bad", float("nan"))
        auditor.log_dataset("extra.csv", role="input", description="an extra file", licence="CC0-1.0")
        frame = pd.DataFrame({"sex": ["f", "f", "m", "m"], "y": [1, 0, 1, 0], "p": [1, 1, 1, 0]})
        auditor.log_predictions(frame, label_column="y", prediction_column="p", sensitive_columns=["sex"],
                                favourable_outcome=1)
    """)
    done = cli("run", "--", PY, "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = _record(tmp_path)
    assert record["params"] == {"model": "logreg", "seed": 42}
    assert [(m["name"], m["value"], m["step"]) for m in record["metrics"]] == [("loss", 0.9, 1), ("loss", 0.4, 2)]
    lineage = record["lineage"]
    assert lineage["spec_path"] is None and lineage["project"]["name"] == tmp_path.name
    (logged,) = lineage["datasets"]
    assert (logged["id"], logged["path"], logged["datasheet"]["licence"]) == ("logged-1", "extra.csv", "CC0-1.0")
    assert logged["after"]["state"] == "hashed"
    fairness = record["fairness"]
    assert fairness["predictions_path"].startswith("(logged DataFrame) predictions-")
    assert fairness["favourable_outcome"] == "1"
    performance = record["model_card"]["performance"]  # the model card evaluates the logged predictions too
    assert performance["state"] == "classification" and performance["confusion"] == [[1, 1], [0, 2]]
    assert {e["name"]: e["value"] for e in performance["estimates"]}["accuracy"] == 0.75
    assert "Logged" in cli("show", "latest", cwd=tmp_path).stdout


def test_without_spec_or_predictions_fairness_says_why(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("run", "--", "true", cwd=tmp_path).returncode == 0
    record = _record(tmp_path)
    assert record["fairness"] == {
        "state": "missing",
        "reason": "no predictions declared in auditor.yaml or logged with auditor.log_predictions",
    }
    assert record["model_card"]["state"] == "missing" and "no auditor.yaml" in record["model_card"]["reason"]


def test_hostile_run_output_never_costs_the_record(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "auditor.yaml").write_text("project: {name: p}\ndatasets:\n  - {id: loop, role: input, path: loop}\n")
    script = textwrap.dedent("""\
        import json, os
        events = os.environ["AUDITOR_EVENTS"]
        lines = [
            {"kind": "metric", "name": "huge", "value": 10 ** 400, "time": 0},
            {"kind": "metric", "name": "late", "value": 1, "time": 1e300},
            {"kind": "dataset", "path": "a\\u0000b", "role": "input", "datasheet": {}},
            {"kind": "dataset", "path": "x.csv", "role": "input", "datasheet": {"colour": "red"}},
            {"kind": "params", "params": {"ok": 1}},
        ]
        with open(events, "a") as handle:
            handle.write("\\n".join(json.dumps(line) for line in lines) + "\\nnot json\\n")
        open(os.fsencode("bad\\udcffname"), "w").write("x")
        print("caf\\udcff".encode("utf-8", "surrogateescape").decode("latin-1"))
    """)
    done = cli("run", "--", PY, "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    record = _record(tmp_path)
    assert record["params"] == {"ok": 1} and record["metrics"] == []
    lineage = record["lineage"]
    assert lineage["datasets"][0]["before"]["state"] == "missing"  # the loop: named, not hashed
    assert any("unusable path" in n for n in lineage["notes"])
    assert any("colour" in n for n in lineage["notes"])
    assert "event line 6 is not JSON; ignored" in lineage["notes"]
    assert "bad\\xffname" in {f["path"] for f in lineage["observed"]["files"]}


def test_secrets_the_run_logs_are_masked_in_the_record(cli: CliRunner, tmp_path: Path) -> None:
    secret = "Zq8xVt3LmN0pWe7R-not-for-records"
    (tmp_path / "auditor.yaml").write_text(
        "project: {name: p}\ndatasets:\n"
        "  - {id: remote, role: input, uri: 'https://alice:hunter2hunter2@data.example.invalid/d.csv'}\n"
    )
    script = textwrap.dedent("""\
        import auditor, os
        s = os.environ["TEAM_SECRET"]
        auditor.log_params({"token": s, s: 1})
        auditor.log_metric("m_" + s, 1.0)
        auditor.log_dataset("data_" + s + ".csv", description="desc " + s)
        try:
            open("/nonexistent/" + s)
        except OSError:
            pass
    """)
    env = {**base_env(), "TEAM_SECRET": secret}
    assert cli("run", "--", PY, "-c", script, cwd=tmp_path, env=env).returncode == 0
    assert cli("run", "--", secret, cwd=tmp_path, env=env).returncode == 127
    for path in (tmp_path / ".auditor").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert secret.encode() not in content and b"hunter2hunter2" not in content, path
