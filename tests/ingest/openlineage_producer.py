"""Emit a realistic pair of OpenLineage runs with the real openlineage-python client.

Run by the tool virtualenv (tests/ingest/tools/openlineage.txt), never by auditor's own:

    python openlineage_producer.py OUT MODE [--hostile]

MODE is how the client's FileTransport writes: `append` (every event a line of the file OUT),
`files` (one compact JSON file per event, named OUT-<timestamp>.json) or `debug` (one
indented JSON file per event). The first run (START, RUNNING, COMPLETE) trains a model from
two inputs into one output; the second (START, FAIL) fails with an errorMessage facet. With
--hostile a third run carries HTML, script and control characters in its names. With --quality two
more runs carry dataQualityAssertions facets, as Marquez's seed events do: one where `not_null` on
`driver_id` failed (beside held assertions, one of them named with HTML), one where all held.

It prints a JSON manifest of what it emitted, for the tests to compare with what auditor read.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    lifecycle_state_change_dataset,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    source_code_location_job,
    sql_job,
    storage_dataset,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.uuid import generate_new_uuid

NAMESPACE = "churn-pipelines"
BASE = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
SQL = "SELECT customer_id, tenure, churned FROM analytics.public.customers WHERE tenure > 0"
CODE = "import pandas as pd\n\ndef train(frame):\n    return frame.groupby('tenure').churned.mean()\n"
STACK = "Traceback (most recent call last):\n" + '  File "score.py", line 12, in score\n' * 2000 + "ValueError: bad"


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat()


def schema(*fields: schema_dataset.SchemaDatasetFacetFields) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(fields=list(fields))


def column(name: str, type_: str, description: str | None = None) -> schema_dataset.SchemaDatasetFacetFields:
    return schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, description=description)


def owners(*pairs: tuple[str, str | None]) -> ownership_dataset.OwnershipDatasetFacet:
    return ownership_dataset.OwnershipDatasetFacet(owners=[ownership_dataset.Owner(name=n, type=t) for n, t in pairs])


def customers(description: str, with_quality: bool) -> InputDataset:
    address = schema_dataset.SchemaDatasetFacetFields(
        name="address", type="STRUCT", fields=[column("city", "VARCHAR"), column("zip", "VARCHAR")]
    )
    facets: dict[str, Any] = {
        "schema": schema(column("customer_id", "INTEGER"), column("tenure", "INTEGER", "months as customer"), address),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name="analytics", uri="postgres://analyst:s3cr3t-pw@db.example.com:5432/analytics"
        ),
        "documentation": documentation_dataset.DocumentationDatasetFacet(description=description),
        "ownership": owners(("team:crm", "MAINTAINER"), ("user:jdoe", None)),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="42"),
    }
    input_facets: dict[str, Any] = {}
    if with_quality:
        input_facets["dataQualityMetrics"] = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            rowCount=7043,
            bytes=981234,
            columnMetrics={"tenure": data_quality_metrics_input_dataset.ColumnMetrics(nullCount=0, min=0.0, max=72.0)},
        )
    return InputDataset(
        namespace="postgres://db.example.com:5432",
        name="analytics.public.customers",
        facets=facets,
        inputFacets=input_facets,
    )


def features() -> InputDataset:
    return InputDataset(
        namespace="s3://ml-bucket",
        name="features/churn.parquet",
        facets={
            "schema": schema(column("customer_id", "INTEGER"), column("spend_30d", "DOUBLE")),
            "storage": storage_dataset.StorageDatasetFacet(storageLayer="delta", fileFormat="parquet"),
        },
    )


def scores(with_facets: bool) -> OutputDataset:
    if not with_facets:
        return OutputDataset(namespace="s3://ml-bucket", name="predictions/churn_scores")
    return OutputDataset(
        namespace="s3://ml-bucket",
        name="predictions/churn_scores",
        facets={
            "schema": schema(column("customer_id", "INTEGER"), column("score", "DOUBLE", "churn probability")),
            "documentation": documentation_dataset.DocumentationDatasetFacet(description="Churn score per customer"),
            "ownership": owners(("team:ml", "MAINTAINER")),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="2026-03-01"),
            "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.OVERWRITE
            ),
        },
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=7043, size=120000
            )
        },
    )


def train_job() -> Job:
    return Job(
        namespace=NAMESPACE,
        name="churn.train_model",
        facets={
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git",
                url="https://github.com/example/churn/blob/0123abc/train.py",
                repoUrl="https://ci-bot:hunter2@github.com/example/churn.git",
                path="train.py",
                version="0123abc",
                branch="main",
            ),
            "sourceCode": source_code_job.SourceCodeJobFacet(language="python", sourceCode=CODE),
            "sql": sql_job.SQLJobFacet(query=SQL, dialect="postgres"),
            "documentation": documentation_job.DocumentationJobFacet(description="Trains the churn model"),
            "ownership": ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name="team:ml", type="OWNER")]),
        },
    )


def emit_train(client: OpenLineageClient) -> dict[str, Any]:
    run_id = str(generate_new_uuid(BASE))
    parent_id = str(generate_new_uuid(BASE))
    run_facets: dict[str, Any] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime="2026-03-01T09:00:00Z"),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version="2.10.0", name="Airflow", openlineageAdapterVersion="1.54.0"
        ),
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_id), job=parent_run.Job(namespace=NAMESPACE, name="churn_dag")
        ),
    }
    run = Run(runId=run_id, facets=run_facets)
    job = train_job()
    start = RunEvent(eventType=RunState.START, eventTime=at(0), run=run, job=job, inputs=[customers("draft", False)])
    running = RunEvent(
        eventType=RunState.RUNNING, eventTime=at(30), run=Run(runId=run_id), job=job, inputs=[features()]
    )
    complete = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=at(95.5),
        run=Run(runId=run_id),
        job=job,
        inputs=[customers("Customer master data", True)],
        outputs=[scores(True)],
    )
    for event in (start, running, complete):
        client.emit(event)
    return {
        "run_id": run_id,
        "parent_run_id": parent_id,
        "job": {"namespace": NAMESPACE, "name": "churn.train_model", "sql": SQL, "source_code": CODE},
        "started_at": at(0),
        "ended_at": at(95.5),
        "producer": start.producer,
        "inputs": [
            {"namespace": "postgres://db.example.com:5432", "name": "analytics.public.customers"},
            {"namespace": "s3://ml-bucket", "name": "features/churn.parquet"},
        ],
        "outputs": [{"namespace": "s3://ml-bucket", "name": "predictions/churn_scores"}],
    }


def emit_score(client: OpenLineageClient) -> dict[str, Any]:
    run_id = str(generate_new_uuid(BASE + timedelta(minutes=5)))
    job = Job(namespace=NAMESPACE, name="churn.score_batch")
    start = RunEvent(
        eventType=RunState.START, eventTime=at(300), run=Run(runId=run_id), job=job, inputs=[scores(False)]
    )
    error = error_message_run.ErrorMessageRunFacet(
        message="ValueError: bad", programmingLanguage="python", stackTrace=STACK
    )
    fail = RunEvent(
        eventType=RunState.FAIL,
        eventTime=at(312),
        run=Run(runId=run_id, facets={"errorMessage": error}),
        job=job,
        inputs=[scores(False)],
    )
    for event in (start, fail):
        client.emit(event)
    return {"run_id": run_id, "started_at": at(300), "ended_at": at(312), "stack_trace": STACK}


HOSTILE = "<script>alert('x')</script>\x1b[31m\u202e\x07 & \"q\""


def emit_hostile(client: OpenLineageClient) -> dict[str, Any]:
    run_id = str(generate_new_uuid(BASE + timedelta(minutes=10)))
    job = Job(namespace=NAMESPACE, name="job " + HOSTILE)
    dataset = InputDataset(
        namespace="file",
        name="/data/" + HOSTILE,
        facets={"documentation": documentation_dataset.DocumentationDatasetFacet(description="<b>" + HOSTILE)},
    )
    for kind, seconds in ((RunState.START, 600), (RunState.COMPLETE, 601)):
        client.emit(RunEvent(eventType=kind, eventTime=at(seconds), run=Run(runId=run_id), job=job, inputs=[dataset]))
    return {"run_id": run_id, "job_name": "job " + HOSTILE, "dataset_name": "/data/" + HOSTILE}


DQ_SCRIPT = "<script>alert('dq')</script>"


def deliveries(*checks: tuple[str, str | None, bool]) -> InputDataset:
    facet = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[data_quality_assertions_dataset.Assertion(assertion=a, column=c, success=s) for a, c, s in checks]
    )
    return InputDataset(
        namespace="postgres://food-delivery-db:5432",
        name="food_delivery.public.delivery_7_days",
        facets={"schema": schema(column("delivery_id", "INTEGER"), column("driver_id", "INTEGER"))},
        inputFacets={"dataQualityAssertions": facet},
    )


def emit_quality(client: OpenLineageClient, minutes: int, checks: list[tuple[str, str | None, bool]]) -> dict[str, Any]:
    run_id = str(generate_new_uuid(BASE + timedelta(minutes=minutes)))
    job = Job(namespace="food_delivery", name="food_delivery.etl_delivery_7_days")
    drivers = InputDataset(namespace="postgres://food-delivery-db:5432", name="food_delivery.public.drivers")
    start = minutes * 60
    for kind, seconds in ((RunState.START, start), (RunState.COMPLETE, start + 42)):
        inputs = [deliveries(*checks), drivers] if kind == RunState.COMPLETE else [drivers]
        client.emit(RunEvent(eventType=kind, eventTime=at(seconds), run=Run(runId=run_id), job=job, inputs=inputs))
    return {"run_id": run_id, "dataset": "food_delivery.public.delivery_7_days", "assertions": checks}


def main(argv: list[str]) -> None:
    out, mode = argv[0], argv[1]
    config = FileConfig(log_file_path=out, append=mode == "append", debug_mode=mode == "debug")
    client = OpenLineageClient(transport=FileTransport(config))
    manifest = {"train": emit_train(client), "score": emit_score(client)}
    if "--hostile" in argv:
        manifest["hostile"] = emit_hostile(client)
    if "--quality" in argv:
        failed = [("not_null", "driver_id", False), ("is_unique", "delivery_id", True), ("row_count", None, True)]
        manifest["quality"] = emit_quality(client, 20, [*failed, (DQ_SCRIPT, "driver_id", True)])
        manifest["quality_ok"] = emit_quality(client, 30, [("not_null", "delivery_id", True)])
    json.dump(manifest, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
