"""An input the run left unchanged has its file list written once (schema 1.7): the dataset's `after`
says `same_files_as: "before"`, is written with an empty `files` list and reads back with before's list.
A record that misuses the marker is refused, naming the field; a 1.6 record with both lists reads as written."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.capture.lineage import build_lineage
from auditor.errors import InvalidRecordError
from auditor.project.spec import ProjectSpec
from auditor.record import dump_record, load_record, parse_record, record_digest
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash, Lineage, ModelArtifact
from auditor.record.migrate import upgraded_from
from auditor.record.models import Missing, RunRecord
from tests.factories import make_record
from tests.record.old_records import as_1_6

BEFORE = datetime(2026, 1, 2, 3, 4, 4, tzinfo=UTC)
AFTER = datetime(2026, 1, 2, 3, 4, 9, tzinfo=UTC)
FILES = tuple(FileHash(path=f"d/f{i:03d}.bin", sha256=f"{i:064x}", size=i + 1) for i in range(50))


def _tree(files: tuple[FileHash, ...], at: datetime) -> ContentHash:
    lines = b"".join(b"%s  %s\n" % (f.sha256.encode(), f.path.encode()) for f in files)
    total = sum(f.size for f in files)
    return ContentHash(kind="tree", sha256=hashlib.sha256(lines).hexdigest(), size=total, files=files, hashed_at=at)


def _lineage(before: ContentHash, after: ContentHash) -> Lineage:
    spec = ProjectSpec.model_validate(
        {"version": 1, "project": {"name": "demo"}, "datasets": [{"id": "corpus", "role": "input", "path": "data"}]}
    )
    return build_lineage(
        spec,
        spec_path="auditor.yaml",
        spec_sha256="c" * 64,
        run_id="01JGZ0000000000000000000AA",
        before={"corpus": before},
        after={"corpus": after},
        observation=Missing(reason="not observed"),
    )


def _record(lineage: Lineage) -> RunRecord:
    return make_record().model_copy(update={"lineage": lineage})


def _data(record: RunRecord) -> dict[str, Any]:
    return json.loads(dump_record(record))  # type: ignore[no-any-return]


def test_an_unchanged_input_is_written_once_and_read_back_whole(tmp_path: Path) -> None:
    record = _record(_lineage(_tree(FILES, BEFORE), _tree(tuple(f.model_copy() for f in FILES), AFTER)))
    dataset = record.lineage.datasets[0]  # type: ignore[union-attr]
    assert isinstance(dataset.after, ContentHash) and dataset.after.same_files_as == "before"
    assert dataset.after.files == FILES and dataset.after.hashed_at == AFTER
    written = _data(record)["lineage"]["datasets"][0]
    assert written["after"]["files"] == [] and written["after"]["same_files_as"] == "before"
    assert len(written["before"]["files"]) == len(FILES) and written["before"]["same_files_as"] is None

    path = tmp_path / "record.json"
    path.write_bytes(dump_record(record))
    loaded = load_record(path)
    again = loaded.lineage.datasets[0]  # type: ignore[union-attr]
    assert isinstance(again.after, ContentHash) and isinstance(again.before, ContentHash)
    assert again.after.files is again.before.files and again.after.files == FILES
    assert loaded == record and upgraded_from(loaded) is None
    assert dump_record(loaded) == path.read_bytes()  # canonical: round-trips byte for byte
    assert record_digest(loaded) == record_digest(record) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_changed_input_keeps_both_lists() -> None:
    changed = (*FILES[:-1], FILES[-1].model_copy(update={"sha256": "f" * 64}))
    record = _record(_lineage(_tree(FILES, BEFORE), _tree(changed, AFTER)))
    written = _data(record)["lineage"]["datasets"][0]
    assert written["after"]["same_files_as"] is None
    assert [f["sha256"] for f in written["after"]["files"]] == [f.sha256 for f in changed]


def test_a_1_6_record_with_both_lists_reads_as_written() -> None:
    record = _record(_lineage(_tree(FILES, BEFORE), _tree(FILES, AFTER)))
    old = as_1_6(_data(record))
    assert old["lineage"]["datasets"][0]["after"]["files"] == old["lineage"]["datasets"][0]["before"]["files"]
    raw = json.dumps(old, indent=1).encode()
    loaded = parse_record(raw, "old.json")
    dataset = loaded.lineage.datasets[0]  # type: ignore[union-attr]
    assert upgraded_from(loaded) == "1.6" and record_digest(loaded) == hashlib.sha256(raw).hexdigest()
    assert isinstance(dataset.after, ContentHash) and dataset.after.same_files_as is None
    assert dataset.after.files == FILES == dataset.before.files  # type: ignore[union-attr]
    shown = dump_record(loaded)  # `auditor show --json`: the after list stays as written
    assert len(json.loads(shown)["lineage"]["datasets"][0]["after"]["files"]) == len(FILES)
    assert parse_record(shown, "shown.json") == loaded


def _misuse(change: Any) -> dict[str, Any]:
    data = _data(_record(_lineage(_tree(FILES, BEFORE), _tree(FILES, AFTER))))
    change(data["lineage"]["datasets"][0], data["lineage"])
    return data


def _set(where: dict[str, Any], key: str, value: Any) -> None:
    where[key] = value


MISUSES = {
    "another hash": lambda d, _: _set(d["after"], "sha256", "0" * 64),
    "another size": lambda d, _: _set(d["after"], "size", 1),
    "another kind": lambda d, _: _set(d["after"], "kind", "file"),
    "a list of its own": lambda d, _: _set(d["after"], "files", d["before"]["files"][:1]),
    "no before hash": lambda d, _: _set(d, "before", None),
    "a missing before": lambda d, _: _set(d, "before", {"state": "missing", "reason": "x"}),
    "on before": lambda d, _: _set(d["before"], "same_files_as", "before"),
    "another name": lambda d, _: _set(d["after"], "same_files_as", "after"),
    "on a model": lambda d, lineage: _set(
        lineage, "models", [{"id": "m", "path": "m.bin", "after": copy.deepcopy(d["after"]), "annotations": {}}]
    ),
}


@pytest.mark.parametrize("misuse", sorted(MISUSES))
def test_a_misused_marker_is_refused_naming_the_field(misuse: str, tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(_misuse(MISUSES[misuse]), indent=2))
    with pytest.raises(InvalidRecordError) as info:
        load_record(path)
    message = info.value.message
    assert message.startswith(f"{path}: field lineage.") and "\n" not in message
    assert "same_files_as" in message or "files" in message


def test_the_models_refuse_the_marker_where_it_names_nothing() -> None:
    marked = _tree(FILES, AFTER).model_copy(update={"same_files_as": "before"})
    with pytest.raises(ValueError, match="a model has no 'before'"):
        ModelArtifact(id="m", path="m.bin", after=marked)
    with pytest.raises(ValueError, match="names no list of files"):
        Dataset(id="x", role="output", path="out", datasheet=Datasheet(), after=marked)
    other = _tree(FILES[:3], BEFORE)
    with pytest.raises(ValueError, match="another hash"):
        Dataset(id="x", role="input", path="in", datasheet=Datasheet(), before=other, after=marked)
