"""The record's JSON as auditor reads and writes it: what is refused as ambiguous, what round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.errors import InvalidRecordError
from auditor.record.io import dump_record, parse_record
from auditor.store.runs import RunStore
from tests.conftest import CliRunner
from tests.factories import make_record


def test_a_lone_surrogate_read_from_json_is_written_back_as_its_escape(cli: CliRunner, tmp_path: Path) -> None:
    """Found by fuzzing: JSON may escape a lone surrogate ("\\ud800"), which has no UTF-8 form, so
    writing such a record back (`show --json`, the store) crashed with exit 70."""
    text = dump_record(make_record()).decode().replace('"project": "demo"', '"project": "de\\ud800mo"')
    record = parse_record(text.encode(), "record.json")
    assert record.identity.project == "de\ud800mo"
    written = dump_record(record)
    assert b'"project": "de\\ud800mo"' in written and written.decode("utf-8")
    assert parse_record(written, "again.json") == record
    emoji = make_record(project="caf\u00e9 \U0001f600")  # every other character is written as itself
    assert "caf\u00e9 \U0001f600".encode() in dump_record(emoji)
    store = RunStore.create(tmp_path / "store")  # committed as auditor commits runs: the escape on disk
    store.commit(store.begin(record.identity.run_id), record)
    assert b"de\\ud800mo" in store.record_path(record.identity.run_id).read_bytes()
    done = cli("show", "latest", "--store", str(tmp_path / "store"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identity"]["project"] == "de\ud800mo"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ('"exit_code": 0, "exit_code": 1', "the key 'exit_code' appears twice in one object"),
        ('"exit_code": NaN', "NaN is not a JSON number"),
        ('"exit_code": -Infinity', "-Infinity is not a JSON number"),
    ],
)
def test_ambiguous_json_is_refused(change: str, problem: str) -> None:
    text = dump_record(make_record()).decode().replace('"exit_code": 0', change, 1)
    with pytest.raises(InvalidRecordError) as caught:
        parse_record(text.encode(), "record.json")
    assert caught.value.message.startswith(f"record.json: {problem}")


def test_a_key_holding_a_lone_surrogate_reads_back_as_itself() -> None:
    """Found by fuzzing: such a key loaded as it was, but pydantic writes a key's lone surrogate as
    U+FFFD, so the record did not read back as itself. It is read as U+FFFD at once; two keys that
    differ only there are one key twice, refused."""
    text = dump_record(make_record()).decode().replace('"params": {}', '"params": {"lr\\ud800": 1}')
    assert "lr\\ud800" in text
    record = parse_record(text.encode(), "record.json")
    assert record.params == {"lr\ufffd": 1}
    assert parse_record(dump_record(record), "again.json") == record
    twice = text.replace('"lr\\ud800": 1', '"lr\\ud800": 1, "lr\\udfff": 2')
    with pytest.raises(InvalidRecordError, match="the key 'lr\ufffd' appears twice in one object"):
        parse_record(twice.encode(), "record.json")


@pytest.mark.parametrize("text", ['"1E310"', '"inf"', '"-Infinity"', '"nan"'])
def test_a_float_given_as_text_that_is_no_number_is_refused(text: str) -> None:
    """Found by fuzzing: "1E310" in a float field validated to infinity (pydantic reads numbers from
    text), which JSON cannot hold and a threshold would compare with: a fairness value of -inf
    passes `<= 0.1`."""
    raw = dump_record(make_record()).decode().replace('"duration_s": 60.0', f'"duration_s": {text}', 1)
    with pytest.raises(InvalidRecordError) as caught:
        parse_record(raw.encode(), "record.json")
    assert caught.value.message == "record.json: field identity.duration_s: Input should be a finite number"


def test_a_record_reads_as_pydantic_reads_its_json_text() -> None:
    """parse_record validates the data of its one strict JSON parse (faster than pydantic parsing the
    bytes a second time): the model, and the bytes written back, are those validating the text gives."""
    from auditor.record.models import RunRecord
    from tests.fuzz.seeds import record_json
    from tests.record.old_records import full_record

    texts = [dump_record(make_record()), dump_record(full_record()), json.dumps(record_json()).encode()]
    for raw in texts:
        expected = RunRecord.model_validate_json(raw)
        read = parse_record(raw, "record.json")
        assert read == expected
        assert dump_record(read) == dump_record(expected)
