"""OpenLineage RunEvents, round-tripped: export, `auditor ingest openlineage` into a fresh store, export
again; the job, the inputs and outputs, their versions and schemas are the same. Done for the
captured sample and for a run ingested from a pipeline the real DVC reproduced."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import RunEvent

from auditor.export.openlineage import run_uuid
from tests.conftest import CliRunner
from tests.export.conftest import Captured
from tests.ingest.test_dvc import pipeline

INGESTED = re.compile(r"^ingested (\S+) \(source run (\S+)\)$", re.M)


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _lineage(events: list[dict[str, Any]]) -> dict[str, Any]:
    def side(key: str) -> dict[tuple[str, str], tuple[object, object]]:
        out = {}
        for event in events:
            for d in event[key]:
                facets = d.get("facets", {})
                version = facets.get("version", {}).get("datasetVersion")
                fields = [(f["name"], f.get("type")) for f in facets.get("schema", {}).get("fields", [])]
                out[d["namespace"], d["name"]] = (version, fields)
        return out

    return {
        "types": [e["eventType"] for e in events],
        "job": {(e["job"]["namespace"], e["job"]["name"]) for e in events},
        "inputs": side("inputs"),
        "outputs": side("outputs"),
    }


def _round_trip(cli: CliRunner, store: Path, run_id: str, work: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    first = cli("export", run_id, "--format", "openlineage", "--store", str(store), cwd=work)
    assert first.returncode == 0, first.stderr
    events = _events(first.stdout)
    (work / "events.jsonl").write_text(first.stdout)
    fresh = work / "fresh"
    done = cli("ingest", "openlineage", str(work / "events.jsonl"), "--store", str(fresh), cwd=work)
    assert done.returncode == 0, done.stderr
    found = INGESTED.search(done.stdout)
    assert found, done.stdout
    assert found[2] == run_uuid(run_id)
    again = cli("export", found[1], "--format", "openlineage", "--store", str(fresh), cwd=work)
    assert again.returncode == 0, again.stderr
    assert _lineage(_events(again.stdout)) == _lineage(events)
    record = json.loads(cli("show", found[1], "--json", "--store", str(fresh), cwd=work).stdout)
    return events, record


def test_the_sample_run_round_trips_through_ingest(cli: CliRunner, sample: Captured, tmp_path: Path) -> None:
    events, record = _round_trip(cli, sample.store, sample.run_id, tmp_path)
    assert all(e["schemaURL"] == RunEvent._get_schema() for e in events)  # openlineage-python's RunEvent
    lineage = _lineage(events)
    assert lineage["types"] == ["START", "COMPLETE"]
    assert lineage["job"] == {("credit-scoring", "credit-scoring")}
    root = sample.record["identity"]["cwd"]  # the copied sample is no git repository
    declared = {d["id"]: d for d in sample.record["lineage"]["datasets"]}
    assert set(lineage["inputs"]) == {
        ("file", f"{root}/{declared[i]['path']}") for i in ("german-credit-package", "params")
    }
    outputs = lineage["outputs"]
    model = ("file", f"{root}/models/credit_model.joblib")
    assert model in outputs and ("file", f"{root}/data/raw/german.csv") in outputs  # intermediates are outputs
    assert outputs[model][0] == "sha256:" + sample.record["lineage"]["models"][0]["after"]["sha256"]
    raw = lineage["inputs"]["file", f"{root}/{declared['german-credit-package']['path']}"]
    assert ("age", "int64") in raw[1]  # the profiled columns as the schema facet
    job = events[0]["job"]["facets"]
    assert job["jobType"]["integration"] == "AUDITOR" and "ownership" in job and "documentation" in job
    tags = {t["key"]: t["value"] for t in events[1]["run"]["facets"]["tags"]["tags"]}
    assert tags["auditor.run_id"] == sample.run_id
    assert record["identity"]["status"] == "succeeded"
    assert record["identity"]["started_at"][:19] == sample.record["identity"]["started_at"][:19]
    step = record["lineage"]["steps"][0]
    assert len(step["inputs"]) == 2 and len(step["outputs"]) == len(outputs)


def test_a_dvc_run_round_trips_through_ingest(
    cli: CliRunner, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    repo = pipeline(tmp_path_factory)
    store = tmp_path / "dvc-store"
    done = cli("ingest", str(repo), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = INGESTED.search(done.stdout)
    assert run_id, done.stdout
    original = json.loads(cli("show", run_id[1], "--json", "--store", str(store), cwd=tmp_path).stdout)
    events, record = _round_trip(cli, store, run_id[1], tmp_path)
    lineage = _lineage(events)
    data = [d for d in original["lineage"]["datasets"] if d["annotations"].get("dvc.kind") != "code"]
    names = {d["path"].rstrip("/").rsplit("/", 1)[-1] for d in data}
    exported = {name.rstrip("/").rsplit("/", 1)[-1] for _, name in (*lineage["inputs"], *lineage["outputs"])}
    assert exported == names and lineage["inputs"] and lineage["outputs"]
    hints = [v for v, _ in lineage["inputs"].values()]
    assert all(v is not None and v.startswith(("md5", "sha256")) for v in hints), hints  # DVC's digest, named
    assert len(record["lineage"]["datasets"]) == len(data)
