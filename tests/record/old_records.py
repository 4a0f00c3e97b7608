"""Records as older auditors wrote them: a current record, reshaped to what each version held.

From the history of auditor/record/models.py: 1.0 had no lineage, fairness, params, metrics,
declared requirements or log notes; the first 1.1 records added the first four, later 1.1
ones the other two; 1.2 wrote `"container": null` (no 1.2 auditor ran containers); 1.3 added
tags, the reproduction verdict, `origin.not_captured` and the annotations and columns of
lineage entries; 1.4 the governance section, the model card and data profiles. (Each shape was
checked against the models of its commit when this was written.)
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from auditor.record.io import dump_record
from auditor.record.lineage import (
    ContentHash,
    Dataset,
    Datasheet,
    FileHash,
    Lineage,
    ModelArtifact,
    ProjectInfo,
    Step,
)
from auditor.record.models import (
    DeclaredRequirements,
    Metric,
    Missing,
    Pin,
    RequirementsFile,
    RunRecord,
)
from tests.factories import make_record

HASHED_AT = datetime(2026, 1, 2, 3, 4, 4, tzinfo=UTC)  # inputs hashed just before the start
Data = dict[str, Any]


def _hash() -> ContentHash:
    return ContentHash(
        kind="file", sha256="b" * 64, size=10, files=(FileHash(path="", sha256="b" * 64, size=10),), hashed_at=HASHED_AT
    )


def full_record() -> RunRecord:
    """A local run with everything a 1.1 auditor could capture: lineage, declared requirements, logging."""
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256="c" * 64,
        project=ProjectInfo(name="demo", owner="data team"),
        datasets=(
            Dataset(id="raw", role="input", path="data/raw.csv", datasheet=Datasheet(description="d"), before=_hash()),
            Dataset(id="scores", role="output", path="out/scores.csv", datasheet=Datasheet(), after=_hash()),
        ),
        steps=(Step(name="train", command="python train.py", inputs=("raw",), outputs=("scores",)),),
        models=(ModelArtifact(id="model", path="out/model.bin", after=_hash()),),
        observed=Missing(reason="the command is not Python: no audit hook"),
        graph={"directed": True, "multigraph": False, "graph": {}, "nodes": [], "links": []},
    )
    declared = DeclaredRequirements(
        files=(
            RequirementsFile(
                path="requirements.txt",
                sha256="d" * 64,
                pins=(Pin(name="numpy", specifier="==2.1.0", version="2.1.0", hashes=(), line=1),),
                problems=(),
            ),
        )
    )
    record = make_record()
    return record.model_copy(
        update={
            "environment": record.environment.model_copy(update={"declared": declared}),
            "lineage": lineage,
            "fairness": Missing(reason="no predictions declared (predictions in auditor.yaml)"),
            "params": {"seed": 42},
            "metrics": (Metric(name="auc", value=0.8, logged_at=HASHED_AT),),
        }
    )


def current_data() -> Data:
    return json.loads(dump_record(full_record()))  # type: ignore[no-any-return]


def as_1_6(data: Data) -> Data:
    """1.7 added `same_files_as` on a dataset's after hash: 1.6 wrote the after list in full."""
    old = copy.deepcopy(data)
    old["schema_version"] = "1.6"
    lineage = old.get("lineage")
    if isinstance(lineage, dict) and lineage.get("state") == "captured":
        for dataset in lineage["datasets"]:
            after, before = dataset.get("after"), dataset.get("before")
            if isinstance(after, dict) and after.pop("same_files_as", None) is not None:
                after["files"] = copy.deepcopy(before["files"])
    return old


def as_1_5(data: Data) -> Data:
    """1.6 added `code`."""
    old = as_1_6(data)
    old["schema_version"] = "1.5"
    old.pop("code", None)
    return old


def as_1_4(data: Data) -> Data:
    """1.5 added the time basis, `links.reingests`, dataset assertions and `lineage.unmatched`."""
    old = as_1_5(data)
    old["schema_version"] = "1.4"
    for key in ("time_basis", "time_note"):
        old["identity"].pop(key, None)
    if isinstance(old.get("links"), dict):
        old["links"].pop("reingests", None)
    lineage = old.get("lineage")
    if isinstance(lineage, dict) and lineage.get("state") == "captured":
        lineage.pop("unmatched", None)
        for dataset in lineage["datasets"]:
            dataset.pop("assertions", None)
    return old


def as_1_3(data: Data) -> Data:
    """1.4 added `governance`, `model_card` and a profile on each lineage dataset."""
    old = as_1_4(data)
    old["schema_version"] = "1.3"
    del old["governance"], old["model_card"]
    lineage = old.get("lineage")
    if isinstance(lineage, dict) and lineage.get("state") == "captured":
        for dataset in lineage["datasets"]:
            del dataset["profile"]
    return old


def as_1_2(data: Data) -> Data:
    old = as_1_3(data)
    old["schema_version"] = "1.2"
    del old["tags"], old["reproduction"], old["origin"]["not_captured"]
    old["container"] = None
    lineage = old.get("lineage")
    if isinstance(lineage, dict) and lineage.get("state") == "captured":
        for dataset in lineage["datasets"]:
            del dataset["columns"], dataset["annotations"]
        for entry in (*lineage["steps"], *lineage["models"]):
            del entry["annotations"]
    return old


def as_1_1(data: Data, *, early: bool = False) -> Data:
    """`early`: written before declared requirements and log notes were recorded (both during 1.1)."""
    old = as_1_2(data)
    old["schema_version"] = "1.1"
    del old["container"]
    if early:
        del old["environment"]["declared"], old["outputs"]["notes"]
    return old


def as_1_0(data: Data) -> Data:
    old = as_1_1(data, early=True)
    old["schema_version"] = "1.0"
    for key in ("lineage", "fairness", "params", "metrics"):
        del old[key]
    return old


def older(version: str) -> Data:
    """`1.1-early` for a 1.1 record from before declared requirements."""
    data = current_data()
    builders = {
        "1.0": as_1_0,
        "1.1-early": lambda d: as_1_1(d, early=True),
        "1.1": as_1_1,
        "1.2": as_1_2,
        "1.3": as_1_3,
        "1.4": as_1_4,
        "1.5": as_1_5,
        "1.6": as_1_6,
    }
    return builders[version](data)
