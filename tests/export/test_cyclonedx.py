"""CycloneDX 1.6 of the captured sample, validated against the official schema cyclonedx-python-lib ships."""

from __future__ import annotations

import json
import re

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.conftest import SAMPLE, CliRunner
from tests.export.conftest import Captured, export


def _valid(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error


def test_the_bom_is_valid_cyclonedx_1_6_and_says_what_the_run_used(cli: CliRunner, sample: Captured) -> None:
    text = export(cli, sample, "cyclonedx")
    _valid(text)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6" and bom["metadata"]["component"]["version"] == sample.run_id
    assert bom["metadata"]["tools"]["components"][0]["name"] == "auditor"
    components = {c["bom-ref"]: c for c in bom["components"]}

    installed = sample.record["environment"]["packages"]["distributions"]
    for dist in installed:
        purl = f"pkg:pypi/{re.sub(r'[-_.]+', '-', dist['name']).lower()}@{dist['version']}"
        assert components[purl]["purl"] == purl and components[purl]["type"] == "library"
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (SAMPLE / "requirements.txt").read_text(), re.M))
    hashed = [c for c in components.values() if c["type"] == "library" and c.get("hashes")]
    assert len(hashed) >= len(pinned) - 2, "the hash-pinned requirements give most packages their hashes"
    assert all(h["alg"] == "SHA-256" and len(h["content"]) == 64 for c in hashed for h in c["hashes"])

    model = components["model:credit-model"]
    recorded = sample.record["lineage"]["models"][0]["after"]["sha256"]
    assert model["type"] == "machine-learning-model" and model["hashes"] == [{"alg": "SHA-256", "content": recorded}]
    card = model["modelCard"]
    assert card["modelParameters"]["modelArchitecture"] == "LogisticRegression"
    assert {"ref": "dataset:train-test-split"} in card["modelParameters"]["datasets"]
    metrics = {(m["type"], m.get("slice")): m for m in card["quantitativeAnalysis"]["performanceMetrics"]}
    accuracy = next(e for e in sample.record["model_card"]["performance"]["estimates"] if e["name"] == "accuracy")
    assert float(metrics["accuracy", None]["value"]) == accuracy["value"]
    assert ("demographic_parity_difference", "sex") in metrics  # fairness, per attribute
    assert card["considerations"]["ethicalConsiderations"] and card["considerations"]["fairnessAssessments"]

    raw = components["dataset:german-credit-package"]
    data = sample.record["lineage"]["datasets"][0]
    assert raw["type"] == "data" and raw["hashes"][0]["content"] == data["before"]["sha256"]
    assert raw["data"][0]["type"] == "dataset" and raw["data"][0]["contents"]["url"].startswith("file:///")
    assert any(p["name"] == "auditor:datasheet.source" for p in raw["properties"])
    needs = {d["ref"]: set(d.get("dependsOn", ())) for d in bom["dependencies"]}
    assert needs["model:credit-model"] == {"dataset:train-test-split", "dataset:params"}
    assert needs["dataset:german-credit-raw"] == {"dataset:german-credit-package"}


def test_the_schema_check_catches_a_broken_bom(cli: CliRunner, sample: Captured) -> None:
    bom = json.loads(export(cli, sample, "cyclonedx"))
    model = next(c for c in bom["components"] if c["type"] == "machine-learning-model")
    model["modelCard"]["modelParameters"]["approach"] = {"type": "guessing"}
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is not None
