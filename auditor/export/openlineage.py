"""OpenLineage RunEvents: the run as one job, START and its end (COMPLETE, FAIL or ABORT).

Built with openlineage-python's own event and facet classes and serialised by its `Serde`, one
event per line (the shape its FileTransport writes and `auditor ingest openlineage` reads). The
whole run is one job (namespace: the project, name: the run's name or the project): OpenLineage
has no steps inside a run, so a step's intermediates are outputs of the run, never inputs too.
Datasets are named by the OpenLineage naming spec (`file` + absolute path for local files, a URI's
scheme and authority + its path otherwise); a dataset that came from OpenLineage keeps the
namespace and name it came with. Facets: schema, dataSource, documentation, ownership and
version (the content SHA-256, or the digest another tool recorded); the job's sourceCodeLocation,
jobType, documentation and ownership; the run's nominalTime, processing_engine, tags and errorMessage.
An unfinished run has only its START.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_dataset,
    ownership_job,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    tags_run,
)
from openlineage.client.generated.base import DatasetFacet, JobFacet, RunFacet
from openlineage.client.serde import Serde

from auditor import __version__
from auditor.export.facts import Data, Export, data, intended_use, owner, source_location
from auditor.record.ids import ALPHABET, ULID_PATTERN
from auditor.record.models import RunRecord

PRODUCER = f"https://auditor.invalid/producer/auditor/{__version__}"
OPENLINEAGE_VERSION = "openlineage-dataset-version"  # the algorithm ingest names a datasetVersion by
END_STATE = {"succeeded": RunState.COMPLETE, "failed": RunState.FAIL, "interrupted": RunState.ABORT}


def run_uuid(run_id: str) -> str:
    """A ULID is 128 bits, as a UUID is: the same id, written the way OpenLineage wants it."""
    if ULID_PATTERN.match(run_id):
        value = 0
        for char in run_id:
            value = value * 32 + ALPHABET.index(char)
        return str(uuid.UUID(int=value))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "auditor-run:" + run_id))


def dataset_name(item: Data) -> tuple[str, str]:
    """(namespace, name) by OpenLineage's naming spec."""
    ns, name = item.annotations.get("openlineage.namespace"), item.annotations.get("openlineage.name")
    if ns and name:
        return ns, name
    location = item.location or item.path or item.id
    if "://" in location:
        parts = urlsplit(location)
        if parts.scheme == "file":
            return "file", parts.path
        return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/"
    if location.startswith("/"):
        return "file", location
    return "auditor", location  # neither path nor URI: the dataset's id under auditor's own namespace


def _version(item: Data) -> str | None:
    """The content SHA-256, else the digest a tool recorded, named by its algorithm; a datasetVersion
    that came from OpenLineage goes back as it came."""
    if item.sha256:
        return f"sha256:{item.sha256}"
    if item.hint is None:
        return None
    algorithm, value = item.hint
    return value if algorithm == OPENLINEAGE_VERSION else f"{algorithm}:{value}"


def _facets(item: Data) -> dict[str, DatasetFacet]:
    facets: dict[str, DatasetFacet] = {}
    namespace, _ = dataset_name(item)
    facets["dataSource"] = datasource_dataset.DatasourceDatasetFacet(
        name=namespace, uri=item.location if item.location and "://" in item.location else None, producer=PRODUCER
    )
    if item.columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t, description=d) for n, t, d in item.columns],
            producer=PRODUCER,
        )
    version = _version(item)
    if version:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version, producer=PRODUCER
        )
    sheet = item.datasheet
    if sheet.description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=sheet.description, producer=PRODUCER
        )
    if sheet.owner:
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=sheet.owner)], producer=PRODUCER
        )
    return facets


def _job(record: RunRecord) -> Job:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="AUDITOR", jobType="JOB", producer=PRODUCER
        )
    }
    repo, commit, branch, path = source_location(record)
    if repo or commit or path:
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url=repo or path or "",
            repoUrl=repo,
            path=path,
            version=commit,
            branch=branch,
            producer=PRODUCER,
        )
    if use := intended_use(record):
        facets["documentation"] = documentation_job.DocumentationJobFacet(description=use, producer=PRODUCER)
    if who := owner(record):
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=who, type="owner")], producer=PRODUCER
        )
    identity = record.identity
    return Job(namespace=identity.project, name=identity.name or identity.project, facets=facets)


def _run_facets(record: RunRecord, end: bool) -> dict[str, RunFacet]:
    identity = record.identity
    facets: dict[str, RunFacet] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=identity.started_at.isoformat(),
            nominalEndTime=identity.ended_at.isoformat() if identity.ended_at else None,
            producer=PRODUCER,
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=record.origin.tool_version or identity.auditor_version,
            name=record.origin.tool or "auditor",
            openlineageAdapterVersion=__version__,
            producer=PRODUCER,
        ),
        "tags": tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields(key="auditor.run_id", value=identity.run_id, source="auditor"),
                tags_run.TagsRunFacetFields(key="auditor.origin", value=record.origin.kind, source="auditor"),
                *(tags_run.TagsRunFacetFields(key=k, value=v, source="run") for k, v in sorted(record.tags.items())),
            ],
            producer=PRODUCER,
        ),
    }
    if end and identity.status != "succeeded" and identity.error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=identity.error, programmingLanguage="python", producer=PRODUCER
        )
    return facets


def events(export: Export) -> list[RunEvent]:
    record = export.record
    items = data(record)
    inputs = [
        InputDataset(namespace=ns, name=name, facets=_facets(item))
        for item in items
        if item.role == "input"
        for ns, name in [dataset_name(item)]
    ]
    outputs = [
        OutputDataset(namespace=ns, name=name, facets=_facets(item))
        for item in items
        if item.role != "input"
        for ns, name in [dataset_name(item)]
    ]
    identity = record.identity
    run_id = run_uuid(identity.run_id)
    job = _job(record)
    out = [
        RunEvent(
            eventType=RunState.START,
            eventTime=identity.started_at.isoformat(),
            run=Run(runId=run_id, facets=_run_facets(record, end=False)),
            job=job,
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        )
    ]
    if identity.ended_at is not None and identity.status in END_STATE:
        out.append(
            RunEvent(
                eventType=END_STATE[identity.status],
                eventTime=identity.ended_at.isoformat(),
                run=Run(runId=run_id, facets=_run_facets(record, end=True)),
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=PRODUCER,
            )
        )
    return out


def render_openlineage(export: Export) -> str:
    """JSON lines, one RunEvent each, in event order."""
    return "".join(Serde.to_json(event) + "\n" for event in events(export))
