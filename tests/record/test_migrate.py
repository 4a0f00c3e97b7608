"""Older records upgraded once, at load: explicit gaps, the file untouched, errors that name the field."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from auditor.errors import EXIT_USAGE, InvalidRecordError
from auditor.record import dump_record, load_record, parse_record, record_digest
from auditor.record.io import union_tags
from auditor.record.lineage import Lineage
from auditor.record.migrate import READABLE, STEPS, upgrade, upgraded_from
from auditor.record.models import (
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    DeclaredRequirements,
    Missing,
    RunRecord,
)
from auditor.record.schema import committed_schema_text
from tests.record.old_records import Data, current_data, full_record, older

OLDER = ("1.0", "1.1-early", "1.1", "1.2", "1.3")


def _write(path: Path, data: Data) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path


def _version(label: str) -> str:
    return label.removesuffix("-early")


def test_a_1_4_record_reads_with_the_1_5_fields_at_their_defaults(tmp_path: Path) -> None:
    record = load_record(_write(tmp_path / "record.json", older("1.4")))
    assert record.schema_version == "1.4" and upgraded_from(record) == "1.4"
    full = full_record()
    assert record.identity.time_basis is None and record.identity.time_note is None
    assert record.links.reingests is None
    assert isinstance(record.lineage, Lineage) and record.lineage.unmatched == ()
    assert all(d.assertions == () for d in record.lineage.datasets)
    unset = {"time_basis": None, "time_note": None}
    assert record.identity == full.identity.model_copy(update=unset)


@pytest.mark.parametrize("label", OLDER)
def test_older_records_load_in_the_current_shape(label: str, tmp_path: Path) -> None:
    record = load_record(_write(tmp_path / "record.json", older(label)))
    version = _version(label)
    assert record.schema_version == version and upgraded_from(record) == version  # kept as written
    assert record.container is None and record.tags == {} and record.reproduction is None
    full = full_record()
    assert record.governance == Missing(reason=f"record schema {version} predates capture of the governance section")
    assert record.model_card == Missing(reason=f"record schema {version} predates model card capture")
    if version != "1.0":  # a 1.0 record has no lineage; a tabular dataset's profile says why it is absent
        assert isinstance(record.lineage, Lineage)
        assert {d.id: d.profile for d in record.lineage.datasets} == {
            d.id: Missing(reason=f"record schema {version} predates data profiles") for d in record.lineage.datasets
        }
    if version == "1.3":
        assert record.tags == {} and record.origin.not_captured == ()
        return
    assert record.origin.not_captured == ()
    if version == "1.0":
        assert record.lineage == Missing(reason="record schema 1.0 predates lineage capture")
        assert record.fairness == Missing(reason="record schema 1.0 predates fairness capture")
        assert record.params == {} and record.metrics == ()
    else:
        assert isinstance(record.lineage, Lineage)
        unprofiled = tuple(d.model_copy(update={"profile": None}) for d in record.lineage.datasets)
        assert record.lineage.model_copy(update={"datasets": unprofiled}) == full.lineage
        assert record.fairness == full.fairness and record.params == {"seed": 42} and record.metrics == full.metrics
    if label in ("1.0", "1.1-early"):
        declared = record.environment.declared
        assert isinstance(declared, Missing)
        assert declared.reason == (
            f"the auditor that wrote this record (schema {version}) predates capture of declared requirements"
        )
        assert record.outputs.notes == (
            f"the auditor that wrote this record (schema {version}) kept no notes on incomplete logs",
        )
    else:
        assert isinstance(record.environment.declared, DeclaredRequirements) and record.outputs.notes == ()


@pytest.mark.parametrize("label", OLDER)
def test_an_upgraded_record_is_a_valid_current_record(label: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    record = parse_record(json.dumps(older(label)).encode(), "old.json")
    shown = dump_record(record)  # what `auditor show --json` prints
    jsonschema.Draft202012Validator(json.loads(committed_schema_text())).validate(json.loads(shown))
    assert set(json.loads(shown)) == set(json.loads(dump_record(full_record())))
    again = parse_record(shown, "shown.json")  # upgrading is idempotent: nothing absent the second time
    assert again == record and dump_record(again) == shown


def test_a_1_2_container_section_gets_its_gaps_named() -> None:
    data = older("1.2")  # no 1.2 auditor ran containers; another tool could have written one
    data["container"] = {
        "image_ref": "python:3.11",
        "image_id": "sha256:" + "e" * 64,
        "repo_digests": [],
        "engine": "Docker Engine",
        "engine_version": "27.0",
    }
    record = parse_record(json.dumps(data).encode(), "c.json")
    assert record.container is not None
    assert record.container.system_packages == Missing(
        reason="record schema 1.2 predates capture of the image's OS packages"
    )
    assert record.container.config is None and record.container.platform is None  # shown as "not recorded"


def test_upgrading_never_changes_the_data_it_is_given() -> None:
    data = older("1.0")
    before = copy.deepcopy(data)
    upgraded = upgrade(data)
    assert data == before and upgraded != before and upgraded["schema_version"] == "1.0"
    current = current_data()
    assert upgrade(current) is current


@pytest.mark.parametrize("label", OLDER)
def test_loading_never_modifies_the_file(label: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "record.json", older(label))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_size)
    record = load_record(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_size) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
    assert record_digest(record) == hashlib.sha256(before[0]).hexdigest()  # the file's digest, not the upgraded form's


def test_a_current_record_round_trips_byte_for_byte(tmp_path: Path) -> None:
    record = full_record()
    path = tmp_path / "record.json"
    path.write_bytes(dump_record(record))
    loaded = load_record(path)
    assert loaded == record and upgraded_from(loaded) is None
    assert dump_record(loaded) == path.read_bytes()
    assert record_digest(loaded) == record_digest(record) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_changed_copy_of_a_read_record_has_its_own_digest(tmp_path: Path) -> None:
    record = load_record(_write(tmp_path / "record.json", older("1.0")))
    changed = record.model_copy(update={"params": {"seed": 1}})
    assert record_digest(changed) == hashlib.sha256(dump_record(changed)).hexdigest() != record_digest(record)


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("1.8", "written by a newer auditor"),
        ("2.0", "written by a newer auditor"),
        ("1.10", "written by a newer auditor"),
        ("0.9", "not a released record schema"),
        ("1.2.1", "not a released record schema"),
        ("1.3 ", "not a released record schema"),
        (1.3, "not a released record schema"),
        (["1.3"], "not a released record schema"),
        ({"major": 1}, "not a released record schema"),
        ("v" * 500, "not a released record schema"),
        (None, "the record names no version"),
    ],
)
def test_unknown_versions_are_refused_naming_file_and_field(version: Any, why: str, tmp_path: Path) -> None:
    data = current_data()
    data["schema_version"] = version
    path = _write(tmp_path / "record.json", data)
    with pytest.raises(InvalidRecordError) as info:
        load_record(path)
    error = info.value
    assert error.field == "schema_version" and error.exit_code == EXIT_USAGE
    assert error.message.startswith(f"{path}: field schema_version: unsupported version ")
    assert why in error.message and "this auditor reads 1.0, 1.1, 1.2, 1.3" in error.message
    assert "\n" not in error.message and len(error.message) < len(str(path)) + 200


def test_the_migrations_cover_exactly_the_versions_the_model_reads() -> None:
    model_versions = typing.get_args(RunRecord.model_fields["schema_version"].annotation)
    assert set(model_versions) == SUPPORTED_SCHEMA_VERSIONS == set(READABLE)
    assert READABLE[-1] == SCHEMA_VERSION
    assert sorted(READABLE, key=lambda v: tuple(int(n) for n in v.split("."))) == list(READABLE)  # oldest first
    assert [(s.source, s.target) for s in STEPS] == list(itertools.pairwise(READABLE))
    assert RunRecord.model_fields["schema_version"].default == SCHEMA_VERSION


# --- the union tags io.py knows, against two independent readings of the models -----------------


def _members(annotation: Any, discriminated: bool = False) -> list[tuple[Any, bool]]:
    """Every type inside an annotation (unions, Annotated, tuples, dicts, optionals), and whether it
    is a variant of a union with a discriminator."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return _members(inner, discriminated or any(getattr(m, "discriminator", None) for m in metadata))
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _members(arg, discriminated)]
    if origin in (tuple, dict, list):
        return [t for arg in typing.get_args(annotation) for t in _members(arg)]
    return [(annotation, discriminated)]


def _tags_in_models() -> set[str]:
    """Walk the models by their annotations: the literal `state` of each variant of a discriminated union."""
    tags: set[str] = set()
    seen: set[type] = set()
    pending: list[type[BaseModel]] = [RunRecord]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in model.model_fields.values():
            for member, discriminated in _members(field.annotation, field.discriminator is not None):
                if isinstance(member, type) and issubclass(member, BaseModel):
                    pending.append(member)
                    if discriminated:
                        tags.update(typing.get_args(member.model_fields["state"].annotation))
    return tags


def _tags_in_committed_schema() -> set[str]:
    tags: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            tags.update(node.get("discriminator", {}).get("mapping", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(committed_schema_text()))
    return tags


def test_io_knows_every_union_tag_of_the_models() -> None:
    in_models = _tags_in_models()
    assert {"reported", "identity_hint", "not_a_repository", "none_detected", "hashed", "absent"} <= in_models
    assert in_models == _tags_in_committed_schema()
    missing = in_models - union_tags()
    assert not missing, f"io.py does not know the union tags {sorted(missing)}: errors would name the wrong field"


def test_union_tags_are_known_before_any_record_is_validated() -> None:
    """The models defer their build (base.py): a fresh process that asks for the tags first still gets them all."""
    import subprocess
    import sys

    script = "from auditor.record.io import union_tags; print(' '.join(sorted(union_tags())))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == sorted(union_tags())
    assert "identity_hint" in done.stdout.split()


# --- errors name the field as the user wrote it ----------------------------------------------


def _error(data: Data, tmp_path: Path) -> InvalidRecordError:
    with pytest.raises(InvalidRecordError) as info:
        load_record(_write(tmp_path / "record.json", data))
    return info.value


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"state": "reported"}, "source.tool"),
        ({"state": "reported", "tool": 7}, "source.tool"),
        ({"state": "reported", "tool": "mlflow", "surprise": 1}, "source.surprise"),
    ],
)
def test_a_bad_reported_source_names_its_field(source: Data, field: str, tmp_path: Path) -> None:
    data = current_data()
    data["source"] = source
    assert _error(data, tmp_path).field == field


@pytest.mark.parametrize(
    ("label", "where"),
    [("current", "before"), ("current", "after"), ("1.2", "before")],
)
def test_a_bad_identity_hint_names_its_field(label: str, where: str, tmp_path: Path) -> None:
    data = current_data() if label == "current" else older(label)
    hint = {"state": "identity_hint", "tool": "dvc", "algorithm": "md5", "meaning": "m"}  # no value
    data["lineage"]["datasets"][0][where] = hint
    error = _error(data, tmp_path)
    assert error.field == f"lineage.datasets.0.{where}.value" and "Field required" in error.problem


def test_a_key_spelt_like_a_tag_is_kept_in_the_field(tmp_path: Path) -> None:
    data = current_data()
    data["params"] = {"missing": ["not", "a", "scalar"]}
    assert (_error(data, tmp_path).field or "").startswith("params.missing.")
    data = current_data()
    data["lineage"]["annotations"] = {"x": 1}
    assert _error(data, tmp_path).field == "lineage.annotations"
