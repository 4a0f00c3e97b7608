"""SPDX 3.0.1 JSON-LD of the captured sample, read back and checked by the SPDX 3 bindings."""

from __future__ import annotations

import json
from collections import Counter

import spdx_python_model

from tests.conftest import CliRunner
from tests.export.conftest import Captured, export


def test_spdx_reads_back_with_the_ai_and_dataset_profiles(cli: CliRunner, sample: Captured) -> None:
    document = json.loads(export(cli, sample, "spdx"))
    assert document["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    model, objects = spdx_python_model.load_data(document)
    kinds = Counter(type(o).__name__ for o in objects.foreach())
    installed = {d["name"] for d in sample.record["environment"]["packages"]["distributions"]}
    assert kinds["ai_AIPackage"] == 1 and kinds["dataset_DatasetPackage"] == 6
    assert kinds["software_Package"] == len(installed) and kinds["SpdxDocument"] == 1
    doc = next(objects.foreach_type(model.SpdxDocument))
    profiles = {p.rsplit("/", 1)[-1] for p in doc.profileConformance}
    assert {"ai", "dataset", "software", "core"} <= profiles

    ai = next(objects.foreach_type(model.ai_AIPackage))
    assert ai.name == "credit-model" and list(ai.ai_typeOfModel) == ["LogisticRegression"]
    assert ai.verifiedUsing[0].hashValue == sample.record["lineage"]["models"][0]["after"]["sha256"]
    metrics = {e.key: e.value for e in ai.ai_metric}
    assert "accuracy" in metrics and "demographic_parity_difference (sex)" in metrics
    assert ai.ai_informationAboutApplication == sample.record["lineage"]["project"]["intended_use"]

    raw = next(d for d in objects.foreach_type(model.dataset_DatasetPackage) if d.name == "german-credit-package")
    assert raw.verifiedUsing[0].hashValue == sample.record["lineage"]["datasets"][0]["before"]["sha256"]
    assert raw.dataset_hasSensitivePersonalInformation.endswith("/yes") and raw.dataset_dataCollectionProcess

    purls = {
        p.software_packageUrl
        for p in objects.foreach_type(model.software_Package)
        if type(p).__name__ == "software_Package"
    }
    assert (
        "pkg:pypi/scikit-learn@"
        + next(
            d["version"]
            for d in sample.record["environment"]["packages"]["distributions"]
            if d["name"] == "scikit-learn"
        )
        in purls
    )
    relations = {
        (r.relationshipType.rsplit("/", 1)[-1], r.from_.name, frozenset(t.name for t in r.to))
        for r in objects.foreach_type(model.Relationship)
    }
    assert ("trainedOn", "credit-model", frozenset({"train-test-split", "params"})) in relations
    assert ("ancestorOf", "german-credit-package", frozenset({"german-credit-raw"})) in relations
    assert any(kind == "dependsOn" and len(to) == len(installed) for kind, _, to in relations)
