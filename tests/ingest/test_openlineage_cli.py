"""`auditor ingest openlineage`, then `check` and `report`, on events the real client wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliRunner
from tests.ingest.conftest import gaps_pack
from tests.ingest.test_openlineage import produce

# Rules whose evidence OpenLineage never records: they must say "could not evaluate", not pass.
PACK = gaps_pack("openlineage")


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("openlineage-cli") / "events.jsonl"
    return path, produce(path, "append", "--hostile")


def ingested(cli: CliRunner, tmp_path: Path, source: Path, *args: str) -> dict[str, str]:
    """Ingest; return the auditor run id of each source run id."""
    done = cli("ingest", *args, str(source), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pairs = [line.split() for line in done.stdout.splitlines() if line.startswith(("ingested", "already"))]
    return {p[-1].rstrip(")"): p[1] for p in pairs}


def test_ingest_check_and_report(cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]) -> None:
    source, manifest = events
    runs = ingested(cli, tmp_path, source)  # the kind is detected from the .jsonl suffix
    assert set(runs) == {manifest[k]["run_id"] for k in ("train", "score", "hostile")}
    store = str(tmp_path / "store")
    train = runs[manifest["train"]["run_id"]]
    record = json.loads(cli("show", train, "--store", store, "--json", cwd=tmp_path).stdout)
    assert record["origin"]["tool"] == "OpenLineage" and record["origin"]["source_uri"] == str(source)
    pack = tmp_path / "gaps.yaml"
    pack.write_text(PACK)
    done = cli("check", train, "--store", store, "--policy", str(pack), "--format", "json", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    outcomes = {f["rule_id"]: f["outcome"] for f in json.loads(done.stdout)["findings"]}
    assert outcomes == {"GAP-HW": "could_not_evaluate", "GAP-HASH": "could_not_evaluate"}
    default = cli("check", train, "--store", store, cwd=tmp_path)
    assert default.returncode in (1, 3), default.stdout + default.stderr  # never 0
    failed = cli("check", runs[manifest["score"]["run_id"]], "--store", store, "--format", "json", cwd=tmp_path)
    findings = json.loads(failed.stdout)["findings"]
    assert any(f["rule_id"] == "AUD-RUN-001" and f["outcome"] == "fail" for f in findings)
    out = tmp_path / "dossier"
    hostile = runs[manifest["hostile"]["run_id"]]
    done = cli("report", hostile, "--store", store, "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_ingest_twice_does_not_duplicate(cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]) -> None:
    source, manifest = events
    wanted = manifest["train"]["run_id"]
    first = ingested(cli, tmp_path, source, "openlineage", "--run-id", wanted)
    again = cli(
        "ingest", "openlineage", str(source), "--run-id", wanted, "--store", str(tmp_path / "store"), cwd=tmp_path
    )
    assert again.returncode == 0 and first[wanted] in again.stdout
    assert len(list((tmp_path / "store" / "runs").iterdir())) == 1
    head = cli("log", "head", "--store", str(tmp_path / "store"), cwd=tmp_path).stdout.strip()
    assert (
        head.startswith("1:") and again.stderr.splitlines()[-1] == f"auditor: log head {head}"
    )  # nothing new: as it was


def test_a_corrupt_file_writes_nothing(cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]) -> None:
    source, _ = events
    lines = source.read_text().splitlines()
    broken = json.loads(lines[4])
    del broken["run"]["runId"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:4], json.dumps(broken), *lines[5:]]) + "\n")
    done = cli("ingest", "openlineage", str(bad), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{bad}: line 5: run.runId: missing" in done.stderr and "Traceback" not in done.stderr
    runs = tmp_path / "store" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_a_folder_of_event_files_is_detected(cli: CliRunner, tmp_path: Path) -> None:
    manifest = produce(tmp_path / "lineage" / "events", "files")  # FileTransport without append
    runs = ingested(cli, tmp_path, tmp_path / "lineage")
    assert set(runs) == {manifest["train"]["run_id"], manifest["score"]["run_id"]}


def test_an_unfinished_run_has_no_invented_end(
    cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]
) -> None:
    """START and RUNNING only: still going, or its producer died. Nothing may say it ended."""
    source, _ = events
    first_two = source.read_text().splitlines()[:2]
    assert [json.loads(line)["eventType"] for line in first_two] == ["START", "RUNNING"]
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(first_two) + "\n")
    (run,) = ingested(cli, tmp_path, partial).values()
    store = str(tmp_path / "store")
    listed = cli("runs", "--store", store, cwd=tmp_path).stdout
    assert "unfinished" in listed and "None" not in listed
    shown = cli("show", run, "--store", store, cwd=tmp_path).stdout
    started = json.loads(first_two[0])["eventTime"][:19]
    assert f"started     {started}" in shown and "ended not recorded (unfinished)  (duration unknown)" in shown
    assert "None" not in shown
    done = cli("check", run, "--store", store, "--format", "json", cwd=tmp_path)
    assert done.returncode in (1, 3), done.stdout + done.stderr
    (finding,) = [f for f in json.loads(done.stdout)["findings"] if f["rule_id"] == "AUD-RUN-001"]
    assert finding["outcome"] == "could_not_evaluate"
    assert "unfinished: OpenLineage never recorded its end" in json.dumps(finding)
    out = tmp_path / "dossier"
    assert cli("report", run, "--store", store, "-o", str(out), "--format", "html", cwd=tmp_path).returncode == 0
    html = (out / "dossier.html").read_text()
    assert "; no end recorded (unfinished)</td>" in html and "exit code None" not in html
