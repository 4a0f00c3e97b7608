"""Older records through the real CLI: `runs`, `show`, `check` and `report` read them, and never write them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor.store.migrate import migrate
from auditor.store.runs import RunStore
from tests.conftest import FIXTURES, CliRunner, base_env, store_snapshot
from tests.factories import log_record
from tests.record.old_records import Data, older

SMALL_DB = FIXTURES / "advisories" / "small"
RUN_IDS = {v: f"01JGZ000000000000000000{v.replace('.', '')}A" for v in ("1.0", "1.1", "1.2")}
GAPS = {  # a gap each version has, as readers show it
    "1.0": "not captured: record schema 1.0 predates lineage capture",
    "1.1": "not captured: no predictions declared",
    "1.2": "not captured: no predictions declared",
}


def _put(store: Path, run_id: str, data: Data) -> Path:
    data["identity"]["run_id"] = run_id
    folder = store / "runs" / run_id
    folder.mkdir(parents=True)
    for log in ("stdout.log", "stderr.log"):
        (folder / log).write_bytes(b"")
    path = folder / "record.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")  # as the old auditor wrote it
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    for version, run_id in RUN_IDS.items():
        _put(root, run_id, older(version))
    migrated = migrate(RunStore.open(root), adopt_unindexed=True).migrated  # the older auditor kept no index
    assert migrated == list(RUN_IDS.values())
    return root


def _sha(store: Path, run_id: str) -> str:
    return hashlib.sha256((store / "runs" / run_id / "record.json").read_bytes()).hexdigest()


@pytest.mark.parametrize("version", list(RUN_IDS))
def test_show_check_and_report_read_an_older_record(version: str, cli: CliRunner, store: Path, tmp_path: Path) -> None:
    run_id, before = RUN_IDS[version], store_snapshot(store)
    env = base_env(AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    where = ("--store", str(store))
    vulns = ("--vuln-source", "local", "--advisory-db", str(SMALL_DB))

    shown = cli("show", run_id, *where, cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    assert GAPS[version] in shown.stdout
    assert f"record      sha256:{_sha(store, run_id)}" in shown.stdout  # the file's digest

    as_json = json.loads(cli("show", run_id, *where, "--json", cwd=tmp_path, env=env).stdout)
    assert as_json["schema_version"] == version and as_json["lineage"]["state"] in ("missing", "captured")
    assert as_json["environment"]["declared"]["state"] == ("missing" if version == "1.0" else "captured")

    checked = cli("check", run_id, *where, *vulns, "--format", "json", cwd=tmp_path, env=env)
    # 1.0: its gaps are "could not evaluate", never a pass; later ones hold lineage, and a dataset lacks a datasheet
    assert checked.returncode == (3 if version == "1.0" else 1), checked.stderr
    report = json.loads(checked.stdout)
    assert report["run"]["record_sha256"] == _sha(store, run_id)
    outcomes = {f["rule_id"]: (f["outcome"], f["message"]) for f in report["findings"]}
    assert outcomes["AUD-FAIR-001"][0] == "could_not_evaluate"
    if version == "1.0":
        assert outcomes["AUD-DATA-001"] == (
            "could_not_evaluate",
            "data lineage not captured: record schema 1.0 predates lineage capture",
        )
        assert outcomes["AUD-REPRO-001"][0] == "could_not_evaluate"  # no params in 1.0: not "no seed logged"
    else:
        assert outcomes["AUD-REPRO-001"][0] == "pass"

    out = tmp_path / "dossier"
    made = cli("report", run_id, *where, *vulns, "--format", "html", "-o", str(out), cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    html = (out / "dossier.html").read_text()
    assert _sha(store, run_id) in html
    if version == "1.0":
        assert "record schema 1.0 predates lineage capture" in html
        assert "record schema 1.0 predates fairness capture" in html

    assert store_snapshot(store) == before  # read, never written


def test_runs_lists_older_records_and_a_newer_one_is_refused(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    newer = older("1.2")
    newer["schema_version"] = "1.8"
    path = _put(store, "01JGZ00000000000000000014A", newer)
    log_record(store, "01JGZ00000000000000000014A")  # in the log by its id, read or not
    before = store_snapshot(store)

    listed = cli("runs", "--store", str(store), cwd=tmp_path)
    assert listed.returncode == 2
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:4]] == list(RUN_IDS.values())
    error = (
        f"auditor: error: {path}: field schema_version: unsupported version '1.8': written by a newer auditor "
        "(this auditor reads 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7: upgrade auditor to read it)"
    )
    assert listed.stderr == error + "\n"

    shown = cli("show", "01JGZ00000000000000000014A", "--store", str(store), cwd=tmp_path)
    assert (shown.returncode, shown.stdout, shown.stderr) == (2, "", error + "\n")
    checked = cli("check", str(path), cwd=tmp_path)
    assert checked.returncode == 2 and checked.stderr == error + "\n"
    assert store_snapshot(store) == before
