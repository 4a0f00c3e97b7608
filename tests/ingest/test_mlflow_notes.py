"""MLflow's run description (`mlflow.note.content`) imported as a note, by real MLflow in its tool virtualenv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.ingest.conftest import tool_python

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
DESCRIPTION = f'Baseline.\n<script>alert("x")</script> \x1b[31m & token {TOKEN}'
PRODUCER = """\
import json, sys
import mlflow
mlflow.set_tracking_uri("sqlite:///" + sys.argv[1] + "/mlflow.db")
mlflow.set_experiment("notes-demo")
out = {}
with mlflow.start_run(run_name="described") as run:
    mlflow.log_param("C", 1)
    mlflow.set_tag("mlflow.note.content", json.loads(sys.argv[2]))
with mlflow.start_run(run_name="plain") as plain:
    mlflow.log_param("C", 2)
client = mlflow.tracking.MlflowClient()
for r in (run, plain):
    info = client.get_run(r.info.run_id).info
    out[info.run_name] = {"run_id": info.run_id, "start_time": info.start_time, "user": info.user_id}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("mlflow-notes")
    (folder / "produce.py").write_text(PRODUCER)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "USER": "analyst", "LOGNAME": "analyst"}
    done = subprocess.run(
        [str(tool_python("mlflow3")), "produce.py", str(folder), json.dumps(DESCRIPTION)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs: dict[str, dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return folder / "mlflow.db", runs


def _ingest(cli: CliRunner, tmp_path: Path, db: Path) -> subprocess.CompletedProcess[str]:
    done = cli("ingest", str(db), "--store", "store", cwd=tmp_path, env=base_env())
    assert done.returncode == 0, done.stderr
    return done


def _ids(stdout: str) -> dict[str, str]:
    pairs = [line.split() for line in stdout.splitlines() if line.startswith(("ingested", "already"))]
    return {p[-1].rstrip(")"): p[1] if p[0] == "ingested" else p[3] for p in pairs}


def test_the_description_becomes_a_note_once(
    cli: CliRunner, tmp_path: Path, source: tuple[Path, dict[str, dict[str, object]]]
) -> None:
    db, runs = source
    done = _ingest(cli, tmp_path, db)
    ids = _ids(done.stdout)
    described, plain = ids[str(runs["described"]["run_id"])], ids[str(runs["plain"]["run_id"])]
    assert "auditor: note: MLflow's notes on the run kept as note " in done.stderr
    shown = cli("notes", described, "--store", "store", "--format", "json", cwd=tmp_path, env=base_env())
    assert shown.returncode == 0, shown.stderr
    (note,) = json.loads(shown.stdout)["notes"]
    assert note["source"] == "mlflow" and note["author"] == "analyst" == runs["described"]["user"]
    assert note["text"] == 'Baseline.\n<script>alert("x")</script> \ufffd[31m & token [REDACTED:github-token]'
    started = int(runs["described"]["start_time"])  # type: ignore[call-overload]
    from datetime import datetime

    assert int(datetime.fromisoformat(note["created_at"]).timestamp() * 1000) == started
    assert note["source_ref"] == (
        f"MLflow run {runs['described']['run_id']}, tag mlflow.note.content (the run's description); dated by the "
        "run's start and attributed to the run's user: MLflow does not date notes or name their writer"
    )
    empty = cli("notes", plain, "--store", "store", "--format", "json", cwd=tmp_path, env=base_env())
    assert json.loads(empty.stdout)["notes"] == []
    record = json.loads((tmp_path / "store" / "runs" / described / "record.json").read_text())
    assert "mlflow.note.content" in record["tags"] and TOKEN not in record["tags"]["mlflow.note.content"]

    store = RunStore.open(tmp_path / "store")
    before = (store.head(), sorted((tmp_path / "store" / "notes" / described).iterdir()))
    again = _ingest(cli, tmp_path, db)
    assert _ids(again.stdout) == ids and "kept as note" not in again.stderr
    assert (
        RunStore.open(tmp_path / "store").head(),
        sorted((tmp_path / "store" / "notes" / described).iterdir()),
    ) == before

    text = cli("notes", described, "--store", "store", cwd=tmp_path, env=base_env())
    assert "imported from MLflow: MLflow run" in text.stdout and "\\x1b" not in text.stdout
    show = cli("show", described, "--store", "store", cwd=tmp_path, env=base_env())
    assert "  1 note in 1 thread" in show.stdout and "  - " in show.stdout and "analyst" in show.stdout


def test_the_dossier_shows_the_imported_note_dated_by_the_run(
    cli: CliRunner, tmp_path: Path, source: tuple[Path, dict[str, dict[str, object]]]
) -> None:
    db, runs = source
    described = _ids(_ingest(cli, tmp_path, db).stdout)[str(runs["described"]["run_id"])]
    (tmp_path / "gaps.yaml").write_text(
        "pack: g\nversion: 1\ndescription: d\nrules:\n  - id: G-1\n    title: t\n    severity: low\n"
        "    rationale: r\n    remediation: r\n    references: [x]\n    check: {kind: seeds_recorded}\n"
    )
    done = cli(
        "report", described, "--store", "store", "--policy", "gaps.yaml", "--format", "html", "-o", "out", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    section = (
        (tmp_path / "out" / "dossier.html").read_text().split('<section id="discussion">', 1)[1].split("</section>")[0]
    )
    assert "<strong>analyst</strong>" in section and "(the run&#39;s time: the tool does not date notes)" in section
    assert "imported from MLflow" in section and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in section
    assert "<script" not in section and TOKEN not in section
