"""`auditor ingest dvc` on a fresh clone of a project with history: the dates the record and
`show` give are the commits', and ingesting again keeps every new piece of evidence."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.ingest.dvc_history import DATES, History, at, clone, history
from tests.ingest.test_dvc import dvc

LINE = re.compile(r"^(ingested|already ingested as) (\S+) \(source run (\S+)\)$", re.M)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> History:
    return history(tmp_path_factory)


def ingest(cli: CliRunner, tmp_path: Path, *args: str) -> tuple[str, str, str]:
    """(what happened, run id, stderr) of an ingest that must succeed."""
    done = cli("ingest", "dvc", *args, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = LINE.search(done.stdout)
    assert found, done.stdout
    return found[1], found[2], done.stderr


def show(cli: CliRunner, tmp_path: Path, run: str, *args: str) -> str:
    done = cli("show", run, "--store", str(tmp_path / "store"), *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_fresh_clone_is_dated_by_its_commits(cli: CliRunner, tmp_path: Path, built: History) -> None:
    fresh = clone(built, tmp_path / "churn")
    _, run, _ = ingest(cli, tmp_path, str(fresh))
    record = json.loads(show(cli, tmp_path, run, "--json"))
    identity = record["identity"]
    assert identity["time_basis"] == "git_commit"
    assert at(identity["started_at"]) == at(DATES["add"]) and at(identity["ended_at"]) == at(DATES["retrain"])
    assert "dvc.lock last changed by" in identity["time_note"]
    text = show(cli, tmp_path, run)
    today = datetime.now(UTC).date().isoformat()
    started = next(line for line in text.splitlines() if line.strip().startswith("started"))
    assert "2021-01-10" in started and "2021-05-20" in started and today not in started
    assert "0.0 s" not in text and "commit dates from the git history" in text
    assert len(record["lineage"]["steps"]) == 4 and [m["id"] for m in record["lineage"]["models"]] == ["churn-model"]
    declared = record["environment"]["declared"]
    assert [f["path"] for f in declared["files"]] == ["requirements.txt", "src/requirements-train.txt"]
    checked = cli("check", run, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert checked.returncode in (1, 3), checked.stdout + checked.stderr  # never 0: DVC leaves gaps
    done = cli("report", run, "--store", str(tmp_path / "store"), "-o", str(tmp_path / "dossier"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "dossier" / "dossier.html").read_text()
    assert "2021-05-20" in html and "Predicts which customers leave" in html and "dvc import of data/labels.csv" in html


def test_ingesting_again_keeps_new_evidence_and_says_when_nothing_changed(
    cli: CliRunner, tmp_path: Path, built: History
) -> None:
    fresh = clone(built, tmp_path / "churn")
    what, first, _ = ingest(cli, tmp_path, str(fresh))
    assert what == "ingested"
    what, again, stderr = ingest(cli, tmp_path, str(fresh))
    assert (what, again) == ("already ingested as", first)
    assert f"already ingested, unchanged: the evidence read now is what {first} holds" in stderr

    what, rehashed, stderr = ingest(cli, tmp_path, str(fresh), "--rehash")  # no data: absent, not changed
    assert what == "ingested" and rehashed != first
    assert "auditor: note: absent from the workspace (not pulled?): data/raw.csv" in stderr
    assert "changed since dvc.lock" not in stderr
    assert f"differs from {first}" in stderr
    assert json.loads(show(cli, tmp_path, rehashed, "--json"))["links"]["reingests"] == first
    assert f"re-reads    {first} (an earlier ingest of this source run)" in show(cli, tmp_path, rehashed)
    what, same, stderr = ingest(cli, tmp_path, str(fresh), "--rehash")
    assert (what, same) == ("already ingested as", rehashed) and "unchanged" in stderr

    dvc(fresh, "pull", "-q")
    (fresh / "data" / "raw.csv").write_text("id,plan,months\n9,free,0\n")
    what, changed, stderr = ingest(cli, tmp_path, str(fresh), "--rehash")
    assert what == "ingested" and changed not in (first, rehashed)
    assert "auditor: note: changed since dvc.lock: data/raw.csv" in stderr
    assert json.loads(show(cli, tmp_path, changed, "--json"))["links"]["reingests"] == rehashed  # the latest
    assert len(list((tmp_path / "store" / "runs").iterdir())) == 3


def test_an_auditor_yaml_adds_to_what_dvc_says_of_its_model(cli: CliRunner, tmp_path: Path, built: History) -> None:
    """auditor.yaml declares the model's limitations but no description: DVC's `desc` stays, and
    params.yaml, which DVC logged and auditor.yaml also names, is listed once."""
    fresh = clone(built, tmp_path / "churn")
    (fresh / "auditor.yaml").write_text(
        "version: 1\nproject: {name: churn, owner: Data team}\nparams_files: [params.yaml]\n"
        "models:\n  - id: churn\n    path: model.json\n    limitations: Trained on one region only\n"
    )
    _, run, stderr = ingest(cli, tmp_path, str(fresh))
    assert f"applying {fresh / 'auditor.yaml'}" in stderr
    card = json.loads(show(cli, tmp_path, run, "--json"))["model_card"]
    (model,) = card["models"]
    assert model["id"] == "churn-model" and model["description"] == "Predicts which customers leave"
    assert model["limitations"] == "Trained on one region only"
    names = [(h["name"], h["value"]) for h in card["hyperparameters"]]
    assert names and len(names) == len(set(names)), names
