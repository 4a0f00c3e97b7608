"""auditor.yaml applied to `auditor ingest dvc`, through the CLI, on a pipeline the real DVC reproduced.

A small wine-quality project: DVC tracks the data, the model and the predictions; auditor.yaml
documents the datasets (none personal), describes the model, declares the predictions and the
governance statements. DVC itself knows nothing of datasheets, so before this every dataset failed
the critical personal-data rule; now the documented ones do not, what auditor.yaml declares that the
pipeline never used is listed, and a wrong field stops the ingest before anything is written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner, base_env, git
from tests.ingest.conftest import tool_python
from tests.ingest.test_dvc import dvc, dvc_env

PREPARE = """\
import csv
rows = list(csv.DictReader(open("data/wine.csv")))
with open("data/features.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["alcohol", "region", "label"])
    for row in rows:
        writer.writerow([row["alcohol"], row["region"], int(int(row["quality"]) >= 6)])
"""
TRAIN = """\
import csv, json
rows = list(csv.DictReader(open("data/features.csv")))
good = [float(r["alcohol"]) for r in rows if r["label"] == "1"]
json.dump({"threshold": round(min(good), 2)}, open("model.json", "w"))
"""
EVALUATE = """\
import csv, json
threshold = json.load(open("model.json"))["threshold"]
rows = list(csv.DictReader(open("data/features.csv")))
with open("predictions.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["label", "prediction", "region"])
    for row in rows:
        writer.writerow([row["label"], int(float(row["alcohol"]) >= threshold), row["region"]])
"""
SHEET = "owner: Quality team, licence: CC-BY-4.0, personal_data: false"
SPEC = f"""\
version: 1
project:
  name: wine
  owner: Quality team
  intended_use: Rank wine batches for tasting
datasets:
  - id: wine
    role: input
    path: data/wine.csv
    datasheet: {{description: Physicochemical tests of wine batches, source: the lab's own measurements, {SHEET}}}
  - id: features
    role: intermediate
    path: data/features.csv
    datasheet: {{description: Alcohol and region with a good-or-not label, source: derived from wine.csv, {SHEET}}}
  - id: preds
    role: output
    path: predictions.csv
    datasheet: {{description: The scorer's predictions, source: the evaluate stage, {SHEET}}}
  - id: raw
    role: input
    path: data/raw.csv
    datasheet: {{description: The first lab export, source: the lab, {SHEET}}}
models:
  - id: scorer
    path: model.json
    description: A threshold on the alcohol content
    limitations: Tested on red wines only
  - id: ranker
    path: models/ranker.pkl
predictions:
  path: predictions.csv
  label_column: label
  prediction_column: prediction
  sensitive_columns: [region]
  favourable_outcome: "1"
  min_group_size: 5
  bootstrap_resamples: 50
governance:
  provider: Example Winery Ltd
  risk_tier: minimal
  human_oversight: A sommelier reviews every ranking before it is used
"""
OWN_VIEW = """\
import json
from dvc.repo import Repo
repo = Repo(".")
paths = {str(o.def_path) for stage in repo.index.stages for o in (*stage.deps, *stage.outs)}
print(json.dumps(sorted(paths)))
"""
_built: dict[str, Path] = {}


def wine_pipeline(factory: pytest.TempPathFactory) -> Path:
    """Built once per session with the real DVC; tests work on copies."""
    if "repo" in _built:
        return _built["repo"]
    repo = factory.mktemp("dvc-wine") / "wine"
    (repo / "data").mkdir(parents=True)
    (repo / "src").mkdir()
    lines = ["fixed_acidity,alcohol,quality,region"]
    for i in range(60):
        alcohol, quality, region = 9 + (i * 7 % 40) / 10, 4 + (i * 7 % 40) // 8, "north" if i % 3 else "south"
        lines.append(f"{7 + (i % 5) / 10:.1f},{alcohol:.1f},{quality},{region}")
    (repo / "data" / "wine.csv").write_text("\n".join(lines) + "\n")
    for name, text in (("prepare", PREPARE), ("train", TRAIN), ("evaluate", EVALUATE)):
        (repo / "src" / f"{name}.py").write_text(text)
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    dvc(repo, "config", "core.analytics", "false")
    stages = (
        ("prepare", ["-d", "src/prepare.py", "-d", "data/wine.csv", "-o", "data/features.csv"]),
        ("train", ["-d", "src/train.py", "-d", "data/features.csv", "-o", "model.json"]),
        ("evaluate", ["-d", "src/evaluate.py", "-d", "model.json", "-d", "data/features.csv", "-o", "predictions.csv"]),
    )
    for name, args in stages:
        dvc(repo, "stage", "add", "-n", name, *args, f"python src/{name}.py")
    dvc(repo, "repro", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    _built["repo"] = repo
    return repo


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    target = tmp_path / "wine"
    shutil.copytree(wine_pipeline(tmp_path_factory), target, symlinks=True)
    (target / "auditor.yaml").write_text(SPEC)
    return target


def dvc_paths(repo: Path) -> set[str]:
    """Every dependency and output path, as DVC's own Python API lists them."""
    done = subprocess.run(
        [str(tool_python("dvc")), "-c", OWN_VIEW],
        cwd=repo,
        env=dvc_env(repo),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout))


def ingest(cli: CliRunner, cwd: Path, store: Path, *args: str) -> tuple[str, str]:
    done = cli("ingest", *args, "--store", str(store), cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()[1], done.stderr


def show(cli: CliRunner, cwd: Path, store: Path, run: str) -> dict[str, Any]:
    done = cli("show", run, "--store", str(store), "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    record: dict[str, Any] = json.loads(done.stdout)
    return record


def findings(cli: CliRunner, cwd: Path, store: Path, run: str) -> dict[tuple[str, str], str]:
    done = cli("check", run, "--store", str(store), "--format", "json", cwd=cwd)
    assert done.returncode in (1, 3), done.stdout + done.stderr
    return {(f["rule_id"], f["subject"]): f["outcome"] for f in json.loads(done.stdout)["findings"]}


def test_without_the_spec_every_dataset_fails_the_personal_data_rule(
    cli: CliRunner, project: Path, tmp_path: Path
) -> None:
    """The state the issue reports, as the baseline; `show` says how to apply one, not `auditor init`."""
    (project / "auditor.yaml").unlink()
    run, _ = ingest(cli, tmp_path, tmp_path / "store", str(project))
    outcomes = findings(cli, tmp_path, tmp_path / "store", run)
    personal = {s: o for (r, s), o in outcomes.items() if r == "AUD-DATA-004"}
    assert personal["dataset:data-wine.csv"] == personal["dataset:predictions.csv"] == "fail"
    shown = cli("show", run, "--store", str(tmp_path / "store"), cwd=tmp_path).stdout
    assert (
        "auditor init" not in shown
        and "none applied at ingest (auditor ingest applies the one given with --spec" in shown
    )
    # the same run again, now with an auditor.yaml: new evidence, so a new record that links the earlier one
    (project / "auditor.yaml").write_text(SPEC)
    done = cli("ingest", str(project), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.stdout.startswith("ingested "), done.stdout + done.stderr
    again = done.stdout.split()[1]
    assert again != run and f"differs from {run}" in done.stderr
    assert show(cli, tmp_path, tmp_path / "store", again)["links"]["reingests"] == run
    outcomes = findings(cli, tmp_path, tmp_path / "store", again)
    assert {s: o for (r, s), o in outcomes.items() if r == "AUD-DATA-004"}["dataset:data-wine.csv"] != "fail"
    kept = cli("ingest", str(project), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert kept.stdout.startswith(f"already ingested as {again}"), kept.stdout + kept.stderr


def test_datasheets_models_predictions_and_governance_apply(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    run, stderr = ingest(cli, tmp_path, store, "dvc", str(project))  # auditor.yaml found in the repository
    assert f"applying {project / 'auditor.yaml'}" in stderr
    record = show(cli, tmp_path, store, run)
    lineage = record["lineage"]
    assert lineage["spec_path"] == "auditor.yaml" and len(lineage["spec_sha256"]) == 64
    by_path = {d["path"]: d for d in lineage["datasets"]}
    # DVC's own view of the pipeline: exactly the declared paths it uses are documented
    used = dvc_paths(project)
    for path in ("data/wine.csv", "data/features.csv", "predictions.csv"):
        assert path in used
        assert by_path[path]["datasheet"]["personal_data"] is False
        assert by_path[path]["datasheet"]["licence"] == "CC-BY-4.0"
    assert "data/raw.csv" not in used and "models/ranker.pkl" not in used
    assert lineage["unmatched"] == [
        "dataset raw (data/raw.csv): the DVC run used no such path",
        "model ranker (models/ranker.pkl): the DVC run recorded no such model",
    ]
    assert lineage["project"]["owner"] == "Quality team"
    assert lineage["project"]["intended_use"] == "Rank wine batches for tasting"
    # the personal-data rule: documented datasets are declared free of it, not failed
    outcomes = findings(cli, tmp_path, store, run)
    for path in ("data/wine.csv", "data/features.csv", "predictions.csv"):
        assert outcomes["AUD-DATA-004", f"dataset:{by_path[path]['id']}"] == "not_applicable"
    # predictions in the project: fairness and performance computed, as for a captured run
    assert record["fairness"]["state"] == "captured" and record["fairness"]["rows"] == 60
    assert record["fairness"]["predictions_path"] == "predictions.csv"
    assert "fairness" not in record["origin"]["not_captured"]
    card = record["model_card"]
    scorer = next(m for m in card["models"] if m["id"] == "scorer")
    assert scorer["description"] == "A threshold on the alcohol content"
    assert scorer["limitations"] == "Tested on red wines only"
    assert "accuracy" in json.dumps(card["performance"])
    assert record["governance"]["provider"] == "Example Winery Ltd"
    # `show` lists what was declared and not used, and names the spec applied
    shown = cli("show", run, "--store", str(store), cwd=tmp_path).stdout
    assert "auditor init" not in shown
    assert "UNMATCHED   dataset raw (data/raw.csv): the DVC run used no such path" in shown
    # the dossier: the lineage section lists them, Annex IV reads the governance statements
    out = tmp_path / "dossier"
    done = cli("report", run, "--store", str(store), "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    assert "Declared in auditor.yaml, not used by the run" in html
    assert "models/ranker.pkl" in html
    assert "Example Winery Ltd" in html and "A sommelier reviews every ranking" in html
    assert "A threshold on the alcohol content" in html


def test_a_wrong_field_is_one_line_and_nothing_is_written(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    spec = project / "auditor.yaml"
    spec.write_text(SPEC.replace("personal_data: false}\n  - id: features", "personal_data: maybe}\n  - id: features"))
    store = tmp_path / "store"
    done = cli("ingest", str(project), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(spec) in lines[0] and "datasets[0].datasheet.personal_data" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (store / "runs").exists() or not list((store / "runs").iterdir())


def test_spec_option_and_environment_variable(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    """--spec names a file elsewhere; $AUDITOR_SPEC does the same; a missing file is one line, exit 2."""
    elsewhere = tmp_path / "docs" / "wine-audit.yaml"
    elsewhere.parent.mkdir()
    shutil.move(project / "auditor.yaml", elsewhere)
    text = SPEC.replace("path: data/", "path: ../wine/data/").replace(
        "path: predictions.csv", "path: ../wine/predictions.csv"
    )
    elsewhere.write_text(text)
    run, _ = ingest(cli, tmp_path, tmp_path / "a", str(project), "--spec", str(elsewhere))
    record = show(cli, tmp_path, tmp_path / "a", run)
    assert record["lineage"]["spec_path"] == str(elsewhere)
    documented = {d["path"] for d in record["lineage"]["datasets"] if d["datasheet"]["personal_data"] is False}
    assert documented == {"data/wine.csv", "data/features.csv", "predictions.csv"}
    env = base_env(AUDITOR_SPEC=str(elsewhere))
    done = cli("ingest", str(project), "--store", str(tmp_path / "b"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert f"applying {elsewhere}" in done.stderr
    missing = cli(
        "ingest", str(project), "--spec", str(tmp_path / "nope.yaml"), "--store", str(tmp_path / "c"), cwd=tmp_path
    )
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "nope.yaml" in missing.stderr and not (tmp_path / "c" / "runs").exists()


def test_predictions_changed_since_dvc_recorded_them_are_named(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    predictions = project / "predictions.csv"
    predictions.write_text(predictions.read_text().replace("\n1,1,", "\n1,0,", 3))
    run, _ = ingest(cli, tmp_path, tmp_path / "store", str(project))
    record = show(cli, tmp_path, tmp_path / "store", run)
    assert record["fairness"]["state"] == "captured"
    assert (
        "predictions predictions.csv: changed since DVC recorded it (its MD5 differs): "
        "fairness and performance are of the file as it is now"
    ) in record["lineage"]["notes"]
