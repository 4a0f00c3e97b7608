"""W3C PROV-JSON of the captured sample, read back with the prov package."""

from __future__ import annotations

from prov.constants import PROV, PROV_ROLE, PROV_TYPE
from prov.model import (
    ProvActivity,
    ProvAgent,
    ProvAssociation,
    ProvDelegation,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvRecord,
    ProvUsage,
)

from tests.conftest import CliRunner
from tests.export.conftest import Captured, export


def _local(record: ProvRecord | object) -> str:
    return str(getattr(record, "localpart", record))


def _pairs(doc: ProvDocument, kind: type, first: str, second: str) -> set[tuple[str, str]]:
    return {
        (_local(dict(r.formal_attributes)[PROV[first]]), _local(dict(r.formal_attributes)[PROV[second]]))
        for r in doc.get_records(kind)
    }


def test_prov_reads_back_with_runs_data_and_people(cli: CliRunner, sample: Captured) -> None:
    doc = ProvDocument.deserialize(content=export(cli, sample, "prov"), format="json")
    activities = {_local(a.identifier) for a in doc.get_records(ProvActivity)}
    assert "run" in activities and "signoff/1" in activities
    entities = {_local(e.identifier) for e in doc.get_records(ProvEntity)}
    assert {"dataset/german-credit-package", "dataset/predictions", "model/credit-model", "record"} <= entities
    agents = {_local(a.identifier): a for a in doc.get_records(ProvAgent)}
    author = f"agent/author/{sample.record['identity']['user']}"
    assert author in agents and PROV["Person"] in agents[author].get_attribute(PROV_TYPE)
    assert "agent/signer/Ada" in agents and any(k.startswith("agent/owner/") for k in agents)

    assert ("run", "dataset/german-credit-package") in _pairs(doc, ProvUsage, "activity", "entity")
    assert ("model/credit-model", "run") in _pairs(doc, ProvGeneration, "entity", "activity")
    assert ("run", author) in _pairs(doc, ProvAssociation, "activity", "agent")
    assert ("signoff/1", "agent/signer/Ada") in _pairs(doc, ProvAssociation, "activity", "agent")
    derived = _pairs(doc, ProvDerivation, "generatedEntity", "usedEntity")
    assert ("model/credit-model", "dataset/train-test-split") in derived
    assert ("dataset/german-credit-raw", "dataset/german-credit-package") in derived
    delegation = _pairs(doc, ProvDelegation, "delegate", "responsible")
    assert {d for d, _ in delegation} == {author}
    signer = next(
        r
        for r in doc.get_records(ProvAssociation)
        if _local(dict(r.formal_attributes)[PROV["activity"]]) == "signoff/1"
    )
    assert "model risk officer" in {str(v) for v in signer.get_attribute(PROV_ROLE)}
    model = next(e for e in doc.get_records(ProvEntity) if _local(e.identifier) == "model/credit-model")
    sha = sample.record["lineage"]["models"][0]["after"]["sha256"]
    assert {str(v) for a, v in model.attributes if a.localpart == "sha256"} == {sha}
