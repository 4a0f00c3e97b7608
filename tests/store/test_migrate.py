"""Stores an earlier auditor wrote: refused by every reader and writer until `auditor store migrate`
moves them onto the log, explicitly; a record that changed since it was indexed is left out."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from auditor.record import dump_record
from tests.conftest import CliRunner, base_env, store_snapshot
from tests.factories import make_record

IDS = ["01JGZ0000000000000000000AA", "01JGZ0000000000000000000AB", "01JGZ1000000000000000000CC"]


def old_store(root: Path, *, index: bool) -> Path:
    """A store as the previous auditor left it (store.json version 1, STORE/index) or, without
    index, as an older one did (runs only)."""
    lines = []
    for run_id in IDS:
        folder = root / "runs" / run_id
        folder.mkdir(parents=True)
        raw = dump_record(make_record(run_id))
        (folder / "record.json").write_bytes(raw)
        (folder / "stdout.log").write_bytes(b"")
        lines.append(f"{run_id} {hashlib.sha256(raw).hexdigest()}\n")
    (root / "staging").mkdir()
    if index:
        (root / "store.json").write_text('{"format": "auditor-store", "version": 1}\n')
        (root / "index").write_text("".join(lines))
    return root


def errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("auditor: error:")]


@pytest.mark.parametrize("index", [True, False], ids=["index store", "older store"])
def test_an_earlier_store_is_refused_until_migrated(cli: CliRunner, tmp_path: Path, index: bool) -> None:
    store = old_store(tmp_path / "store", index=index)
    before = store_snapshot(store)
    why = (
        f"{store}: a run store of an earlier auditor (an index of digests, no log): run `auditor store migrate` to "
        "move it to the tamper-evident log"
        if index
        else f"{store}: a run store of an older auditor (no index, no log): its folders cannot be told from planted "
        "ones; run `auditor store migrate --adopt-unindexed` once you trust its runs"
    )
    env = base_env(AUDITOR_STORE=str(store), AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    for args in (("runs",), ("show", "latest"), ("check", "latest"), ("log", "head"), ("log", "verify"),
                 ("log", "prove", IDS[0]), ("run", "--", "touch", "ran")):  # fmt: skip
        done = cli(*args, cwd=tmp_path, env=env)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", f"auditor: error: {why}\n"), args
    assert not (tmp_path / "ran").exists()  # refused before anything ran
    assert store_snapshot(store) == before  # never migrated silently

    done = cli("store", "migrate", cwd=tmp_path, env=env)
    if not index:
        assert done.returncode == 2 and errors(done.stderr) == [
            f"auditor: error: {store}: a store of an older auditor (no index, no log): its folders cannot be told "
            "from planted ones; pass --adopt-unindexed to adopt them, once you trust its runs"
        ]
        done = cli("store", "migrate", "--adopt-unindexed", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    head = cli("log", "head", cwd=tmp_path, env=env).stdout.strip()
    assert head.startswith("3:") and done.stdout == f"migrated 3 runs; log head {head}\n"
    assert json.loads((store / "store.json").read_text()) == {"format": "auditor-store", "version": 2}
    assert not (store / "index").exists()
    listed = cli("runs", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and [json.loads(line)["run_id"] for line in listed.stdout.splitlines()] == IDS
    assert cli("log", "verify", cwd=tmp_path, env=env).returncode == 0
    done = cli("run", "--", "true", cwd=tmp_path, env=env)
    assert done.returncode == 0 and done.stderr.splitlines()[-1].startswith("auditor: log head 4:")
    again = cli("store", "migrate", cwd=tmp_path, env=env)
    assert again.returncode == 2 and errors(again.stderr) == [
        f"auditor: error: {store}: already keeps a log: nothing to migrate"
    ]


def test_a_tampered_index_store_migrates_what_verifies(cli: CliRunner, tmp_path: Path) -> None:
    store = old_store(tmp_path / "store", index=True)
    changed = store / "runs" / IDS[1] / "record.json"
    changed.write_bytes(changed.read_bytes().replace(b'"dirty": false', b'"dirty": true'))
    planted = store / "runs" / "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    shutil.copytree(store / "runs" / IDS[0], planted)  # a copy under another name: not a run
    named = store / "runs" / "7ZZZZZZZZZZZZZZZZZZZZZZZZY"
    named.mkdir()
    (named / "record.json").write_bytes(dump_record(make_record(named.name)))  # named by its own id, not indexed
    env = base_env(AUDITOR_STORE=str(store), AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    done = cli("store", "migrate", cwd=tmp_path, env=env)
    assert done.returncode == 4  # a record that changed since it was indexed
    actual = hashlib.sha256(changed.read_bytes()).hexdigest()
    assert errors(done.stderr) == [
        f"auditor: error: {changed}: changed since auditor recorded it (its sha256 is {actual}; the store's index "
        f"says {hashlib.sha256(dump_record(make_record(IDS[1]))).hexdigest()}): left out",
        f"auditor: error: {named}: not in the store's index (not a run auditor recorded; --adopt-unindexed adopts "
        "it): left out",
        f"auditor: error: {planted / 'record.json'}: field identity.run_id: refused: '{IDS[0]}' is not its run "
        "folder's name: left out",
    ]
    assert done.stdout.startswith("migrated 2 runs; log head 2:")
    shown = cli("show", IDS[1], cwd=tmp_path, env=env)
    assert shown.returncode == 4 and errors(shown.stderr) == [
        f"auditor: error: {store / 'runs' / IDS[1]}: not a run auditor recorded in this store: the store's log holds "
        "no record of it"
    ]
    assert cli("show", IDS[2], cwd=tmp_path, env=env).returncode == 0
    assert cli("log", "verify", cwd=tmp_path, env=env).returncode == 4  # the left-out folders are still there


def test_a_store_whose_log_was_removed_is_not_an_older_store(cli: CliRunner, tmp_path: Path) -> None:
    """Deleting the log does not turn a store into one `migrate --adopt-unindexed` would launder."""
    env = base_env(AUDITOR_STORE=str(tmp_path / "store"))
    assert cli("run", "--", "true", cwd=tmp_path, env=env).returncode == 0
    shutil.rmtree(tmp_path / "store" / "log")
    for args in (("runs",), ("run", "--", "touch", "ran"), ("store", "migrate", "--adopt-unindexed")):
        done = cli(*args, cwd=tmp_path, env=env)
        assert done.returncode == 4 and errors(done.stderr) == [
            f"auditor: error: {tmp_path / 'store' / 'log'}: missing: the store's log was removed (store.json says it "
            "keeps one)"
        ], args
    assert not (tmp_path / "ran").exists()
