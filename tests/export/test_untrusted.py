"""Values from a run are untrusted: in every format they stay values. No IRI, QName, context or
bom-ref can be steered out of the run's own namespace, and every document still parses and validates."""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, datetime

import spdx_python_model
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from prov.model import ProvDocument

from auditor.export import EXPORT_FORMATS
from auditor.export.facts import IRI_BASE, Approval, Export
from auditor.record.lineage import Dataset, Datasheet, ModelArtifact, ProjectInfo, Step
from auditor.record.models import Distribution, Packages, RunRecord
from tests.factories import make_record
from tests.render.dossier.test_diagram import make_lineage

HOSTILE = 'x"/../#?@context {"@id": "https://evil.example/"} <script>'
NOW = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)


def hostile_record(**identity: object) -> RunRecord:
    datasets = (
        Dataset(id=HOSTILE, role="input", path=f"data/{HOSTILE}.csv", datasheet=Datasheet(owner=HOSTILE)),
        Dataset(id="out put#1", role="output", uri="s3://bucket/a b/c?d#e", datasheet=Datasheet(description=HOSTILE)),
    )
    steps = (Step(name=HOSTILE, command=HOSTILE, inputs=(HOSTILE,), outputs=("out put#1", "m")),)
    lineage = make_lineage(datasets, steps, (ModelArtifact(id="m", path=f"models/{HOSTILE}"),))
    lineage = lineage.model_copy(update={"project": ProjectInfo(name="demo", owner=HOSTILE, intended_use=HOSTILE)})
    record = make_record(user=HOSTILE, name=HOSTILE, **identity)
    evil = Distribution(
        name=HOSTILE, version="1.0 beta#x", installer="pip", requested=True, install_kind="index", location="/venv"
    )
    environment = record.environment.model_copy(update={"packages": Packages(distributions=(evil,))})
    return record.model_copy(update={"lineage": lineage, "environment": environment})


def _render(name: str, record: RunRecord) -> str:
    approvals = (Approval(HOSTILE, HOSTILE, "approve", NOW, HOSTILE),)
    return EXPORT_FORMATS[name].render(Export(record=record, now=NOW, approvals=approvals))


def _own(value: str, run_id: str) -> None:
    assert value.startswith(f"{IRI_BASE}{run_id}/"), value
    rest = value.removeprefix(f"{IRI_BASE}{run_id}/")
    assert not set(rest) & set('#?" <>{}') and "/../" not in f"/{rest}/", value


def test_spdx_ids_stay_in_the_runs_namespace() -> None:
    record = hostile_record()
    document = json.loads(_render("spdx", record))
    assert document["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    model, objects = spdx_python_model.load_data(document)
    ids = [o._id for o in objects.foreach() if o._id and not o._id.startswith("_:")]
    assert len(ids) > 5
    for value in ids:
        _own(value, record.identity.run_id)
    names = {o.name for o in objects.foreach_type(model.dataset_DatasetPackage)}
    assert HOSTILE in names  # kept as a value, exactly


def test_prov_identifiers_stay_in_the_runs_namespace() -> None:
    record = hostile_record()
    doc = ProvDocument.deserialize(content=_render("prov", record), format="json")
    assert {ns.prefix for ns in doc.namespaces} == {"auditor", "run"}
    identifiers = [r.identifier.uri for r in doc.get_records() if r.identifier is not None]
    assert len(identifiers) > 5
    for uri in identifiers:
        _own(uri, record.identity.run_id)


def test_cyclonedx_and_openlineage_stay_valid() -> None:
    record = hostile_record()
    text = _render("cyclonedx", record)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert {c["name"] for c in bom["components"]} >= {HOSTILE, "m"}
    events = [json.loads(line) for line in _render("openlineage", record).splitlines()]
    assert [d["name"] for d in events[0]["inputs"]] == [posixpath.normpath(f"/work/demo/data/{HOSTILE}.csv")]
    assert ("s3://bucket", "a b/c") in {(d["namespace"], d["name"]) for d in events[0]["outputs"]}


def test_openlineage_ends_as_the_run_ended() -> None:
    failed = hostile_record(status="failed", exit_code=1, error="boom")
    events = [json.loads(line) for line in _render("openlineage", failed).splitlines()]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == "boom"
    unfinished = hostile_record(status="unfinished", exit_code=None, ended_at=None, duration_s=None)
    events = [json.loads(line) for line in _render("openlineage", unfinished).splitlines()]
    assert [e["eventType"] for e in events] == ["START"]
