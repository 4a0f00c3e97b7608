"""auditor.yaml applied to `auditor ingest mlflow`, through the CLI, on a file store real MLflow 3 wrote.

The project folder holds `mlruns/`, the training data and auditor.yaml: the data are matched by the
path MLflow recorded as their source, the evaluation set by its URI, the logged model by its name,
a logged file by its artifact path. What MLflow's own client reports (the producer's dump) is the
oracle for what the run used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.ingest.conftest import tool_python
from tests.ingest.test_mlflow import PRODUCER

SHEET = "owner: Risk team, licence: internal, personal_data: true, legal_basis: 'GDPR Art. 6(1)(b): the loan contract'"
SPEC = f"""\
version: 1
project:
  name: credit
  owner: Risk team
  intended_use: Pre-screen loan applications for a human underwriter
datasets:
  - id: credit-train
    role: input
    path: data/train.csv
    datasheet: {{description: Applicants' income and age with the default outcome, source: loan book 2024, {SHEET}}}
  - id: holdout
    role: input
    uri: https://data.example.com/credit/eval.csv
    datasheet: {{description: Held-out applicants, source: loan book 2025, {SHEET}}}
  - id: report
    role: output
    path: report.txt
    datasheet: {{description: Accuracy note, source: the training script, owner: Risk team, licence: internal,
                 personal_data: false}}
  - id: bureau
    role: input
    uri: s3://bureau/scores.parquet
models:
  - id: model
    path: model
    description: Logistic regression of default on income and age
    limitations: Not validated for applicants under 21
    ethical_considerations: Age is a direct input; see the fairness review
governance:
  provider: Example Bank plc, 1 Main Street
  system_name: Credit pre-screen
  system_version: "2.1"
  risk_tier: high-risk
  risk_tier_reference: "Annex III point 5(b): creditworthiness"
  human_oversight: An underwriter decides every application
"""


MORE = """\
predictions:
  path: scored.csv
  label_column: default
  prediction_column: predicted
  sensitive_columns: [age_group]
  favourable_outcome: "0"
  min_group_size: 10
  bootstrap_resamples: 50
"""


def annex_section(html: str) -> str:
    found = re.search(r'<section id="annex-iv">(.*?)</section>', html, re.S)
    assert found, "no Annex IV section"
    return found[1]


def annex_row(html: str, item: str) -> tuple[str, str]:
    """(status, evidence) of one Annex IV item in the dossier."""
    row = re.search(
        rf'<td class="clause-id">{re.escape(item)}</td><td>.*?</td><td><span class="annex-status annex-([a-z-]+)">'
        r".*?</span></td><td[^>]*>(.*?)</td>",
        annex_section(html),
        re.S,
    )
    assert row, item
    return row[1], row[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A project folder with the MLflow 3 file store the producer wrote, and MLflow's own view of it."""
    work = tmp_path_factory.mktemp("mlflow-spec") / "credit"
    work.mkdir()
    script = shutil.copy(PRODUCER, work.parent / "producer.py")  # outside the project: not an artifact
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work.parent), "USER": "analyst"}
    env |= {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env |= {"GIT_PYTHON_REFRESH": "quiet"}
    argv = [str(tool_python("mlflow3")), str(script), f"file://{work}/mlruns", str(work), str(work.parent / "c.json")]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (work / "auditor.yaml").write_text(SPEC)
    rows = [f"{int(i % 3 == 0)},{int(i % 4 == 0)},{'under-40' if i % 2 else '40-plus'}" for i in range(80)]
    (work / "scored.csv").write_text("default,predicted,age_group\n" + "\n".join(rows) + "\n")
    return work, json.loads((work.parent / "c.json").read_text())


def test_datasets_model_and_governance_of_an_mlflow_run(
    cli: CliRunner, tmp_path: Path, project: tuple[Path, dict[str, Any]]
) -> None:
    work, client = project
    store = tmp_path / "store"
    done = cli("ingest", "mlflow", str(work / "mlruns"), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"applying {work / 'auditor.yaml'}" in done.stderr  # found beside mlruns/, not in the current folder
    ids = {line.split()[-1].rstrip(")"): line.split()[1] for line in done.stdout.splitlines()}
    train = next(r for r in client["runs"] if r["run_name"] == "train-logreg")
    shown = cli("show", ids[train["run_id"]], "--store", str(store), "--json", cwd=tmp_path)
    record = json.loads(shown.stdout)
    lineage = record["lineage"]
    assert lineage["spec_path"] == str(work / "auditor.yaml")  # beside the store, not inside it
    # MLflow's own client: the two inputs it reports, one by a local path, one by a URL
    sources = {d["name"]: d["source"] for d in train["datasets"]}
    assert str(work / "data" / "train.csv") in sources["credit-train"]
    assert "data.example.com/credit/eval.csv" in sources["credit-eval"]
    sheets = {
        d["annotations"].get("name") or d["annotations"].get("artifact"): d["datasheet"] for d in lineage["datasets"]
    }
    assert sheets["credit-train"]["legal_basis"] == "GDPR Art. 6(1)(b): the loan contract"
    assert sheets["credit-eval"]["personal_data"] is True
    assert sheets["report.txt"]["personal_data"] is False
    # MLflow recorded a source for each input: its own words are kept, the declared one is noted
    assert sheets["credit-train"]["source"].startswith("local")
    assert any("credit-train" in n and "auditor.yaml says" in n and "loan book 2024" in n for n in lineage["notes"])
    assert lineage["unmatched"] == ["dataset bureau (s3://bureau/scores.parquet): the MLflow run used no such URI"]
    # the personal-data rule passes on the declared legal basis
    check = cli("check", ids[train["run_id"]], "--store", str(store), "--format", "json", cwd=tmp_path)
    outcomes = {(f["rule_id"], f["subject"]): f for f in json.loads(check.stdout)["findings"]}
    personal = {s: f["outcome"] for (r, s), f in outcomes.items() if r == "AUD-DATA-004"}
    assert [o for s, o in personal.items() if "credit-train" in s] == ["pass"]
    # the logged model (MLflow's own name for it: "model") carries the declared description
    logged = [m for m in client["models"] if m["source_run_id"] == train["run_id"]]
    assert [m["name"] for m in logged] == ["model"]
    entry = next(m for m in record["model_card"]["models"])
    assert entry["description"] == "Logistic regression of default on income and age"
    assert entry["limitations"] == "Not validated for applicants under 21"
    assert entry["type"] == {"value": "sklearn", "source": "reported", "detail": "MLflow model flavors"}  # kept
    assert record["governance"]["provider"] == "Example Bank plc, 1 Main Street"
    text = cli("show", ids[train["run_id"]], "--store", str(store), cwd=tmp_path).stdout
    assert "UNMATCHED   dataset bureau" in text and "auditor init" not in text
    # the dossier: the model card and the Annex IV rows read what auditor.yaml declared
    out = tmp_path / "dossier"
    report = cli(
        "report", ids[train["run_id"]], "--store", str(store), "-o", str(out), "--format", "html", cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    html = (out / "dossier.html").read_text()
    assert "Logistic regression of default on income and age" in html
    assert annex_row(html, "2(e)")[0] == "present" and "An underwriter decides" in annex_row(html, "2(e)")[1]
    assert "Example Bank plc" in annex_section(html)
    assert "when this run was ingested" in html
    # the failed run used none of it: every declared dataset and the model are unmatched there
    broken = next(r for r in client["runs"] if r["run_name"] == "broken")
    other = json.loads(cli("show", ids[broken["run_id"]], "--store", str(store), "--json", cwd=tmp_path).stdout)
    assert len(other["lineage"]["unmatched"]) == 5


def test_a_predictions_file_only_in_the_project_is_one_runs_or_none(
    cli: CliRunner, tmp_path: Path, project: tuple[Path, dict[str, Any]]
) -> None:
    """MLflow never saw scored.csv: with both runs of the experiment ingested it belongs to neither;
    with --run-id it is the one run's, and the record says it was found in the project."""
    work, client = project
    spec = work / "with-predictions.yaml"
    spec.write_text(SPEC.replace("models:", MORE + "models:", 1))
    train = next(r for r in client["runs"] if r["run_name"] == "train-logreg")["run_id"]

    def ingested(store: Path, *args: str) -> dict[str, Any]:
        done = cli("ingest", str(work / "mlruns"), *args, "--spec", str(spec), "--store", str(store), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        run = next(line.split()[1] for line in done.stdout.splitlines() if train in line)
        record: dict[str, Any] = json.loads(cli("show", run, "--store", str(store), "--json", cwd=tmp_path).stdout)
        return record

    record = ingested(tmp_path / "a")
    assert record["fairness"]["state"] == "missing"
    assert "cannot be told to be this run's" in record["fairness"]["reason"]
    assert any(u.startswith("predictions (") for u in record["lineage"]["unmatched"])
    record = ingested(tmp_path / "b", "--run-id", train)
    assert record["fairness"]["state"] == "captured" and record["fairness"]["rows"] == 80
    assert [b["attributes"] for b in record["fairness"]["by_attributes"]] == [["age_group"]]
    note = "predictions scored.csv: not among the files the MLflow run recorded; evaluated as found in the project"
    assert note in record["lineage"]["notes"]
    assert record["model_card"]["performance"]["state"] == "classification"
