from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.errors import InvalidRecordError
from auditor.record import dump_record, load_record, parse_record, record_digest
from auditor.record.models import GitSource, Missing, NotARepository, RunRecord
from auditor.record.schema import committed_schema_text, generate_schema, schema_text
from tests.factories import make_record


def test_round_trip_is_lossless_and_canonical() -> None:
    record = make_record()
    raw = dump_record(record)
    again = parse_record(raw, "mem")
    assert again == record
    assert dump_record(again) == raw  # canonical: same bytes every time
    assert list(json.loads(raw)) == sorted(json.loads(raw))


def test_records_are_immutable() -> None:
    record = make_record()
    with pytest.raises(ValidationError):
        record.identity.exit_code = 1  # type: ignore[misc]


def test_unknown_keys_are_rejected() -> None:
    data = json.loads(dump_record(make_record()))
    data["identity"]["surprise"] = 1
    with pytest.raises(InvalidRecordError) as info:
        parse_record(json.dumps(data).encode(), "r.json")
    assert info.value.field == "identity.surprise"


def test_sections_tell_missing_from_captured() -> None:
    data = json.loads(dump_record(make_record()))
    data["source"] = {"state": "not_a_repository", "path": "/tmp/x"}
    assert isinstance(parse_record(json.dumps(data).encode(), "m").source, NotARepository)
    data["source"] = {"state": "missing", "reason": "git is not installed"}
    source = parse_record(json.dumps(data).encode(), "m").source
    assert isinstance(source, Missing) and source.reason == "git is not installed"
    assert isinstance(make_record().source, GitSource)


def test_digest_changes_with_content() -> None:
    assert record_digest(make_record()) != record_digest(make_record(exit_code=1))


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda d: d["identity"].update(exit_code="zero"), "identity.exit_code", "valid integer"),
        (lambda d: d.update(schema_version="9.0"), "schema_version", "unsupported version '9.0'"),
        (lambda d: d.pop("schema_version"), "schema_version", "unsupported version None"),
        (lambda d: d.update(kind="something-else"), "kind", "expected 'auditor.run-record'"),
        (lambda d: d["identity"].update(started_at="2026-01-01T00:00:00"), "identity.started_at", "timezone"),
        (lambda d: d["source"].update(state="haunted"), "source", "tag"),
    ],
)
def test_bad_records_name_the_field(mutate, field: str, problem: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(dump_record(make_record()))
    mutate(data)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidRecordError) as info:
        load_record(path)
    assert info.value.field == field
    assert problem in info.value.problem
    assert str(path) in info.value.message


def test_bad_json_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text('{"schema_version": "1.0",\n  "kind": oops}')
    with pytest.raises(InvalidRecordError, match=r"record.json: not valid JSON \(line 2 column 11"):
        load_record(path)


def test_committed_schema_matches_the_models() -> None:
    if os.environ.get("AUDITOR_REGENERATE"):
        target = Path(__file__).resolve().parents[2] / "auditor" / "record" / "run-record.schema.json"
        target.write_text(schema_text())
    assert committed_schema_text() == schema_text(), (
        "the committed JSON Schema is stale: regenerate with AUDITOR_REGENERATE=1 ./dev test tests/record"
    )


def test_records_validate_against_the_committed_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")  # a declared test dependency, so present
    validator = jsonschema.Draft202012Validator(json.loads(committed_schema_text()))
    validator.validate(json.loads(dump_record(make_record())))
    bad = json.loads(dump_record(make_record()))
    bad["identity"]["status"] = "sort-of"
    assert list(validator.iter_errors(bad))
    assert generate_schema()["title"] == RunRecord.__name__


def test_errors_inside_a_variant_name_the_path_the_user_sees() -> None:
    data = json.loads(dump_record(make_record()))
    data["source"]["dirty"] = "maybe"
    with pytest.raises(InvalidRecordError) as info:
        parse_record(json.dumps(data).encode(), "r.json")
    assert info.value.field == "source.dirty"


def test_records_of_schema_1_0_still_load() -> None:
    data = json.loads(dump_record(make_record()))
    data["schema_version"] = "1.0"
    for key in ("lineage", "fairness", "params", "metrics"):
        data.pop(key)
    record = parse_record(json.dumps(data).encode(), "old.json")
    assert record.schema_version == "1.0" and isinstance(record.lineage, Missing) and record.metrics == ()
    assert record.lineage.reason == "record schema 1.0 predates lineage capture"  # see test_migrate.py
