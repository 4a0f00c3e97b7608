"""SPDX 3.0 JSON-LD with the Software, AI and Dataset profiles, built with the SPDX 3 bindings.

The run is a `build_Build` (its id, start and end); each installed package a `software_Package`
(purl, version, the SHA-256 its hash-pinned requirement gives); each model an `ai_AIPackage` (type,
metrics with the fairness disparities, hyperparameters, limitations, intended use, standards);
each dataset a `dataset_DatasetPackage` (datasheet fields, content SHA-256, location). Relationships:
the build `hasInput` its inputs and `hasOutput` what it wrote, a model is `trainedOn` the datasets of
the step that wrote it, a step's inputs are each `ancestorOf` its outputs, and the build `dependsOn`
the packages. Every spdxId is the run's IRI plus percent-quoted parts, so no value from a run can
become a context, a keyword or another document's IRI; values are plain JSON strings. The
bindings check types and required properties as the document is built and written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from spdx_python_model.bindings.v3_0_1 import model as spdx

from auditor import __version__
from auditor.export.facts import Data, Export, card_entry, data, edges, intended_use, iri, model_card, owner, packages
from auditor.record.fairness import Fairness
from auditor.record.models import RunRecord

PROFILES = ("core", "software", "ai", "dataset", "build")
NOT_ASSERTED = "NOASSERTION"


def _id(run_id: str, *parts: str) -> str:
    return iri(run_id, "spdx", *parts)


def _time(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)  # SPDX dateTimeStamp: whole seconds, UTC


def _sha256(value: str | None) -> list[spdx.Hash]:
    return [spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=value)] if value else []


def _entries(values: Sequence[tuple[str, str]]) -> list[spdx.DictionaryEntry]:
    return [spdx.DictionaryEntry(key=k, value=v) for k, v in values]


def _metrics(record: RunRecord) -> list[tuple[str, str]]:
    out = []
    card = model_card(record)
    for estimate in getattr(card.performance if card else None, "estimates", ()):
        if estimate.value is not None:
            out.append((estimate.name, repr(estimate.value)))
    if isinstance(record.fairness, Fairness):
        for attribute in record.fairness.by_attributes:
            for d in attribute.disparities:
                if d.value is not None:
                    out.append((f"{d.metric} ({' x '.join(attribute.attributes)})", repr(d.value)))
    return out


def _presence(value: bool | None) -> str | None:
    return None if value is None else (spdx.PresenceType.yes if value else spdx.PresenceType.no)


def _dataset(record: RunRecord, item: Data, common: dict[str, Any]) -> spdx.dataset_DatasetPackage:
    sheet = item.datasheet
    package = spdx.dataset_DatasetPackage(
        _id=_id(record.identity.run_id, "dataset", item.id),
        name=item.id,
        software_primaryPurpose=spdx.software_SoftwarePurpose.data,
        dataset_datasetType=[
            spdx.dataset_DatasetType.structured if item.columns else spdx.dataset_DatasetType.noAssertion
        ],
        software_downloadLocation=item.location or NOT_ASSERTED,
        verifiedUsing=_sha256(item.sha256),
        **common,
    )
    if sheet.description:
        package.description = sheet.description
    if sheet.source:
        package.software_sourceInfo = sheet.source
    if sheet.collection_process:
        package.dataset_dataCollectionProcess = sheet.collection_process
    if sheet.preprocessing:
        package.dataset_dataPreprocessing = [sheet.preprocessing]
    if sheet.limitations:
        package.dataset_knownBias = [sheet.limitations]
    if (presence := _presence(sheet.personal_data)) is not None:
        package.dataset_hasSensitivePersonalInformation = presence
    if item.hint:
        package.comment = f"identity hint ({item.hint[0]}): {item.hint[1]}"
    return package


def _model(record: RunRecord, item: Data, common: dict[str, Any]) -> spdx.ai_AIPackage:
    entry = card_entry(record, item.id)
    card = model_card(record)
    package = spdx.ai_AIPackage(
        _id=_id(record.identity.run_id, "model", item.id),
        name=item.id,
        software_primaryPurpose=spdx.software_SoftwarePurpose.model,
        software_downloadLocation=item.location or NOT_ASSERTED,
        software_packageVersion=record.identity.run_id,
        verifiedUsing=_sha256(item.sha256),
        ai_metric=_entries(_metrics(record)),
        ai_hyperparameter=_entries([(h.name, h.value) for h in card.hyperparameters] if card else []),
        **common,
    )
    if entry is not None:
        if entry.type:
            package.ai_typeOfModel = [entry.type.value]
        if entry.description:
            package.description = entry.description
        if entry.limitations:
            package.ai_limitation = entry.limitations
    if use := intended_use(record):
        package.ai_informationAboutApplication = use
    governance = record.governance
    if governance is not None and governance.state == "declared" and governance.standards:
        package.ai_standardCompliance = list(governance.standards)
    return package


def build(export: Export) -> spdx.SHACLObjectSet:
    record = export.record
    identity = record.identity
    run_id = identity.run_id
    objects = spdx.SHACLObjectSet()
    agent_id, tool_id = _id(run_id, "agent", "auditor"), _id(run_id, "tool", "auditor")
    creation = spdx.CreationInfo(
        _id="_:creation", specVersion="3.0.1", created=_time(export.now), createdBy=[agent_id], createdUsing=[tool_id]
    )
    objects.add(spdx.SoftwareAgent(_id=agent_id, name="auditor", creationInfo=creation))
    objects.add(spdx.Tool(_id=tool_id, name=f"auditor {__version__}", creationInfo=creation))
    elements: list[spdx.Element] = []
    common: dict[str, Any] = {"creationInfo": creation}
    if who := owner(record):
        supplier_id = _id(run_id, "agent", "owner", who)
        elements.append(spdx.Agent(_id=supplier_id, name=who, creationInfo=creation))
        common["originatedBy"] = [supplier_id]
        common["suppliedBy"] = supplier_id
    if identity.user:
        author_id = _id(run_id, "agent", "author", identity.user)
        elements.append(spdx.Person(_id=author_id, name=identity.user, creationInfo=creation))
    run = spdx.build_Build(
        _id=_id(run_id, "run"),
        name=identity.name or identity.project,
        build_buildType=iri(run_id, "build-type", record.origin.tool or "auditor-run"),
        build_buildId=run_id,
        build_buildStartTime=_time(identity.started_at),
        creationInfo=creation,
    )
    if identity.ended_at is not None:
        run.build_buildEndTime = _time(identity.ended_at)
    elements.append(run)
    pkgs: dict[str, spdx.software_Package] = {}
    for package in packages(record):
        pkgs.setdefault(
            package.purl,
            spdx.software_Package(
                _id=_id(run_id, "package", package.purl),
                name=package.name,
                software_packageVersion=package.version,
                software_packageUrl=package.purl,
                software_primaryPurpose=spdx.software_SoftwarePurpose.library,
                verifiedUsing=[
                    spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=h)
                    for a, h in package.hashes
                    if a == "sha256"
                ],
                creationInfo=creation,
            ),
        )
    elements += pkgs.values()
    items = data(record)
    made: dict[str, spdx.Element] = {
        item.id: (_model(record, item, common) if item.kind == "model" else _dataset(record, item, common))
        for item in items
    }
    elements += made.values()

    def relate(source: spdx.Element, kind: str, targets: list[spdx.Element], *name: str) -> None:
        if targets:
            elements.append(
                spdx.Relationship(
                    _id=_id(run_id, "relationship", *name),
                    from_=source,
                    relationshipType=kind,
                    to=targets,
                    creationInfo=creation,
                )
            )

    relate(run, spdx.RelationshipType.hasInput, [made[i.id] for i in items if i.role == "input"], "run-inputs")
    relate(run, spdx.RelationshipType.hasOutput, [made[i.id] for i in items if i.role != "input"], "run-outputs")
    relate(run, spdx.RelationshipType.dependsOn, list(pkgs.values()), "run-packages")
    sources: dict[str, list[str]] = {}
    for _, source, target in edges(record):
        if source in made and target in made and source not in sources.setdefault(target, []):
            sources[target].append(source)
    kinds = {i.id: i.kind for i in items}
    for target, from_ids in sources.items():
        if kinds[target] == "model":
            trained = [made[s] for s in from_ids if kinds[s] == "dataset"]
            relate(made[target], spdx.RelationshipType.trainedOn, trained, "trained-on", target)
        for source in from_ids:
            relate(made[source], spdx.RelationshipType.ancestorOf, [made[target]], "ancestor-of", source, target)
    document = spdx.SpdxDocument(
        _id=_id(run_id, "document"),
        name=f"{identity.project} run {run_id}",
        profileConformance=[getattr(spdx.ProfileIdentifierType, p) for p in PROFILES],
        rootElement=[run],
        element=elements,
        creationInfo=creation,
    )
    objects.add(document)
    for element in elements:
        objects.add(element)
    return objects


def render_spdx(export: Export) -> str:
    data_ = spdx.JSONLDSerializer().serialize_data(build(export))
    return json.dumps(data_, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
