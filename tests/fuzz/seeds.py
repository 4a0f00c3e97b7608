"""Valid inputs for every fuzz target: each is read without error as it is, so a mutation of it
reaches past the first check of the reader (the tests assert that, once, before fuzzing)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from auditor.record.fairness import AttributeFairness, Bootstrap, Disparity, Fairness, GroupMetrics
from auditor.record.io import dump_record
from auditor.record.models import Metric
from tests.factories import START, make_record

RUN_UUID = "5f0c6f3e-8a55-4b8e-9f5a-2d7c3c1e9b10"
MLFLOW_RUN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def record_json() -> dict[str, Any]:
    group = GroupMetrics(
        group=("a",), count=50, positives=20, selection_rate=0.4, true_positive_rate=0.5,
        false_positive_rate=0.1, accuracy=0.8, small=False,
    )  # fmt: skip
    gap = Disparity(metric="demographic_parity_difference", value=0.05, groups=(("a",), ("b",)))
    block = AttributeFairness(
        attributes=("g",), groups=(group, group.model_copy(update={"group": ("b",)})), disparities=(gap,), issues=()
    )
    fairness = Fairness(
        predictions_path="p.csv", predictions_sha256="0" * 64, rows=100, label_column="y", prediction_column="p",
        score_column=None, favourable_outcome="1", min_group_size=30, reference_groups={},
        bootstrap=Bootstrap(resamples=0, seed=0, confidence=0.95), by_attributes=(block,), issues=(),
    )  # fmt: skip
    record = make_record().model_copy(
        update={
            "params": {"seed": 1, "lr": 0.1, "name": "x"},
            "metrics": (Metric(name="loss", value=0.5, step=1, logged_at=START),),
            "fairness": fairness,
        }
    )
    data: dict[str, Any] = json.loads(dump_record(record))
    return data


SPEC: dict[str, Any] = {
    "version": 1,
    "project": {"name": "credit", "owner": "risk team", "intended_use": "scoring"},
    "environment": {"requirements": ["requirements.txt"]},
    "datasets": [
        {"id": "raw", "role": "input", "path": "data/raw.csv", "datasheet": {"licence": "CC-BY-4.0"}},
        {"id": "clean", "role": "output", "path": "data/clean.csv"},
    ],
    "steps": [{"name": "prepare", "command": "python prep.py", "inputs": ["raw"], "outputs": ["clean"]}],
    "models": [{"id": "model", "path": "model.pkl"}],
    "predictions": {
        "path": "preds.csv", "label_column": "y", "prediction_column": "p", "sensitive_columns": ["sex"],
        "favourable_outcome": "1", "reference_groups": {"sex": "f"},
    },
    "policy": {
        "packs": ["default"], "fail_on": "medium", "waivers": "waivers.yaml",
        "overrides": {"AUD-FAIR-001": {"params": {"max": 0.05}, "reason": "our regulator asks for five points"}},
    },
}  # fmt: skip

PACK: dict[str, Any] = {
    "pack": "team",
    "version": 2,
    "description": "a team pack",
    "includes": ["default"],
    "rules": [
        {
            "id": "TEAM-EXPR-1", "title": "exit code", "severity": "high", "rationale": "r", "remediation": "r",
            "references": ["x"],
            "check": {"kind": "expression", "params": {
                "expression": "item.value >= 0", "for_each": "record.metrics", "subject": "item.name"}},
        },
        {
            "id": "TEAM-FAIR-1", "title": "fair", "severity": "medium", "rationale": "r", "remediation": "r",
            "references": ["x"],
            "check": {"kind": "fairness_threshold", "params": {"metric": "demographic_parity_difference", "max": 0.1}},
        },
    ],
    "clauses": [{"id": "Art. 10", "title": "data", "rules": ["TEAM-FAIR-1"]}],
    "overrides": {"AUD-RUN-001": {"severity": "critical", "reason": "a failed run is never acceptable here"}},
}  # fmt: skip

WAIVERS: dict[str, Any] = {
    "version": 1,
    "waivers": [
        {
            "id": "W-1", "rule": "TEAM-FAIR-1", "scope": "attribute:*", "justification": "accepted for the pilot",
            "owner": "alice", "approver": "bob", "expires": "2099-12-31",
        },
        {
            "id": "W-2", "rule": "AUD-VULN-001", "scope": "package:numpy", "justification": "not reachable here",
            "owner": "carol", "approver": "dave", "expires": "2020-01-01", "advisories": ["PYSEC-2019-1"],
        },
    ],
}  # fmt: skip

# An MLflow file store: path below the store -> text.
MLFLOW_FILES: dict[str, str] = {
    "0/meta.yaml": "artifact_location: mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n",
    f"0/{MLFLOW_RUN}/meta.yaml": (
        f"artifact_uri: mlruns/0/{MLFLOW_RUN}/artifacts\nend_time: 1700000001000\nentry_point_name: ''\n"
        f"experiment_id: '0'\nlifecycle_stage: active\nrun_id: {MLFLOW_RUN}\nrun_name: train\n"
        f"run_uuid: {MLFLOW_RUN}\nsource_name: ''\nsource_type: 4\nsource_version: ''\n"
        "start_time: 1700000000000\nstatus: 3\ntags: []\nuser_id: alice\n"
    ),
    f"0/{MLFLOW_RUN}/params/lr": "0.1",
    f"0/{MLFLOW_RUN}/params/seed": "42",
    f"0/{MLFLOW_RUN}/metrics/loss": "1700000000500 0.5 0\n1700000000900 0.25 1\n",
    f"0/{MLFLOW_RUN}/tags/mlflow.runName": "train",
    f"0/{MLFLOW_RUN}/tags/mlflow.source.git.commit": "a" * 40,
}

SQLITE_SCHEMA = """
CREATE TABLE experiments (experiment_id INTEGER, name TEXT);
CREATE TABLE runs (run_uuid TEXT, name TEXT, status TEXT, start_time INTEGER, end_time INTEGER, user_id TEXT,
                   lifecycle_stage TEXT, artifact_uri TEXT, experiment_id INTEGER);
CREATE TABLE params (run_uuid TEXT, key TEXT, value TEXT);
CREATE TABLE tags (run_uuid TEXT, key TEXT, value TEXT);
CREATE TABLE metrics (run_uuid TEXT, key TEXT, value REAL, timestamp INTEGER, step INTEGER, is_nan INTEGER);
"""
SQLITE_ROWS: dict[str, list[list[Any]]] = {
    "experiments": [[0, "Default"]],
    "runs": [[MLFLOW_RUN, "train", "FINISHED", 1700000000000, 1700000001000, "alice", "active", "", 0]],
    "params": [[MLFLOW_RUN, "lr", "0.1"], [MLFLOW_RUN, "seed", "42"]],
    "tags": [[MLFLOW_RUN, "mlflow.runName", "train"]],
    "metrics": [[MLFLOW_RUN, "loss", 0.5, 1700000000500, 0, 0], [MLFLOW_RUN, "loss", 0.25, 1700000000900, 1, 0]],
}


def write_sqlite(path: Path, rows: dict[str, list[list[Any]]]) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(SQLITE_SCHEMA)
        for table, values in rows.items():
            for row in values:
                # text that is not UTF-8 (a lone surrogate here) goes in as its bytes, typed TEXT: what a
                # hostile database can hold and Python's sqlite3 cannot decode
                marks = ", ".join("CAST(? AS TEXT)" if _not_utf8(v) else "?" for v in row)
                args = [v.encode("utf-8", "surrogatepass") if _not_utf8(v) else v for v in row]
                connection.execute(f"INSERT INTO {table} VALUES ({marks})", args)  # noqa: S608 - our own table names
    connection.close()


def _not_utf8(value: object) -> bool:
    try:
        return isinstance(value, str) and not value.encode()
    except UnicodeEncodeError:
        return True


DVC_FILES: dict[str, str] = {
    "dvc.yaml": (
        "stages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n    - data/raw.csv\n    - prepare.py\n"
        "    params:\n    - prepare.split\n    outs:\n    - data/prepared\n"
        "  train:\n    cmd: python train.py\n    deps:\n    - data/prepared\n    params:\n    - train\n"
        "    outs:\n    - model.pkl\n    metrics:\n    - metrics.json:\n        cache: false\n"
    ),
    "dvc.lock": (
        "schema: '2.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n    - path: data/raw.csv\n"
        "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 10\n"
        "    params:\n      params.yaml:\n        prepare.split: 0.2\n    outs:\n    - path: data/prepared\n"
        "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef.dir\n      size: 20\n      nfiles: 2\n"
        "  train:\n    cmd: python train.py\n    deps:\n    - path: data/prepared\n      hash: md5\n"
        "      md5: 0123456789abcdef0123456789abcdef.dir\n      size: 20\n      nfiles: 2\n"
        "    params:\n      params.yaml:\n        train:\n          lr: 0.1\n          seed: 7\n"
        "    outs:\n    - path: model.pkl\n      hash: md5\n"
        "      md5: fedcba9876543210fedcba9876543210\n      size: 5\n"
    ),
    "params.yaml": "prepare:\n  split: 0.2\ntrain:\n  lr: 0.1\n  seed: 7\n",
    "metrics.json": '{"auc": 0.9, "loss": 0.1}',
    ".dvc/config": "[core]\n    analytics = false\n",
    "prepare.py": "print('prepare')\n",
    "train.py": "print('train')\n",
    "data/raw.csv": "a,b\n1,2\n",
}


def openlineage_events() -> list[dict[str, Any]]:
    def event(kind: str, time: str) -> dict[str, Any]:
        return {
            "eventType": kind,
            "eventTime": time,
            "producer": "https://example.invalid/producer",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": RUN_UUID, "facets": {}},
            "job": {"namespace": "team", "name": "train", "facets": {}},
            "inputs": [{"namespace": "file", "name": "/data/raw.csv", "facets": {}}],
            "outputs": [{"namespace": "file", "name": "/models/model.pkl", "facets": {}}],
        }

    return [event("START", "2026-01-02T03:04:05.000Z"), event("COMPLETE", "2026-01-02T03:05:05.000Z")]


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
