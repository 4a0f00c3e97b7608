"""CycloneDX 1.6 JSON: an ML-BOM of one run.

Built with cyclonedx-python-lib: metadata (when, the run as the BOM's subject, auditor as the
tool), a library component per installed package (purl, and the hashes its hash-pinned
requirement line gives that version), a `machine-learning-model` component per model, a `data`
component per dataset (content SHA-256 or the digest another tool recorded), and the lineage as
dependencies (an output depends on the inputs of the step that wrote it; the run on its inputs and
packages). The library has no classes for `modelCard` and `data` (11.x leaves them as to-dos), so
those two are added to its JSON by bom-ref; the result is checked against the official 1.6 schema
in the tests.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from auditor import __version__
from auditor.export.facts import Data, Export, card_entry, data, edges, intended_use, model_card, owner, packages
from auditor.record.fairness import Fairness
from auditor.record.models import RunRecord

ALGORITHMS = {"sha256": HashAlgorithm.SHA_256, "sha384": HashAlgorithm.SHA_384, "sha512": HashAlgorithm.SHA_512}
PREFIX = "auditor:"  # property names in auditor's own namespace


def _ref(item: Data) -> str:
    return f"{item.kind}:{item.id}"


def _properties(values: dict[str, str | None]) -> list[Property]:
    return [Property(name=PREFIX + k, value=v) for k, v in values.items() if v not in (None, "")]


def _item(item: Data) -> Component:
    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=item.sha256)] if item.sha256 else []
    sheet = item.datasheet
    props = {
        "role": item.role,
        "path": item.path,
        "location": item.location,
        "identity_hint": f"{item.hint[0]}:{item.hint[1]}" if item.hint else None,
        "datasheet.source": sheet.source,
        "datasheet.licence": sheet.licence,
        "datasheet.collection_period": sheet.collection_period,
        "datasheet.collection_process": sheet.collection_process,
        "datasheet.preprocessing": sheet.preprocessing,
        "datasheet.personal_data": None if sheet.personal_data is None else str(sheet.personal_data).lower(),
        "datasheet.legal_basis": sheet.legal_basis,
        "datasheet.limitations": sheet.limitations,
    }
    kind = ComponentType.MACHINE_LEARNING_MODEL if item.kind == "model" else ComponentType.DATA
    return Component(
        type=kind,
        name=item.id,
        bom_ref=BomRef(_ref(item)),
        hashes=hashes,
        description=sheet.description,
        properties=_properties(props),
    )


def _data_block(item: Data) -> dict[str, Any]:
    """componentData (CycloneDX 1.6) for a dataset."""
    block: dict[str, Any] = {"type": "dataset", "name": item.id}
    if item.location:
        url = item.location if "://" in item.location else "file://" + item.location
        block["contents"] = {"url": quote(url, safe=":/@!$&'()*+,;=-._~")}
    if item.datasheet.description:
        block["description"] = item.datasheet.description
    if item.datasheet.personal_data is not None:
        block["classification"] = "personal data" if item.datasheet.personal_data else "no personal data"
    if item.datasheet.owner:
        block["governance"] = {"owners": [{"organization": {"name": item.datasheet.owner}}]}
    return block


def _fairness_metrics(record: RunRecord) -> list[dict[str, Any]]:
    fairness = record.fairness
    if not isinstance(fairness, Fairness):
        return []
    out = []
    for attribute in fairness.by_attributes:
        for d in attribute.disparities:
            if d.value is None:
                continue
            metric: dict[str, Any] = {
                "type": d.metric,
                "value": repr(d.value),
                "slice": " x ".join(attribute.attributes),
            }
            if d.ci_low is not None and d.ci_high is not None:
                metric["confidenceInterval"] = {"lowerBound": repr(d.ci_low), "upperBound": repr(d.ci_high)}
            out.append(metric)
    return out


def _model_card(record: RunRecord, item: Data, trained_on: list[str]) -> dict[str, Any]:
    entry = card_entry(record, item.id)
    card = model_card(record)
    parameters: dict[str, Any] = {}
    if entry is not None and entry.label:
        parameters["approach"] = {"type": "supervised"}
    if entry is not None and entry.task:
        parameters["task"] = entry.task.value
    if entry is not None and entry.type:
        parameters["modelArchitecture"] = entry.type.value
    if entry is not None and entry.library:
        parameters["architectureFamily"] = entry.library.value
    if trained_on:
        parameters["datasets"] = [{"ref": ref} for ref in trained_on]
    if entry is not None and entry.features:
        parameters["inputs"] = [{"format": f.name} for f in entry.features]
    if entry is not None and entry.label:
        parameters["outputs"] = [{"format": entry.label}]
    metrics: list[dict[str, Any]] = []
    performance = card.performance if card is not None else None
    for estimate in getattr(performance, "estimates", ()):
        if estimate.value is None:
            continue
        metric: dict[str, Any] = {"type": estimate.name, "value": repr(estimate.value)}
        if estimate.ci_low is not None and estimate.ci_high is not None:
            metric["confidenceInterval"] = {"lowerBound": repr(estimate.ci_low), "upperBound": repr(estimate.ci_high)}
        metrics.append(metric)
    metrics += _fairness_metrics(record)
    considerations: dict[str, Any] = {}
    if use := intended_use(record):
        considerations["useCases"] = [use]
    lineage = record.lineage
    if lineage is not None and lineage.state == "captured" and lineage.project.out_of_scope_uses:
        considerations["technicalLimitations"] = [f"Out of scope: {u}" for u in lineage.project.out_of_scope_uses]
    if entry is not None and entry.limitations:
        considerations.setdefault("technicalLimitations", []).append(entry.limitations)
    if entry is not None and entry.ethical_considerations:
        considerations["ethicalConsiderations"] = [{"name": entry.ethical_considerations}]
    if isinstance(record.fairness, Fairness):
        considerations["fairnessAssessments"] = [
            {"groupAtRisk": " x ".join(a.attributes), "harms": "; ".join(a.issues) or "see the fairness metrics"}
            for a in record.fairness.by_attributes
        ]
    out: dict[str, Any] = {}
    if parameters:
        out["modelParameters"] = parameters
    if metrics:
        out["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if considerations:
        out["considerations"] = considerations
    return out


def build(export: Export) -> dict[str, Any]:
    record = export.record
    identity = record.identity
    subject = Component(
        type=ComponentType.APPLICATION,
        name=identity.project,
        version=identity.run_id,
        bom_ref=BomRef("run"),
        description=identity.name,
        properties=_properties(
            {
                "run_id": identity.run_id,
                "status": identity.status,
                "started_at": identity.started_at.isoformat(),
                "ended_at": identity.ended_at.isoformat() if identity.ended_at else None,
                "origin": record.origin.kind,
                "origin.tool": record.origin.tool,
                "owner": owner(record),
            }
        ),
    )
    tool = Component(
        type=ComponentType.APPLICATION, name="auditor", version=__version__, bom_ref=BomRef("tool:auditor")
    )
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, "auditor-run:" + identity.run_id),
        metadata=BomMetaData(tools=ToolRepository(components=[tool]), component=subject, timestamp=export.now),
    )
    seen: dict[str, Component] = {}
    for package in packages(record):
        if package.purl in seen:
            continue
        hashes = [HashType(alg=ALGORITHMS[a], content=h) for a, h in package.hashes if a in ALGORITHMS]
        seen[package.purl] = Component(
            type=ComponentType.LIBRARY,
            name=package.name,
            version=package.version,
            purl=PackageURL.from_string(package.purl),
            bom_ref=BomRef(package.purl),
            hashes=hashes,
        )
    items = data(record)
    by_ref = {_ref(item): _item(item) for item in items}
    for component in (*seen.values(), *by_ref.values()):
        bom.components.add(component)
    refs = {item.id: _ref(item) for item in items}
    made_from: dict[str, list[str]] = {}
    for _, source, target in edges(record):
        if source in refs and target in refs and refs[source] not in made_from.setdefault(refs[target], []):
            made_from[refs[target]].append(refs[source])
    for target_ref, sources in made_from.items():
        bom.register_dependency(by_ref[target_ref], [by_ref[s] for s in sources])
    inputs = [by_ref[_ref(i)] for i in items if i.role == "input"]
    bom.register_dependency(subject, [*seen.values(), *inputs])
    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    blocks = {_ref(i): _data_block(i) for i in items if i.kind == "dataset"}
    cards = {
        _ref(i): _model_card(record, i, [s for s in made_from.get(_ref(i), []) if s.startswith("dataset:")])
        for i in items
        if i.kind == "model"
    }
    for component in document.get("components", []):
        ref = component.get("bom-ref")
        if ref in blocks:
            component["data"] = [blocks[ref]]
        if cards.get(ref):
            component["modelCard"] = cards[ref]
    return document


def render_cyclonedx(export: Export) -> str:
    return json.dumps(build(export), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
