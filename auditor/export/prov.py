"""W3C PROV-JSON: who did what to which data, as the PROV data model says it.

The run is an activity (its start and end times, status, command); datasets and models are
entities (prov:location, the content SHA-256); the run `used` its inputs and every other dataset
and model `wasGeneratedBy` it, and `wasDerivedFrom` the inputs of the step that wrote it (the step
named as an attribute). People are agents: the run's author (the user who ran it, or the user its
source tool recorded) `wasAssociatedWith` the run and `actedOnBehalfOf` the project's owner, to
whom the outputs are attributed; each sign-off is an activity that `used` the run record, and
whoever signed it `wasAssociatedWith` it in their role, with the decision. auditor itself is a
software agent. Built and serialised by the `prov` package; every identifier is the run's IRI
plus a percent-quoted local part, so no value from the run can make a new namespace or relation.
"""

from __future__ import annotations

from prov.constants import PROV
from prov.model import PROV_LOCATION, PROV_ROLE, PROV_TYPE, ProvDocument, QualifiedName

from auditor import __version__
from auditor.export.facts import Export, data, edges, iri, owner, quote_part

AUDITOR_NS = "https://auditor.invalid/ns/prov#"


def _local(*parts: str) -> str:
    return "/".join(quote_part(p) for p in parts)


def build(export: Export) -> ProvDocument:
    record = export.record
    identity = record.identity
    doc = ProvDocument()
    a = doc.add_namespace("auditor", AUDITOR_NS)
    r = doc.add_namespace("run", iri(identity.run_id) + "/")

    def q(*parts: str) -> QualifiedName:
        return r[_local(*parts)]

    tool = doc.agent(q("agent", "software", "auditor"), {PROV_TYPE: PROV["SoftwareAgent"], a["version"]: __version__})
    run = doc.activity(
        q("run"),
        identity.started_at,
        identity.ended_at,
        {
            PROV_TYPE: a["Run"],
            a["run_id"]: identity.run_id,
            a["project"]: identity.project,
            a["status"]: identity.status,
            a["origin"]: record.origin.kind if record.origin.tool is None else f"ingested from {record.origin.tool}",
            a["command"]: " ".join(identity.argv),
        },
    )
    if identity.name:
        run.add_attributes({a["name"]: identity.name})
    record_entity = doc.entity(q("record"), {PROV_TYPE: a["RunRecord"], a["run_id"]: identity.run_id})
    doc.wasAttributedTo(record_entity, tool)
    author = None
    if identity.user:
        author = doc.agent(q("agent", "author", identity.user), {PROV_TYPE: PROV["Person"], a["user"]: identity.user})
        doc.wasAssociatedWith(run, author, other_attributes={PROV_ROLE: a["author"]})
    project_owner = None
    if who := owner(record):
        project_owner = doc.agent(q("agent", "owner", who), {PROV_TYPE: a["Owner"], a["name"]: who})
        if author is not None:
            doc.actedOnBehalfOf(author, project_owner, run)
        else:
            doc.wasAssociatedWith(run, project_owner, other_attributes={PROV_ROLE: a["owner"]})
    entities = {}
    for item in data(record):
        attributes: dict[QualifiedName, str | QualifiedName] = {
            PROV_TYPE: a["Model" if item.kind == "model" else "Dataset"],
            a["id"]: item.id,
            a["role"]: item.role,
        }
        if item.location:
            attributes[PROV_LOCATION] = item.location
        if item.sha256:
            attributes[a["sha256"]] = item.sha256
        if item.hint:
            attributes[a["identity_hint"]] = f"{item.hint[0]}:{item.hint[1]}"
        if item.datasheet.source:
            attributes[a["source"]] = item.datasheet.source
        entity = doc.entity(q(item.kind, item.id), attributes)
        entities[item.id] = entity
        if item.role == "input":
            doc.used(run, entity)
        else:
            doc.wasGeneratedBy(entity, run, identity.ended_at)
            if project_owner is not None:
                doc.wasAttributedTo(entity, project_owner)
    for step, source, target in edges(record):
        if source in entities and target in entities:
            doc.wasDerivedFrom(entities[target], entities[source], run, other_attributes={a["step"]: step})
    for n, approval in enumerate(export.approvals, 1):
        person = doc.agent(q("agent", "signer", approval.name), {PROV_TYPE: PROV["Person"], a["name"]: approval.name})
        signoff = doc.activity(
            q("signoff", str(n)),
            approval.decided_at,
            approval.decided_at,
            {PROV_TYPE: a["SignOff"], a["decision"]: approval.decision, a["comment"]: approval.comment},
        )
        doc.used(signoff, record_entity)
        doc.wasAssociatedWith(signoff, person, other_attributes={PROV_ROLE: approval.role})
    return doc


def render_prov(export: Export) -> str:
    return str(build(export).serialize(format="json", indent=2, sort_keys=True)) + "\n"
