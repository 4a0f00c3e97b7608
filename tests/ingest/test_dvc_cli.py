"""`auditor ingest dvc`, then `check` and `report`, on a pipeline the real DVC reproduced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.ingest.conftest import gaps_pack
from tests.ingest.test_dvc import copy_of, pipeline

# Rules whose evidence DVC never records: they must say "could not evaluate", never pass.
PACK = gaps_pack("dvc")
INGESTED = re.compile(r"^(ingested|already ingested as) (\S+) \(source run (\S+)\)$", re.M)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline(tmp_path_factory)


def ingest(cli: CliRunner, tmp_path: Path, *args: str) -> tuple[str, str, str]:
    """(run id, stdout, stderr) of a successful ingest."""
    done = cli("ingest", *args, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = INGESTED.search(done.stdout)
    assert found, done.stdout
    return found[2], done.stdout, done.stderr


def test_ingest_check_and_report(cli: CliRunner, tmp_path: Path, repo: Path) -> None:
    run, _, stderr = ingest(cli, tmp_path, str(repo))  # the kind is detected from dvc.yaml
    assert "auditor: note: times are approximations" not in stderr
    store = str(tmp_path / "store")
    record = json.loads(cli("show", run, "--store", store, "--json", cwd=tmp_path).stdout)
    assert record["origin"]["tool"] == "DVC" and record["origin"]["source_uri"] == str(repo)
    assert record["identity"]["status"] == "succeeded"
    assert {n["id"] for n in record["lineage"]["graph"]["nodes"]} >= {"step:prepare", "step:evaluate@test"}
    pack = tmp_path / "gaps.yaml"
    pack.write_text(PACK)
    done = cli("check", run, "--store", store, "--policy", str(pack), "--format", "json", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    findings = json.loads(done.stdout)["findings"]
    outcomes = {f["rule_id"]: f["outcome"] for f in findings if f["outcome"] != "not_applicable"}
    assert outcomes == {"GAP-HW": "could_not_evaluate", "GAP-HASH": "could_not_evaluate"}
    code = {f["subject"] for f in findings if f["outcome"] == "not_applicable"}  # scripts are code, not data
    assert code and all(s.startswith("dataset:src") for s in code), code
    default = cli("check", run, "--store", store, cwd=tmp_path)
    assert default.returncode in (1, 3), default.stdout + default.stderr  # never 0
    out = tmp_path / "dossier"
    done = cli("report", run, "--store", store, "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    assert "evaluate@test" in html and "not captured by DVC" in html


def test_rehash_makes_inputs_hashed_and_reports_changes(cli: CliRunner, tmp_path: Path, repo: Path) -> None:
    work = copy_of(repo, tmp_path / "work")
    run, _, _ = ingest(cli, tmp_path, "dvc", str(work), "--rehash")
    pack = tmp_path / "gaps.yaml"
    pack.write_text(PACK)
    store = str(tmp_path / "store")
    done = cli("check", run, "--store", store, "--policy", str(pack), "--format", "json", cwd=tmp_path)
    findings = json.loads(done.stdout)["findings"]
    outcomes = {f["rule_id"]: f["outcome"] for f in findings if f["outcome"] != "not_applicable"}  # code: n/a
    # The SHA-256 was taken at ingest, long after DVC ran: it shows today's bytes, not what the
    # pipeline read, so the rule cannot pass on it (the MD5 in dvc.lock is only an identity hint).
    assert outcomes == {"GAP-HW": "could_not_evaluate", "GAP-HASH": "could_not_evaluate"}
    (work / "src" / "train.py").write_text("print('changed')\n")
    again, stdout, stderr = ingest(cli, tmp_path, "dvc", str(work), "--rehash")
    assert stdout.startswith("ingested") and again != run  # same dvc.lock, same source run, new evidence: kept
    assert "auditor: note: changed since dvc.lock: src/train.py" in stderr
    assert f"auditor: note: re-ingested: what was read now differs from {run}, the earlier ingest" in stderr
    record = json.loads(cli("show", again, "--store", store, "--json", cwd=tmp_path).stdout)
    assert record["links"]["reingests"] == run
    out = tmp_path / "dossier"
    assert cli("report", again, "--store", store, "-o", str(out), "--format", "html", cwd=tmp_path).returncode == 0
    assert re.search(rf"Re-reads the earlier ingest</th>\s*<td[^>]*>(<code>)?{run}", (out / "dossier.html").read_text())


def test_ingest_twice_does_not_duplicate(cli: CliRunner, tmp_path: Path, repo: Path) -> None:
    first, _, _ = ingest(cli, tmp_path, "dvc", str(repo))
    again, stdout, _ = ingest(cli, tmp_path, "dvc", str(repo / "dvc.lock"))  # a file names its folder
    assert again == first and stdout.startswith("already ingested as")
    assert len(list((tmp_path / "store" / "runs").iterdir())) == 1


def test_a_corrupt_lock_writes_nothing(cli: CliRunner, tmp_path: Path, repo: Path) -> None:
    work = copy_of(repo, tmp_path / "work")
    lock = work / "dvc.lock"
    lock.write_text(lock.read_text().replace("hash: md5\n", "hash: crc32\n", 1))
    done = cli("ingest", "dvc", str(work), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{lock}: stages.prepare.deps[0].hash: unknown hash 'crc32'" in done.stderr
    assert "Traceback" not in done.stderr
    runs = tmp_path / "store" / "runs"
    assert not runs.exists() or not any(runs.iterdir())
