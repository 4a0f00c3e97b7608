"""`auditor ingest mlflow`, then `check` and `report`, on stores that real MLflow wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.ingest.registry import canonical
from tests.conftest import AUDITOR, CliRunner, base_env
from tests.ingest.conftest import gaps_pack
from tests.ingest.test_mlflow import Store, shared_stores

# Rules whose evidence MLflow never records (or records only as a display fingerprint). The pinning
# rule is not among them: it judges a logged model's declared requirements (tests/check/test_declared*.py).
PACK = gaps_pack("mlflow")


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    return shared_stores(tmp_path_factory)


def ingest(cli: CliRunner, tmp_path: Path, *args: str) -> dict[str, str]:
    """Ingest; return the auditor run id of each MLflow run id."""
    done = cli("ingest", *args, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pairs = [line.split() for line in done.stdout.splitlines() if line.startswith(("ingested", "already"))]
    return {p[-1].rstrip(")"): p[1] if p[0] == "ingested" else p[3] for p in pairs}


@pytest.mark.parametrize("kind", ["v3-sqlite", "v2-files"])
def test_ingest_check_and_report(cli: CliRunner, tmp_path: Path, stores: dict[str, Store], kind: str) -> None:
    store = stores[kind]
    args = ("mlflow", store.source) if kind == "v3-sqlite" else (store.source,)  # the file store is detected
    runs = ingest(cli, tmp_path, *args)
    assert set(runs) == {r["run_id"] for r in store.client["runs"]}
    db = str(tmp_path / "store")
    train = runs[store.run("train-logreg")["run_id"]]
    record = json.loads(cli("show", train, "--store", db, "--json", cwd=tmp_path).stdout)
    assert record["origin"]["tool"] == "MLflow" and record["origin"]["source_uri"] == canonical(store.source)
    assert record["origin"]["tool_version"] == store.client["mlflow_version"]
    assert record["params"] == store.run("train-logreg")["params"]
    pack = tmp_path / "gaps.yaml"
    pack.write_text(PACK)
    done = cli("check", train, "--store", db, "--policy", str(pack), "--format", "json", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    outcomes = {f["rule_id"]: f["outcome"] for f in json.loads(done.stdout)["findings"]}
    assert outcomes == {"GAP-HW": "could_not_evaluate", "GAP-HASH": "could_not_evaluate"}
    default = cli("check", train, "--store", db, "--format", "json", cwd=tmp_path)
    assert default.returncode in (1, 3), default.stdout + default.stderr  # never 0
    pins = [f for f in json.loads(default.stdout)["findings"] if f["rule_id"] == "AUD-ENV-001"]
    assert ("environment", "could_not_evaluate") in {(f["subject"], f["outcome"]) for f in pins}  # installed: unknown
    assert all(f["evidence"]["environment"] == "declared" for f in pins if f["subject"] != "environment")
    failed = cli("check", runs[store.run("broken")["run_id"]], "--store", db, "--format", "json", cwd=tmp_path)
    findings = json.loads(failed.stdout)["findings"]
    assert any(f["rule_id"] == "AUD-RUN-001" and f["outcome"] == "fail" for f in findings)
    out = tmp_path / "dossier"
    done = cli("report", train, "--store", db, "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    assert "credit-scoring" in html and "not captured by MLflow" in html
    assert "ghp_" not in html and "s3cr3t" not in html
    again = ingest(cli, tmp_path, *args)
    assert again == runs  # the same runs, not duplicated
    assert len(list((tmp_path / "store" / "runs").iterdir())) == len(runs)


def test_a_corrupt_store_writes_nothing(cli: CliRunner, tmp_path: Path, stores: dict[str, Store]) -> None:
    store = stores["v2-files"]
    root = tmp_path / "mlruns"
    shutil.copytree(store.root, root)
    broken = root / store.client["experiment_id"] / store.run("broken")["run_id"] / "metrics"
    broken.mkdir(exist_ok=True)
    (broken / "loss").write_text("1700000000000 0.5 0\n1700000000001 NaN? 1\n")
    done = cli("ingest", "mlflow", str(root), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{broken / 'loss'}: metrics.loss line 2: value 'NaN?' is not a number" in done.stderr
    assert "Traceback" not in done.stderr
    runs = tmp_path / "store" / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # the good run was not written either


def test_concurrent_ingests_of_one_store_record_each_run_once(tmp_path: Path, stores: dict[str, Store]) -> None:
    """Three `auditor ingest` of one MLflow store at once: each looks for earlier ingests and commits under
    the store's lock, so every MLflow run is recorded once and all three name the same auditor runs."""
    store = stores["v3-sqlite"]
    argv = [str(AUDITOR), "ingest", "mlflow", store.source, "--store", str(tmp_path / "store")]
    started = [
        subprocess.Popen(argv, cwd=tmp_path, env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = []
    for process in started:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        pairs = [line.split() for line in out.splitlines() if line.startswith(("ingested", "already"))]
        outputs.append({p[-1].rstrip(")"): p[1] if p[0] == "ingested" else p[3] for p in pairs})
    expected = {r["run_id"] for r in store.client["runs"]}
    assert all(set(found) == expected for found in outputs)
    assert outputs[0] == outputs[1] == outputs[2]
    assert sorted(p.name for p in (tmp_path / "store" / "runs").iterdir()) == sorted(outputs[0].values())
