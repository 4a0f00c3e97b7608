"""One OpenLineage RunEvent, validated: the envelope strictly, the facets as they are read.

The envelope is what grouping and ordering rest on, so it must be sound: an event type from
the spec's set, an ISO 8601 event time, a run id that is a UUID, a job namespace and name.
A missing eventType is the spec's own default (it is optional: metadata only, like OTHER).
Static JobEvents and DatasetEvents describe no run; they are counted and left aside.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor.errors import IngestError
from auditor.ingest.openlineage.facet_readers import DATASET_FACETS, JOB_FACETS, RUN_FACETS
from auditor.ingest.openlineage.facets import At, Facts, as_object, read_facets, text
from auditor.ingest.openlineage.files import RawEvent

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
TERMINAL = ("COMPLETE", "FAIL", "ABORT")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
MAX_DATASETS = 10_000  # per event
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DatasetRef:
    namespace: str
    name: str
    facets: dict[str, Facts]


@dataclass(frozen=True)
class Event:
    where: str
    order: int
    time: datetime
    naive_time: bool  # the producer gave no UTC offset; read as UTC
    type: str
    run_id: str  # the canonical UUID form, for grouping
    job_namespace: str
    job_name: str
    producer: str | None
    schema_url: str | None
    run_facets: dict[str, Facts]
    job_facets: dict[str, Facts]
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]


def is_static(data: dict[str, object]) -> bool:
    """A JobEvent or DatasetEvent (spec 2): no run, only metadata about a job or a dataset.

    Told apart by the schemaURL every event carries; without one, only an event naming a
    dataset and neither run nor job is static, so a RunEvent that lost its run is an error."""
    schema = data.get("schemaURL")
    if isinstance(schema, str) and schema.endswith(("/JobEvent", "/DatasetEvent")):
        return True
    return "dataset" in data and "run" not in data and "job" not in data


def parse_event(raw: RawEvent) -> Event | None:
    at = At(raw.where, "")
    data = as_object(raw.data, At(raw.where, "event"))
    if is_static(data):
        return None
    kind = data.get("eventType", "OTHER")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise IngestError(raw.where, "eventType", f"{shown[:40]!r} is not one of {', '.join(EVENT_TYPES)}")
    time, naive = _time(data, raw.where)
    run = _required_object(data, "run", raw.where)
    run_id = _run_id(run, raw.where)
    job = _required_object(data, "job", raw.where)
    namespace, name = _required_text(job, "job", "namespace", raw.where), _required_text(job, "job", "name", raw.where)
    return Event(
        where=raw.where,
        order=raw.order,
        time=time,
        naive_time=naive,
        type=kind,
        run_id=run_id,
        job_namespace=namespace,
        job_name=name,
        producer=text(data, "producer", at),
        schema_url=text(data, "schemaURL", at),
        run_facets=read_facets(run.get("facets"), At(raw.where, "run.facets"), RUN_FACETS),
        job_facets=read_facets(job.get("facets"), At(raw.where, "job.facets"), JOB_FACETS),
        inputs=_datasets(data, "inputs", "inputFacets", raw.where),
        outputs=_datasets(data, "outputs", "outputFacets", raw.where),
    )


def _time(data: dict[str, object], where: str) -> tuple[datetime, bool]:
    value = data.get("eventTime")
    if value is None:
        raise IngestError(where, "eventTime", "missing")
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise IngestError(where, "eventTime", f"{str(value)[:40]!r} is not an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
        naive = parsed.tzinfo is None
        parsed = parsed.replace(tzinfo=UTC) if naive else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise IngestError(where, "eventTime", f"{value[:40]!r} is not an ISO 8601 date-time") from exc
    if parsed < EPOCH:
        raise IngestError(where, "eventTime", f"{value[:40]!r} is before 1970")
    return parsed, naive


def _required_object(data: dict[str, object], key: str, where: str) -> dict[str, object]:
    if data.get(key) is None:
        raise IngestError(where, key, "missing")
    return as_object(data[key], At(where, key))


def _required_text(data: dict[str, object], parent: str, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        raise IngestError(where, f"{parent}.{key}", "missing")
    if not isinstance(value, str) or not value.strip():
        raise IngestError(where, f"{parent}.{key}", "not a non-empty string")
    return value


def _run_id(run: dict[str, object], where: str) -> str:
    value = _required_text(run, "run", "runId", where)
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise IngestError(where, "run.runId", f"{value[:60]!r} is not a UUID") from exc


def _datasets(data: dict[str, object], key: str, extra: str, where: str) -> tuple[DatasetRef, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise IngestError(where, key, "not a list")
    if len(value) > MAX_DATASETS:
        raise IngestError(where, key, f"more than {MAX_DATASETS} datasets")
    out = []
    for index, item in enumerate(value):
        at = At(where, f"{key}[{index}]")
        dataset = as_object(item, at)
        namespace = _required_text(dataset, at.field, "namespace", where)
        name = _required_text(dataset, at.field, "name", where)
        facets = read_facets(dataset.get("facets"), at / "facets", DATASET_FACETS)
        facets |= read_facets(dataset.get(extra), at / extra, DATASET_FACETS)
        out.append(DatasetRef(namespace, name, facets))
    return tuple(out)
