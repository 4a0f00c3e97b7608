"""`auditor ingest openlineage`: OpenLineage RunEvents read into one run record per run.

Events are grouped by run id and merged in event-time order, as a lineage backend would:
START gives the start time, the last COMPLETE / FAIL / ABORT the end time and the status
(succeeded / failed / interrupted), and datasets and facets accumulate across events, a later
facet of the same name replacing an earlier one. The job is the run's one step; its SQL, or
else its source-code location, is the step's command.

A run with no terminal event had not ended when the events were written (still running, or
its producer died before reporting). It is recorded as "unfinished", with no end time: the
events prove neither success nor a failure the job reported, and auditor never records success
it cannot see.

OpenLineage describes data by name; it records no content hashes, so every dataset hash is
"not captured" (a datasetVersion is kept as an identity hint, which names a version of the
data without proving its bytes). Nor does it record hardware, the environment or logs:
`build_record` marks those as not captured.

The events are read as plain JSON: the openlineage-python client is not a dependency of
auditor, and it adds nothing a reader needs (it builds events; it does not merge them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from auditor.ingest.ingested import Ingested
from auditor.ingest.openlineage import TOOL
from auditor.ingest.openlineage.datasets import build_datasets
from auditor.ingest.openlineage.events import TERMINAL, Event, parse_event
from auditor.ingest.openlineage.facets import clip, merge
from auditor.ingest.openlineage.files import load
from auditor.record.lineage import Step
from auditor.record.models import ReportedSource, RunStatus

STATUS: dict[str, RunStatus] = {"COMPLETE": "succeeded", "FAIL": "failed", "ABORT": "interrupted"}
NO_END = "no terminal event: the run had not ended when these events were written"
NO_HASHES = (
    "OpenLineage records no content hashes: dataset hashes are not captured "
    "(a datasetVersion, where given, is kept as an identity hint)"
)
# run facets that become tags; the rest of the run's facts annotate the step
RUN_TAGS = (
    "nominal_start_time",
    "nominal_end_time",
    "parent.run_id",
    "parent.job",
    "root.run_id",
    "root.job",
    "processing_engine",
    "adapter_version",
    "environment_variables",
)


def read(path: Path, *, run_id: str | None = None) -> list[Ingested]:
    loaded = load(path)
    events, static = [], 0
    for raw in loaded.events:
        event = parse_event(raw)
        if event is None:
            static += 1
        else:
            events.append(event)
    notes = list(loaded.notes)
    if static:
        notes.append(f"{static} static JobEvent/DatasetEvent(s) describe no run and were not ingested")
    runs: dict[str, list[Event]] = {}
    for event in events:
        runs.setdefault(event.run_id, []).append(event)
    if run_id is not None:
        wanted = _canonical(run_id)
        runs = {k: v for k, v in runs.items() if k == wanted}
    source_uri = str(path.absolute())
    return [_run(run_events, source_uri, notes) for run_events in runs.values()]


def _canonical(run_id: str) -> str:
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id


def _run(events: list[Event], source_uri: str, shared_notes: Sequence[str]) -> Ingested:
    events = sorted(events, key=lambda e: (e.time, e.order))
    first = events[0]
    notes = [NO_HASHES, *shared_notes]
    starts = [e for e in events if e.type == "START"]
    if not starts:
        notes.append(f"no START event: the start time is that of the first event ({first.type}, {first.where})")
    terminals = [e for e in events if e.type in TERMINAL]
    if len(terminals) > 1:
        kinds = ", ".join(e.type for e in terminals)
        notes.append(f"{len(terminals)} terminal events ({kinds}): the last one decides the status")
    end = terminals[-1] if terminals else None
    if end is None:
        notes.append(NO_END + "; it is recorded as unfinished")
    jobs = sorted({(e.job_namespace, e.job_name) for e in events})
    if len(jobs) > 1:
        notes.append("the events name different jobs: " + "; ".join(clip(f"{ns}/{n}", 200) for ns, n in jobs))
    if any(e.naive_time for e in events):
        notes.append("some event times have no UTC offset; they were read as UTC")
    run = merge(e.run_facets for e in events).values
    job = merge(e.job_facets for e in events).values
    if "extraction_error" in run:
        notes.append("the producer reported lineage it could not extract: " + run["extraction_error"])
    datasets, inputs, outputs, dataset_notes = build_datasets(events)
    notes += dataset_notes
    status: RunStatus = STATUS[end.type] if end else "unfinished"
    namespace, name = clip(first.job_namespace), clip(first.job_name)
    step = Step(
        name=name,
        command=job.get("sql") or job.get("location.url") or "not recorded by OpenLineage",
        inputs=inputs,
        outputs=outputs,
        annotations=_step_annotations(job, run, namespace),
    )
    tags = {k.removeprefix("tag."): v for k, v in run.items() if k.startswith("tag.")}
    tags |= {f"openlineage.{k}": v for k, v in run.items() if k in RUN_TAGS}
    producer = end.producer if end and end.producer else first.producer
    if first.schema_url:
        tags["openlineage.schema_url"] = first.schema_url
    return Ingested(
        tool=TOOL,
        tool_version=producer,
        source_uri=source_uri,
        source_run_id=first.run_id,
        project=namespace,
        name=name,
        started_at=(starts[0] if starts else first).time,
        ended_at=end.time if end else None,
        status=status,
        error=_error(end, run),
        source=_source(job),
        datasets=datasets,
        steps=(step,),
        params={k.removeprefix("param."): v for k, v in run.items() if k.startswith("param.")},
        tags=tags,
        owner=job.get("owner"),
        notes=tuple(dict.fromkeys(notes)),
    )


def _error(end: Event | None, run: dict[str, str]) -> str | None:
    if end is None:
        return None  # unfinished, not failed: the notes say why there is no end
    if end.type == "COMPLETE":
        return None
    if "error.message" in run:
        return run["error.message"]
    return f"the run reported {end.type} without an errorMessage facet"


def _source(job: dict[str, str]) -> ReportedSource | None:
    if not any(k.startswith("location.") for k in job):
        return None
    return ReportedSource(
        tool=TOOL,
        repo_url=job.get("location.repo_url"),
        commit=job.get("location.version"),
        branch=job.get("location.branch"),
        path=job.get("location.path") or job.get("location.url"),
    )


def _step_annotations(job: dict[str, str], run: dict[str, str], namespace: str) -> dict[str, str]:
    out = {"openlineage.job_namespace": namespace}
    out |= {f"job_{k}" if k.startswith("tag.") else k: v for k, v in job.items()}
    out |= {
        f"run_{k}" if k.startswith("facet.") else k: v for k, v in run.items() if k.startswith(("error.", "facet."))
    }
    return out
