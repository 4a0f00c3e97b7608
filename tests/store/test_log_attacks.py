"""Attacks a review found on the log: each must be refused, never repaired into a lie."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from auditor.errors import EvidenceError, UsageError
from auditor.store.log import HEADS, OFFSET, OFFSETS
from auditor.store.proofs import LogHead
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

RUNS = ("01JGZ0000000000000000000AA", "01JGZ0000000000000000000AB")


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "store")
    for run_id in RUNS:
        store.commit(store.begin(run_id), make_record(run_id))
    return store


def test_a_sign_off_entry_edited_in_place_is_not_believed(cli: CliRunner, tmp_path: Path, store: RunStore) -> None:
    done = cli(
        "approve", RUNS[0], "--store", "store", "--decision", "reject", "--role", "r", "--comment", "do not ship",
        "--name", "Ada", cwd=tmp_path, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (path,) = (store.root / "signoffs" / RUNS[0]).glob("*.json")
    old = path.read_bytes()
    forged = json.dumps(json.loads(old) | {"decision": "approve"}, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(forged)
    entries = store.root / "log" / "entries"
    edited = entries.read_bytes().replace(
        hashlib.sha256(old).hexdigest().encode(), hashlib.sha256(forged).hexdigest().encode()
    )
    entries.write_bytes(edited)  # same length: heads and level files untouched
    done = cli("report", RUNS[0], "--store", "store", "--format", "html", "-o", "out", cwd=tmp_path, env=base_env())
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "dossier.html").read_text()
    assert "0 of 1 sign-off covers" in html and "the log&#39;s tree holds" in html


def test_a_removed_head_line_never_makes_a_writer_cut_a_committed_run(store: RunStore) -> None:
    heads = store.root / "log" / HEADS
    heads.write_bytes(heads.read_bytes().rsplit(b"\n", 2)[0] + b"\n")  # the last head gone
    with pytest.raises(EvidenceError, match=f"run {RUNS[1]}.*a head was removed"):
        store.commit(store.begin("01JGZ0000000000000000000AC"), make_record("01JGZ0000000000000000000AC"))
    assert (store.root / "runs" / RUNS[1]).is_dir()
    assert RUNS[1].encode() in (store.root / "log" / "entries").read_bytes()


def test_an_edited_offset_never_makes_a_writer_cut_a_committed_entry(store: RunStore) -> None:
    offsets = store.root / "log" / OFFSETS
    data = offsets.read_bytes()
    previous = OFFSET.unpack(data[-16:-8])[0]
    offsets.write_bytes(data[:-8] + OFFSET.pack(previous))  # the last entry "ends" where the one before ends
    before = (store.root / "log" / "entries").read_bytes()
    with pytest.raises(EvidenceError):
        store.commit(store.begin("01JGZ0000000000000000000AC"), make_record("01JGZ0000000000000000000AC"))
    assert (store.root / "log" / "entries").read_bytes() == before


def test_garbage_after_the_last_head_is_not_the_empty_log(cli: CliRunner, tmp_path: Path, store: RunStore) -> None:
    heads = store.root / "log" / HEADS
    heads.write_bytes(heads.read_bytes() + b"x" * 5000)
    for args in (("log", "head"), ("log", "verify"), ("show", RUNS[0])):
        done = cli(*args, "--store", "store", cwd=tmp_path, env=base_env())
        assert done.returncode == 4, (args, done.stdout, done.stderr)
        assert "no log head" in done.stderr


@pytest.mark.parametrize("size", ["²", "١", "1\u0661"])
def test_a_head_size_is_ascii_digits(size: str) -> None:
    with pytest.raises(UsageError, match="is not a log head"):
        LogHead.parse(f"{size}:{'a' * 64}")


def test_a_leftover_migration_file_is_one_line(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "runs").mkdir(parents=True)
    (root / "store.json").write_text('{"format": "auditor-store", "version": 1}\n')
    (root / "index").write_text("")
    (root / "log.new").write_text("not a folder")
    done = cli("store", "migrate", "--store", "store", cwd=tmp_path, env=base_env())
    assert done.returncode == 2 and "log.new: not the folder an interrupted migration leaves" in done.stderr


def test_log_verify_checks_sign_offs_too(cli: CliRunner, tmp_path: Path, store: RunStore) -> None:
    done = cli(
        "approve", RUNS[0], "--store", "store", "--decision", "approve", "--role", "r", "--comment", "c",
        "--name", "Ada", cwd=tmp_path, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert cli("log", "verify", "--store", "store", cwd=tmp_path, env=base_env()).returncode == 0
    (path,) = (store.root / "signoffs" / RUNS[0]).glob("*.json")
    path.write_bytes(path.read_bytes().replace(b'"approve"', b'"reject"'))
    done = cli("log", "verify", "--store", "store", cwd=tmp_path, env=base_env())
    assert done.returncode == 4 and f"{path.name}: changed since it was recorded" in done.stderr
