"""One run's question answered from the log by byte searches, not by parsing every entry (`show`,
`report`'s sign-offs and notes, `latest`): the searches must find every entry of the run that a
parse of the whole log finds, however the entry spells the run's id, and neither a second record
entry, a lying offsets file nor a lying run index may make a changed record pass."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.errors import EvidenceError
from auditor.store.log import OFFSET
from auditor.store.notes import notes_of
from auditor.store.runs import SETTLED_NS, RunStore, record_entry
from auditor.store.signoffs import stored_signoffs
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

RUN = "01JGZ0000000000000000000AA"
OTHER = "01JGZ0000000000000000000BB"
LATER = "01JGZ0000000000000000000CC"


def _escaped(run_id: str) -> str:
    """run_id's first character as a JSON \\u escape: the same string to a JSON reader."""
    return f"\\u{ord(run_id[0]):04x}{run_id[1:]}"


def _as_written(entry: dict[str, object]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def _escaped_line(entry: dict[str, object]) -> bytes:
    run_id = str(entry["run_id"])
    return _as_written(entry).replace(json.dumps(run_id).encode(), f'"{_escaped(run_id)}"'.encode())


def _utf16_line(entry: dict[str, object]) -> bytes:
    line = _as_written(entry).decode().encode("utf-16-le")  # json.loads reads UTF-16 from bytes too
    assert b"\n" not in line and RUN.encode() not in line and b"\\" not in line
    return line


SPELLINGS: dict[str, Callable[[dict[str, object]], bytes]] = {
    "as written": _as_written,
    "escaped": _escaped_line,
    "utf-16": _utf16_line,
}


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "store")
    for run_id in (RUN, OTHER):
        store.commit(store.begin(run_id), make_record(run_id))
    return store


def _append(store: RunStore, line: bytes) -> None:
    """An entry appended the way auditor appends one (its leaf, level hashes and a new head)."""
    assert json.loads(line)["run_id"] == RUN
    with store.locked():
        store.log.append(line)


def _forge(store: RunStore) -> str:
    """RUN's record.json changed; the SHA-256 of its new bytes."""
    path = store.record_path(RUN)
    data = path.read_bytes().replace(b'"demo"', b'"forged"', 1)
    assert data != path.read_bytes()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _show(cli: CliRunner, store: RunStore, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("show", RUN, "--store", str(store.root), *args, cwd=store.root.parent, env=base_env())


def _errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("auditor: error:")]


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_second_record_entry_is_refused_however_it_spells_the_run(
    cli: CliRunner, store: RunStore, spelling: str
) -> None:
    digest = _forge(store)
    _append(store, SPELLINGS[spelling]({"kind": "record", "run_id": RUN, "sha256": digest, "v": 1}))
    searched, parsed = RunStore.open(store.root)._view(), RunStore.open(store.root)._view()
    assert searched is not None and parsed is not None
    assert [e.index for e in searched.record_entries(RUN)] == [e.index for e in parsed.records()[RUN]] == [0, 2]
    done = _show(cli, store)
    assert done.returncode == 4, done.stderr
    [line] = _errors(done)
    assert f"run {RUN} is recorded more than once, with different records (entries 0, 2)" in line
    assert done.stdout == ""


def test_a_lying_offsets_file_never_hides_a_second_record_entry(cli: CliRunner, store: RunStore) -> None:
    """`offsets` says where each entry ends; it is no evidence: edited to put every entry after the
    first at the end of the file (as if the log held one entry), the second record entry is still
    found, by the entries themselves."""
    digest = _forge(store)
    _append(store, record_entry(RUN, digest))
    offsets = store.log.path("offsets")
    size = (store.log.path("entries")).stat().st_size
    first_end = OFFSET.unpack(offsets.read_bytes()[:8])[0]
    offsets.write_bytes(OFFSET.pack(first_end) + OFFSET.pack(size) * 2)
    done = _show(cli, store)
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    [line] = _errors(done)
    assert f"run {RUN} is recorded more than once, with different records (entries 0, 2)" in line


def test_a_lying_run_index_never_vouches_for_a_changed_record(cli: CliRunner, store: RunStore) -> None:
    """The run index maps runs to digests and entries, and anyone who can write the store can edit
    it: show takes the digest from the log's entry, never from there."""
    assert _show(cli, store).returncode == 0  # the index built
    digest = _forge(store)
    with sqlite3.connect(store.root / "index.sqlite") as db:
        changed = db.execute("UPDATE auditor_runs SET record_sha256 = ? WHERE run_id = ?", (digest, RUN)).rowcount
    assert changed == 1
    done = _show(cli, store)
    assert done.returncode == 4, done.stderr
    [line] = _errors(done)
    assert f"{store.record_path(RUN)}: changed since auditor recorded it: its sha256 is {digest}" in line


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_sign_offs_and_notes_are_found_however_their_entries_spell_the_run(store: RunStore, spelling: str) -> None:
    """report's sign-offs and notes of one run come from a byte search of the log: an entry naming
    the run in another spelling is found as a parse of every entry finds it (here: logged, its file
    gone)."""
    signoff_id, note_id = "01JGZ00000000000000000SIGN", "01JGZ00000000000000000NOTE"
    _append(
        store,
        SPELLINGS[spelling]({"kind": "signoff", "run_id": RUN, "signoff_id": signoff_id, "sha256": "0" * 64, "v": 1}),
    )
    _append(store, SPELLINGS[spelling]({"kind": "note", "run_id": RUN, "note_id": note_id, "sha256": "0" * 64, "v": 1}))
    parsed = {
        entry.fields.get("signoff_id") or entry.fields.get("note_id")
        for kind in ("signoff", "note")
        for entry, proof in RunStore.open(store.root).proven_entries(kind)
        if entry.fields.get("run_id") == RUN and proof is not None
    }
    assert parsed == {signoff_id, note_id}
    [signoff] = stored_signoffs(RunStore.open(store.root), RUN)
    assert signoff.path.name == f"{signoff_id}.json"
    assert signoff.problem == "missing: the store's log names this sign-off, its file is gone"
    [note] = notes_of(RunStore.open(store.root), RUN)
    assert note.path.name == f"{note_id}.json"
    assert note.problem == "missing: the store's log names this note, its file is gone"
    assert stored_signoffs(RunStore.open(store.root), OTHER) == []


def _settle(folder: Path) -> int:
    """Wait until the log's files have settled (no change for SETTLED_NS: only then is a view
    shared); the entries file's mtime."""
    time.sleep(SETTLED_NS / 1e9 + 0.2)
    return (folder / "entries").stat().st_mtime_ns


def test_a_view_shared_between_readers_is_read_again_once_the_log_changes(store: RunStore) -> None:
    """Readers of one process share the log's view while its files keep their stat: an entry edited
    in place, its file's times set back by the forger, still changes its ctime, which the kernel
    alone sets, so the next reader reads the log again and refuses the changed entry."""
    folder = store.log.folder
    mtime = _settle(folder)
    first = RunStore.open(store.root)
    first.load(RUN)
    view = first._view()
    assert RunStore.open(store.root)._view() is view  # shared: report asks four times
    digest = _forge(store)
    entries = folder / "entries"
    forged = record_entry(RUN, digest)
    assert len(forged) == len(entries.read_bytes().splitlines()[0])
    with entries.open("r+b") as handle:  # in place: the same inode and size
        handle.write(forged)
    os.utime(entries, ns=(mtime, mtime))  # the forger sets its times back; its ctime is the kernel's
    assert entries.stat().st_mtime_ns == mtime
    _settle(folder)  # settled again: only the ctime in the view's key tells the files changed
    with pytest.raises(EvidenceError, match=f"entry 0 \\(run {RUN}\\) is not in the tree of the log head"):
        RunStore.open(store.root).load(RUN)


def test_latest_is_the_newest_run_the_log_holds(store: RunStore) -> None:
    """`latest` looks at the newest folder names only: a folder the log does not hold is passed over."""
    assert RunStore.open(store.root).resolve("latest") == OTHER
    (store.runs_dir / LATER).mkdir()
    assert RunStore.open(store.root).resolve("latest") == OTHER
    store.commit(store.begin("01JGZ0000000000000000000DD"), make_record("01JGZ0000000000000000000DD"))
    assert RunStore.open(store.root).resolve("latest") == "01JGZ0000000000000000000DD"
