"""What counts as new evidence when a source run is read again (auditor/ingest/store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.ingest.dvc.reader import read
from auditor.ingest.ingested import build_record
from auditor.ingest.store import Earlier, cleaned, evidence_digest, latest
from auditor.record.models import Links
from tests.ingest.test_dvc import copy_of, only, pipeline


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline(tmp_path_factory)


def digest(path: Path, *, rehash: bool) -> tuple[str, str]:
    record = cleaned(build_record(only(read(path, rehash=rehash))))
    return record.identity.run_id, evidence_digest(record.model_dump(mode="json"))


def test_the_same_read_has_the_same_digest_whatever_the_ids_and_hashing_times(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    first_id, first = digest(work, rehash=True)
    second_id, second = digest(work, rehash=True)  # new run id, new hashed_at
    assert first_id != second_id and first == second
    record = cleaned(build_record(only(read(work, rehash=True))))
    linked = record.model_copy(update={"links": Links(reingests=first_id)})
    assert evidence_digest(linked.model_dump(mode="json")) == first  # the link is not evidence


def test_a_different_read_has_another_digest(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    _, plain = digest(work, rehash=False)
    _, rehashed = digest(work, rehash=True)
    assert plain != rehashed
    (work / "data" / "raw.csv").write_bytes(b"id,label\n9,9\n")
    _, changed = digest(work, rehash=True)
    assert changed not in (plain, rehashed)


def test_the_latest_ingest_is_the_head_of_the_chain() -> None:
    chain = [Earlier("B", "A"), Earlier("A", None), Earlier("C", "B")]  # as the store lists them
    assert latest(chain).run_id == "C"
    assert latest([Earlier("A", None)]).run_id == "A"
