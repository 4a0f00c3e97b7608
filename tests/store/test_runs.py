from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from auditor.errors import EvidenceError, RunNotFoundError, StoreError, StoreWriteError
from auditor.files import write_atomic
from auditor.record import dump_record
from auditor.store.runs import RunStore, default_store_path
from tests.factories import make_record

IDS = ["01JGZ0000000000000000000AA", "01JGZ0000000000000000000AB", "01JGZ1000000000000000000CC"]


def _commit(store: RunStore, run_id: str) -> None:
    staging = store.begin(run_id)
    (staging.path / "stdout.log").write_bytes(b"")
    store.commit(staging, make_record(run_id))


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.create(tmp_path / "store")
    for run_id in IDS:
        _commit(s, run_id)
    return s


def test_layout_and_salt(tmp_path: Path) -> None:
    s = RunStore.create(tmp_path / "st")
    assert json.loads((s.root / "store.json").read_text()) == {"format": "auditor-store", "version": 2}
    assert stat.S_IMODE((s.root / "salt").stat().st_mode) == 0o600
    assert len(s.salt()) == 32
    assert RunStore.create(tmp_path / "st").salt() == s.salt()  # idempotent
    assert (s.root / ".gitignore").read_text().splitlines()[-1] == "*"


def test_concurrent_creation_agrees_on_one_salt(tmp_path: Path) -> None:
    salts: list[bytes] = []

    def create() -> None:
        salts.append(RunStore.create(tmp_path / "race").salt())

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(salts)) == 1 and len(salts[0]) == 32


def test_committed_runs_are_listed_in_order(store: RunStore) -> None:
    assert store.run_ids() == IDS
    assert store.load(IDS[0]) == make_record(IDS[0])
    assert (store.runs_dir / IDS[0] / "record.json").read_bytes() == dump_record(make_record(IDS[0]))


def test_staged_runs_are_invisible_until_committed(store: RunStore) -> None:
    staging = store.begin("01JGZ2000000000000000000DD")
    (staging.path / "stdout.log").write_bytes(b"partial")
    assert store.run_ids() == IDS
    store.discard(staging)
    assert not staging.path.exists()


@pytest.mark.parametrize(
    ("ref", "expected"),
    [("latest", IDS[2]), (IDS[1], IDS[1]), ("01jgz1", IDS[2]), ("01JGZ0000000000000000000AB", IDS[1])],
)
def test_resolve(store: RunStore, ref: str, expected: str) -> None:
    assert store.resolve(ref) == expected


def test_ambiguous_prefix_lists_candidates(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match=r"'01JGZ0' is ambiguous: 2 runs match \(01JGZ0000000000000000000AA, "):
        store.resolve("01JGZ0")


def test_unknown_run_lists_recent_ones(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match=r"no run matches 'ZZZ'.*most recent: 01JGZ1000000000000000000CC"):
        store.resolve("ZZZ")


def test_empty_and_absent_stores(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match="no runs yet"):
        RunStore.create(tmp_path / "empty").resolve("latest")
    with pytest.raises(StoreError, match="no run store here"):
        RunStore.open(tmp_path / "nowhere")


def test_unwritable_store_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the run store"):
        RunStore.create(blocker / "store")


def test_corrupt_record_is_reported_not_fatal_for_listing(store: RunStore) -> None:
    bad = store.record_path(IDS[1])
    bad.write_text("{ half a record")
    entries = list(store.iter_records())
    assert [type(e).__name__ for e in entries] == ["RunRecord", "EvidenceError", "RunRecord"]
    with pytest.raises(EvidenceError, match=f"^{bad}: changed since auditor recorded it: its sha256 is "):
        store.load(IDS[1])


def test_write_atomic_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_atomic(target, b"1")
    write_atomic(target, b"2")
    assert target.read_bytes() == b"2"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_default_store_path(tmp_path: Path) -> None:
    assert default_store_path(tmp_path, {}) == tmp_path / ".auditor"
    assert default_store_path(tmp_path, {"AUDITOR_STORE": "/elsewhere"}) == Path("/elsewhere")


def test_a_record_the_store_refuses_never_reaches_runs(tmp_path: Path) -> None:
    """A real refusal (a folder where record.json goes: rename gives EISDIR) is exit 74, naming
    the store and why, and runs/ holds nothing: the staging folder is the caller's to discard."""
    s = RunStore.create(tmp_path / "st")
    staging = s.begin(IDS[0])
    (staging.path / "record.json").mkdir()
    with pytest.raises(StoreWriteError) as caught:
        s.commit(staging, make_record(IDS[0]))
    assert caught.value.exit_code == 74
    assert caught.value.message == f"{s.root}: run {IDS[0]} could not be recorded (Is a directory)"
    assert list(s.runs_dir.iterdir()) == []
    assert [p.name for p in staging.path.iterdir()] == ["record.json"]  # no temporary file left either


def test_a_record_json_left_in_staging_is_replaced_never_followed(tmp_path: Path) -> None:
    """The command auditor observes can write into staging/ (it is the same user): a record.json
    it left there is replaced by the record, and one that is a link is not followed."""
    s = RunStore.create(tmp_path / "st")
    outside = tmp_path / "outside.json"
    outside.write_bytes(b"keep")
    linked, planted = s.begin(IDS[0]), s.begin(IDS[1])
    (linked.path / "record.json").symlink_to(outside)
    (planted.path / "record.json").write_bytes(b'{"identity": {"run_id": "someone else"}}')
    (planted.path / "stdout.log").write_bytes(b"out")
    s.commit(linked, make_record(IDS[0]))
    s.commit_many([(planted, make_record(IDS[1]))])
    assert outside.read_bytes() == b"keep"
    assert [s.load(run_id) for run_id in IDS[:2]] == [make_record(IDS[0]), make_record(IDS[1])]
    assert (s.runs_dir / IDS[1] / "stdout.log").read_bytes() == b"out"
