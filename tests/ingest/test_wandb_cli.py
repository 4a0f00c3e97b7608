"""`auditor ingest wandb`, then `show`, `runs`, `check` and `report`, on runs the real wandb wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.ingest.conftest import gaps_pack
from tests.ingest.test_wandb import TOKEN, Project, shared_project

# Evidence W&B never records as auditor could check it: hardware and installed packages are only W&B's word.
PACK = gaps_pack("wandb", ("GAP-PIN", "Every installed package is pinned", "packages_pinned"))


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return shared_project(tmp_path_factory)


def ingest(cli: CliRunner, tmp_path: Path, *args: str) -> tuple[dict[str, str], str]:
    """Ingest; return the auditor run id of each W&B run id, and what was said on stderr."""
    done = cli("ingest", *args, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pairs = [line.split() for line in done.stdout.splitlines() if line.startswith(("ingested", "already"))]
    return {p[-1].rstrip(")"): p[1] if p[0] == "ingested" else p[3] for p in pairs}, done.stderr


def test_ingest_show_check_and_report(cli: CliRunner, tmp_path: Path, project: Project) -> None:
    runs, said = ingest(cli, tmp_path, str(project.root))  # detected: a folder holding wandb/
    ids = {name: v["run_id"] for name, v in project.logged.items()}
    assert set(runs) == set(ids.values())
    assert "auditor: note: no exit record" in said  # the killed run
    db = str(tmp_path / "store")
    train = runs[ids["train"]]
    record = json.loads(cli("show", train, "--store", db, "--json", cwd=tmp_path).stdout)
    assert record["origin"]["tool"] == "Weights & Biases" and record["origin"]["source_run_id"] == ids["train"]
    assert record["origin"]["source_uri"] == str(project.root)
    assert record["params"]["hidden_layers"] == "[64,32]" and record["params"]["signature"] == "not a secret"
    assert record["params"]["label"] == project.logged["train"]["config"]["label"]
    assert record["identity"]["status"] == "succeeded" and record["identity"]["exit_code"] == 0
    assert record["environment"]["declared"]["state"] == "captured"
    assert record["hardware"]["gpus"]["reason"].startswith("not captured by Weights & Biases")
    # what W&B reported of the machine shows where auditor would have observed it, labelled as reported
    said = "reported by Weights & Biases, not observed by auditor: "
    assert record["environment"]["os"]["reason"].startswith(said + "Linux")
    python = record["environment"]["python"]["reason"]
    assert python.startswith(said) and project.logged["train"]["python"] in python
    assert record["hardware"]["cpu"]["reason"].startswith(said) and "cores" in record["hardware"]["cpu"]["reason"]
    assert TOKEN not in json.dumps(record)
    listing = cli("runs", "--store", db, cwd=tmp_path)
    assert listing.returncode == 0 and "None" not in listing.stdout

    pack = tmp_path / "gaps.yaml"
    pack.write_text(PACK)
    done = cli("check", train, "--store", db, "--policy", str(pack), "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    every = json.loads(done.stdout)["findings"]
    findings = {f["rule_id"]: f for f in every}
    assert findings["GAP-HW"]["outcome"] == "could_not_evaluate"
    # the declared requirements.txt is judged, labelled declared; the installed packages stay "could not evaluate"
    pins = [f for f in every if f["rule_id"] == "GAP-PIN"]
    assert any(f["outcome"] == "could_not_evaluate" and "not captured" in f["message"] for f in pins)
    judged = [f for f in pins if f["outcome"] != "could_not_evaluate"]
    assert judged and all(f["evidence"].get("environment") == "declared" for f in judged)
    # W&B records an input only when a run uses an artifact (which offline runs cannot): none here, so none hashed
    assert findings["GAP-HASH"]["outcome"] == "fail" and findings["GAP-HASH"]["message"] == "no input dataset declared"
    default = cli("check", train, "--store", db, cwd=tmp_path)
    assert default.returncode in (1, 3), default.stdout + default.stderr  # never 0

    def run_rule(name: str) -> dict[str, str]:
        done = cli("check", runs[ids[name]], "--store", db, "--format", "json", cwd=tmp_path)
        assert done.returncode in (1, 3), done.stdout + done.stderr
        return next(f for f in json.loads(done.stdout)["findings"] if f["rule_id"] == "AUD-RUN-001")

    assert run_rule("broken")["outcome"] == "fail"
    assert run_rule("killed")["outcome"] == "could_not_evaluate"  # unfinished: neither passed nor failed
    shown = cli("show", runs[ids["killed"]], "--store", db, cwd=tmp_path)
    assert shown.returncode == 0 and "None" not in shown.stdout

    out = tmp_path / "dossier"
    done = cli("report", train, "--store", db, "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    assert "credit-scoring" in html and "not captured by Weights &amp; Biases" in html and TOKEN not in html

    again, _ = ingest(cli, tmp_path, "wandb", str(project.root))
    assert again == runs  # the same runs, not duplicated
    assert len(list((tmp_path / "store" / "runs").iterdir())) == len(runs)


def test_one_run_folder_and_run_id(cli: CliRunner, tmp_path: Path, project: Project) -> None:
    folder = project.folders["broken"]
    runs, _ = ingest(cli, tmp_path, str(folder))  # one run folder, detected
    assert set(runs) == {project.logged["broken"]["run_id"]}
    train = project.logged["train"]["run_id"]
    (tmp_path / "b").mkdir()
    runs, _ = ingest(cli, tmp_path / "b", "wandb", str(project.root / "wandb"), "--run-id", train)
    assert set(runs) == {train}
    wrong = cli("ingest", "wandb", str(project.root), "--experiment", "x", cwd=tmp_path)
    assert wrong.returncode == 2 and "--experiment is not for Weights & Biases" in wrong.stderr
    missing = cli("ingest", "wandb", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "no such folder" in missing.stderr


def test_config_survives_the_store_byte_for_byte(cli: CliRunner, tmp_path: Path, project: Project) -> None:
    train = project.logged["train"]["run_id"]
    runs, _ = ingest(cli, tmp_path, "wandb", str(project.root), "--run-id", train)
    shown = cli("show", runs[train], "--store", str(tmp_path / "store"), "--json", cwd=tmp_path)
    wandbs_own = {i["key"]: i["value_json"] for i in project.record("train", "run")["config"]["update"]}
    assert json.loads(shown.stdout)["params"]["optimizer"] == wandbs_own["optimizer"]
