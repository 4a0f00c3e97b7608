"""W&B's run notes imported as a note, from a run the real wandb package wrote offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.ingest.conftest import tool_python

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
NOTES = f"Tried <b>bold</b> & token {TOKEN}\nline two \u202e"
PRODUCER = """\
import json, sys
import wandb
run = wandb.init(project="notes-demo", name="described", notes=json.loads(sys.argv[1]), mode="offline", dir=".")
run.log({"loss": 0.5})
print(json.dumps({"run_id": run.id}))
run.finish()
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("wandb-notes")
    (folder / "produce.py").write_text(PRODUCER)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "USER": "analyst", "WANDB_SILENT": "true"}
    done = subprocess.run(
        [str(tool_python("wandb")), "produce.py", json.dumps(NOTES)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])["run_id"]
    return folder, run_id


def test_the_run_notes_become_a_note_once(cli: CliRunner, tmp_path: Path, project: tuple[Path, str]) -> None:
    folder, wandb_id = project
    done = cli("ingest", str(folder), "--store", "store", cwd=tmp_path, env=base_env())
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("ingested")]
    run_id = line.split()[1]
    assert line.endswith(f"(source run {wandb_id})") and "W&B's notes on the run kept as note" in done.stderr
    shown = cli("notes", run_id, "--store", "store", "--format", "json", cwd=tmp_path, env=base_env())
    assert shown.returncode == 0, shown.stderr
    (note,) = json.loads(shown.stdout)["notes"]
    assert (
        note["source"] == "wandb"
        and note["text"] == "Tried <b>bold</b> & token [REDACTED:github-token]\nline two \ufffd"
    )
    assert note["author"] == "unknown (not recorded by W&B)"
    assert note["source_ref"].startswith(f"W&B run {wandb_id}, the run's notes field; dated by the run's start")
    record = json.loads((tmp_path / "store" / "runs" / run_id / "record.json").read_text())
    assert note["created_at"].replace("Z", "+00:00")[:19] == record["identity"]["started_at"][:19]
    assert "wandb.notes" in record["tags"] and TOKEN not in record["tags"]["wandb.notes"]

    head = RunStore.open(tmp_path / "store").head()
    again = cli("ingest", str(folder), "--store", "store", cwd=tmp_path, env=base_env())
    assert (
        again.returncode == 0 and f"already ingested as {run_id}" in again.stdout and "kept as note" not in again.stderr
    )
    assert RunStore.open(tmp_path / "store").head() == head
    assert len(list((tmp_path / "store" / "notes" / run_id).iterdir())) == 1
    text = cli("notes", run_id, "--store", "store", cwd=tmp_path, env=base_env())
    assert text.returncode == 0 and "imported from W&B: W&B run" in text.stdout and "<b>bold</b>" in text.stdout
