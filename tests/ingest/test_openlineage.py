"""Reading OpenLineage events that the real openlineage-python client wrote (FileTransport)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import IngestError
from auditor.ingest.ingested import Ingested, build_record
from auditor.ingest.openlineage import files as openlineage_files
from auditor.ingest.openlineage import reader as openlineage
from auditor.record.base import Missing
from auditor.record.lineage import Dataset, IdentityHint
from auditor.record.models import ReportedSource
from tests.ingest.conftest import tool_python

PRODUCER = Path(__file__).parent / "openlineage_producer.py"


def produce(out: Path, mode: str, *extra: str) -> dict[str, Any]:
    """Run the real client; return the manifest of what it emitted."""
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(out.parent)}  # no OPENLINEAGE_* config
    done = subprocess.run(
        [str(tool_python("openlineage")), str(PRODUCER), str(out), mode, *extra],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest: dict[str, Any] = json.loads(done.stdout)
    return manifest


@pytest.fixture(scope="session")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("openlineage")
    return {
        "append": (root / "append" / "events.jsonl", produce(root / "append" / "events.jsonl", "append", "--hostile")),
        "files": (root / "files", produce(root / "files" / "events", "files")),
        "debug": (root / "debug", produce(root / "debug" / "ol", "debug")),
    }


@pytest.fixture(scope="session")
def lines(emitted: dict[str, Any]) -> list[dict[str, Any]]:
    """The events exactly as the client wrote them: the tool's own view to compare with."""
    path: Path = emitted["append"][0]
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_run(runs: list[Ingested]) -> dict[str, Ingested]:
    return {r.source_run_id or "": r for r in runs}


def dataset(run: Ingested, name: str) -> Dataset:
    return next(d for d in run.datasets if d.annotations["openlineage.name"] == name)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_every_run_in_the_file_is_read(emitted: dict[str, Any]) -> None:
    path, manifest = emitted["append"]
    runs = by_run(openlineage.read(path))
    assert set(runs) == {manifest[k]["run_id"] for k in ("train", "score", "hostile")}
    for run in runs.values():
        assert run.tool == "OpenLineage" and run.source_uri == str(path.absolute())
        build_record(run)  # a valid record with an acyclic lineage graph


def test_datasets_match_the_emitted_events(emitted: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    path, manifest = emitted["append"]
    train = manifest["train"]
    run = by_run(openlineage.read(path))[train["run_id"]]
    events = [e for e in lines if e["run"]["runId"] == train["run_id"]]
    for role in ("inputs", "outputs"):
        written = {(d["namespace"], d["name"]) for e in events for d in e.get(role, [])}
        read = {
            (d.annotations["openlineage.namespace"], d.annotations["openlineage.name"])
            for d in run.datasets
            if d.role == role[:-1]
        }
        assert read == written == {(d["namespace"], d["name"]) for d in train[role]}
    customers = dataset(run, "analytics.public.customers")
    schema = events[-1]["inputs"][0]["facets"]["schema"]["fields"]
    assert [c.name for c in customers.columns] == [f["name"] for f in schema] + ["address.city", "address.zip"]
    assert customers.columns[1].description == "months as customer"
    assert customers.uri == "postgres://db.example.com:5432/analytics.public.customers"
    assert customers.datasheet.description == "Customer master data"  # the COMPLETE event's facet replaced START's
    assert customers.datasheet.owner == "team:crm (MAINTAINER), user:jdoe"
    assert customers.datasheet.source == "analytics (postgres://analyst@db.example.com:5432/analytics)"
    assert isinstance(customers.before, IdentityHint) and customers.before.value == "42"
    assert customers.annotations["data_quality.row_count"] == "7043"
    assert json.loads(customers.annotations["data_quality.column_metrics"])["tenure"]["max"] == 72.0
    features = dataset(run, "features/churn.parquet")  # named only by the RUNNING event
    assert features.annotations["storage"] == "delta (parquet)"
    assert isinstance(features.before, Missing) and "not captured by OpenLineage" in features.before.reason
    scores = dataset(run, "predictions/churn_scores")
    assert scores.role == "output" and scores.before is None
    assert isinstance(scores.after, IdentityHint) and scores.after.value == "2026-03-01"
    assert scores.annotations["lifecycle"] == "OVERWRITE"
    assert scores.annotations["statistics.row_count"] == "7043"
    assert [c.name for c in scores.columns] == ["customer_id", "score"]
    assert any("no content hashes" in note for note in run.notes)
    assert "s3cr3t" not in build_record(run).model_dump_json()


def test_job_and_run_facets(emitted: dict[str, Any]) -> None:
    path, manifest = emitted["append"]
    train = manifest["train"]
    run = by_run(openlineage.read(path))[train["run_id"]]
    assert (run.project, run.name, run.status, run.error) == ("churn-pipelines", "churn.train_model", "succeeded", None)
    assert (run.started_at, run.ended_at) == (when(train["started_at"]), when(train["ended_at"]))
    assert run.tool_version == train["producer"]
    (step,) = run.steps
    assert step.name == "churn.train_model" and step.command == train["job"]["sql"]
    assert step.inputs == ("analytics.public.customers", "features-churn.parquet")
    assert step.outputs == ("predictions-churn_scores",)
    assert step.annotations["source_code"] == train["job"]["source_code"]
    assert step.annotations["sql.dialect"] == "postgres"
    assert step.annotations["description"] == "Trains the churn model"
    assert run.source == ReportedSource(
        tool="OpenLineage",
        repo_url="https://github.com/example/churn.git",
        commit="0123abc",
        branch="main",
        path="train.py",
    )
    assert run.owner == "team:ml (OWNER)"
    assert run.tags["openlineage.parent.run_id"] == train["parent_run_id"]
    assert run.tags["openlineage.parent.job"] == "churn-pipelines/churn_dag"
    assert run.tags["openlineage.processing_engine"] == "Airflow 2.10.0"
    assert run.tags["openlineage.nominal_start_time"] == "2026-03-01T09:00:00Z"
    assert run.tags["openlineage_client_version"]  # the client's own tags facet


def test_a_failed_run_keeps_its_error(emitted: dict[str, Any]) -> None:
    path, manifest = emitted["append"]
    score = manifest["score"]
    run = by_run(openlineage.read(path))[score["run_id"]]
    assert (run.status, run.error) == ("failed", "ValueError: bad")
    assert (run.started_at, run.ended_at) == (when(score["started_at"]), when(score["ended_at"]))
    (step,) = run.steps
    assert step.command == "not recorded by OpenLineage"
    assert step.annotations["error.language"] == "python"
    trace = step.annotations["error.stack_trace"]
    assert trace.startswith(score["stack_trace"][:8192]) and "more characters not kept" in trace
    assert len(trace) < 8300 < len(score["stack_trace"])
    assert build_record(run).identity.status == "failed"


@pytest.mark.parametrize("layout", ["files", "debug"])
def test_one_file_per_event_reads_like_one_file(emitted: dict[str, Any], layout: str) -> None:
    """Without `append` FileTransport writes each event to its own (timestamped) file."""
    folder, manifest = emitted[layout]
    assert len(list(folder.glob("*.json"))) == 5

    def summary(runs: list[Ingested]) -> list[tuple[object, ...]]:
        return sorted(
            (r.name, r.status, r.started_at, r.ended_at, r.error, r.datasets, r.steps, r.source) for r in runs
        )  # run ids and the parent's id are fresh in each emission

    appended = [
        r
        for r in openlineage.read(emitted["append"][0])
        if r.source_run_id != emitted["append"][1]["hostile"]["run_id"]
    ]
    assert summary(openlineage.read(folder)) == summary(appended)
    assert {r.source_run_id for r in openlineage.read(folder)} == {
        manifest["train"]["run_id"],
        manifest["score"]["run_id"],
    }


def test_run_id_selects_one_run(emitted: dict[str, Any]) -> None:
    path, manifest = emitted["append"]
    wanted = manifest["score"]["run_id"]
    assert [r.source_run_id for r in openlineage.read(path, run_id=wanted.upper())] == [wanted]
    assert openlineage.read(path, run_id="00000000-0000-0000-0000-000000000000") == []


def test_hostile_strings_are_kept_as_plain_data(emitted: dict[str, Any]) -> None:
    path, manifest = emitted["append"]
    hostile = manifest["hostile"]
    run = by_run(openlineage.read(path))[hostile["run_id"]]
    (data,) = run.datasets
    assert run.name == hostile["job_name"] and run.steps[0].name == hostile["job_name"]
    assert data.annotations["openlineage.name"] == hostile["dataset_name"]
    assert data.datasheet.description is not None and data.datasheet.description.startswith("<b><script>")
    assert data.uri == "file://" + hostile["dataset_name"]
    assert data.id == "data-script-alert-x-script-31m-q"
    record = build_record(run)
    assert json.loads(record.model_dump_json())["identity"]["name"] == hostile["job_name"]


# --- events written by hand from the client's own lines ------------------------------


Edit = Callable[[list[dict[str, Any]]], None]


def write(tmp_path: Path, events: list[dict[str, Any]], name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def train_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    copy: list[dict[str, Any]] = json.loads(json.dumps(lines[:3]))  # START, RUNNING, COMPLETE of the training run
    return copy


def _set(line: int, path: str, value: object) -> Edit:
    def edit(events: list[dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        target: Any = events[line - 1]
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set(3, "run.runId", KeyError), "line 3: run.runId: missing"),
        (_set(2, "run.runId", "run-1"), "line 2: run.runId: 'run-1' is not a UUID"),
        (_set(2, "eventTime", "yesterday"), "line 2: eventTime: 'yesterday' is not an ISO 8601 date-time"),
        (_set(1, "eventTime", "2026-03-01"), "line 1: eventTime: '2026-03-01' is not an ISO 8601"),
        (_set(3, "eventTime", KeyError), "line 3: eventTime: missing"),
        (_set(3, "eventTime", "0001-01-01T00:00:00+05:00"), "line 3: eventTime: '0001-01-01T00:00:00+05:00' is not an"),
        (_set(3, "eventTime", "1969-12-31T23:00:00Z"), "line 3: eventTime: '1969-12-31T23:00:00Z' is before 1970"),
        (_set(1, "eventType", "FINISHED"), "line 1: eventType: 'FINISHED' is not one of START"),
        (_set(2, "job.name", KeyError), "line 2: job.name: missing"),
        (_set(2, "job.namespace", 7), "line 2: job.namespace: not a non-empty string"),
        (_set(3, "outputs", {}), "line 3: outputs: not a list"),
        (_set(3, "outputs.0.name", KeyError), "line 3: outputs[0].name: missing"),
        (_set(1, "inputs.0.facets.schema.fields", "x"), "line 1: inputs[0].facets.schema.fields: not a list"),
        (
            _set(3, "inputs.0.facets.documentation.description", 1),
            "line 3: inputs[0].facets.documentation.description: not a string",
        ),
        (_set(1, "job.facets.sql.query", ["x"]), "line 1: job.facets.sql.query: not a string"),
        (_set(1, "run.facets.parent.run", "x"), "line 1: run.facets.parent.run: not a JSON object"),
    ],
)
def test_a_bad_event_names_file_line_and_field(
    tmp_path: Path, lines: list[dict[str, Any]], edit: Edit, expected: str
) -> None:
    events = train_lines(lines)
    edit(events)
    with pytest.raises(IngestError, match="^" + re.escape(f"{tmp_path / 'events.jsonl'}: {expected}")):
        openlineage.read(write(tmp_path, events))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda text: text[: len(text) - 40], "line 3: not valid JSON"),  # the writer died mid-line
        (lambda text: text + '{"eventTime": NaN}\n', "line 4: not valid JSON"),
        (lambda text: text + "[1, 2]\n", "line 4: event: not a JSON object"),
        (lambda text: text + "[" * 100_000 + "\n", "line 4: not valid JSON"),
    ],
)
def test_broken_json_names_the_line(
    tmp_path: Path, lines: list[dict[str, Any]], content: Callable[[str], str], expected: str
) -> None:
    path = write(tmp_path, train_lines(lines))
    path.write_text(content(path.read_text()))
    with pytest.raises(IngestError, match=f"events.jsonl: {expected}"):
        openlineage.read(path)


def test_bytes_that_are_not_utf8(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    path = write(tmp_path, train_lines(lines))
    path.write_bytes(path.read_bytes() + b'{"x": "\xff"}\n')
    with pytest.raises(IngestError, match=re.escape("events.jsonl: line 4: not UTF-8")):
        openlineage.read(path)


def test_a_json_document_of_one_event_or_a_list(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    listed = tmp_path / "all.json"
    listed.write_text(json.dumps(events, indent=2))
    (run,) = openlineage.read(listed)
    assert run.status == "succeeded" and len(run.datasets) == 3
    single = tmp_path / "one.json"
    single.write_text(json.dumps(events[0], indent=2))
    assert openlineage.read(single)[0].status == "unfinished"
    del events[1]["run"]["runId"]
    listed.write_text(json.dumps(events))
    with pytest.raises(IngestError, match=re.escape("all.json: item 2: run.runId: missing")):
        openlineage.read(listed)
    single.write_text(json.dumps(events[0], indent=2)[:-30])
    with pytest.raises(IngestError, match=r"one.json: line \d+: not valid JSON"):
        openlineage.read(single)


def test_appended_lines_in_a_json_file(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    """FileTransport(append=True) writes JSON lines whatever the file is called."""
    (run,) = openlineage.read(write(tmp_path, train_lines(lines), "lineage.json"))
    assert run.status == "succeeded"


def test_a_run_without_terminal_event_is_not_a_success(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    (run,) = openlineage.read(write(tmp_path, train_lines(lines)[:2]))
    assert run.status == "unfinished" and run.error is None and run.ended_at is None
    assert any(note.startswith(openlineage.NO_END) for note in run.notes)
    record = build_record(run)
    assert record.identity.ended_at is None and record.identity.duration_s is None
    assert record.resources.wall_s is None
    (run,) = openlineage.read(write(tmp_path, train_lines(lines)[1:]))
    assert run.started_at == when(lines[1]["eventTime"]) and run.status == "succeeded"
    assert any(note.startswith("no START event") for note in run.notes)


def test_an_abort_is_an_interruption(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    events[2]["eventType"] = "ABORT"
    (run,) = openlineage.read(write(tmp_path, events))
    assert run.status == "interrupted" and run.error == "the run reported ABORT without an errorMessage facet"


def test_events_merge_in_time_order_and_facets_can_be_deleted(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    other = {**json.loads(json.dumps(events[2])), "eventType": "OTHER", "inputs": []}
    other["eventTime"] = "2026-03-01T10:00:00Z"
    other["outputs"][0]["facets"] = {"documentation": {"_deleted": True}}
    events = [other, events[2], events[0], events[1]]  # written out of order
    (run,) = openlineage.read(write(tmp_path, events))
    assert run.status == "succeeded" and run.ended_at == when(lines[2]["eventTime"])
    scores = dataset(run, "predictions/churn_scores")
    assert scores.datasheet.description is None and scores.datasheet.owner == "team:ml (MAINTAINER)"


def test_a_dataset_read_and_written_is_not_a_cycle(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    events[2]["outputs"].append(events[2]["inputs"][0])
    events[2]["eventTime"] = events[2]["eventTime"].replace("+00:00", "")  # a naive time, as older producers wrote
    (run,) = openlineage.read(write(tmp_path, events))
    customers = dataset(run, "analytics.public.customers")
    assert customers.role == "output" and customers.annotations["openlineage.also_read"] == "true"
    assert customers.id not in run.steps[0].inputs
    assert any("read as UTC" in note for note in run.notes) and run.ended_at.tzinfo is not None
    build_record(run)


def test_same_name_in_two_namespaces_gets_two_ids(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    twin = {**events[0]["inputs"][0], "namespace": "postgres://replica.example.com:5432"}
    events[0]["inputs"].append(twin)
    (run,) = openlineage.read(write(tmp_path, events))
    ids = [d.id for d in run.datasets if d.annotations["openlineage.name"] == "analytics.public.customers"]
    assert len(set(ids)) == 2 and all(i.startswith("analytics.public.customers-") for i in ids)


def test_static_events_are_left_aside(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    job_event = {
        "eventTime": lines[0]["eventTime"],
        "producer": lines[0]["producer"],
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": lines[0]["job"],
    }
    (run,) = openlineage.read(write(tmp_path, [job_event, *train_lines(lines)]))
    assert any("1 static JobEvent/DatasetEvent" in note for note in run.notes)


def test_a_folder_does_not_follow_links_out_of_it(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    outside = write(tmp_path, train_lines(lines)[:1], "outside.json")
    write(folder, train_lines(lines)[1:], "inside.jsonl")
    (folder / "linked.json").symlink_to(outside)
    (folder / "notes.txt").write_text("not an event")
    (run,) = openlineage.read(folder)
    assert any("links to outside the folder" in note for note in run.notes)
    assert any(note.startswith("no START event") for note in run.notes)  # the START outside was not read
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match="empty: no OpenLineage event files"):
        openlineage.read(empty)


def test_limits(tmp_path: Path, lines: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, train_lines(lines))
    monkeypatch.setattr(openlineage_files, "MAX_EVENTS", 2)
    with pytest.raises(IngestError, match=re.escape("events.jsonl: more than 2 events")):
        openlineage.read(path)
    monkeypatch.setattr(openlineage_files, "MAX_LINE_BYTES", 1000)
    with pytest.raises(IngestError, match=re.escape("events.jsonl: line 1: longer than 1000 bytes")):
        openlineage.read(path)


def test_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=re.escape("nothing.jsonl: cannot read")):
        openlineage.read(tmp_path / "nothing.jsonl")
    os.mkfifo(tmp_path / "pipe.jsonl")
    with pytest.raises(IngestError, match=re.escape("pipe.jsonl: not a regular file")):
        openlineage.read(tmp_path / "pipe.jsonl")


def test_other_run_facets(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    events = train_lines(lines)
    events[2]["run"]["facets"] |= {  # the last event: its tags facet replaces the earlier ones
        "environmentVariables": {"environmentVariables": [{"name": "DB_PASSWORD", "value": "pa55-w0rd-xyz"}]},
        "executionParameters": {"parameters": [{"key": "epochs", "value": "12"}]},
        "extractionError": {"totalTasks": 3, "failedTasks": 1, "errors": [{"errorMessage": "no parser for MERGE"}]},
        "tags": {"tags": [{"key": "team", "value": "risk"}, {"key": "openlineage.parent.job", "value": "spoof"}]},
        "acme_costs": {"_producer": "x", "dollars": 3.5, "note": "<i>cheap</i>"},
    }
    events[0]["job"]["facets"]["jobType"] = {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"}
    (run,) = openlineage.read(write(tmp_path, events))
    assert "pa55-w0rd-xyz" not in build_record(run).model_dump_json()
    assert run.tags["openlineage.environment_variables"] == "DB_PASSWORD"
    assert run.tags["team"] == "risk" and run.tags["openlineage.parent.job"] == "churn-pipelines/churn_dag"
    assert run.params == {"epochs": "12"}
    assert any("1 of 3 extraction tasks failed: no parser for MERGE" in note for note in run.notes)
    (step,) = run.steps
    assert json.loads(step.annotations["run_facet.acme_costs"]) == {"dollars": 3.5, "note": "<i>cheap</i>"}
    assert step.annotations["job_type"] == "BATCH / AIRFLOW / TASK"
