"""A store the runs it records cannot hijack (#18): what a run's command can plant in the store,
or beside it, is never taken as a run, never chosen as `latest`, never listed twice."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from auditor.errors import EvidenceError, InvalidRecordError
from auditor.record import dump_record
from auditor.store.runs import RunStore
from tests.conftest import FIXTURES, CliRunner, base_env
from tests.factories import make_record

IDS = ["01JGZ0000000000000000000AA", "01JGZ0000000000000000000AB"]
PLANTED = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"  # sorts after every real id: it would be `latest`
SMALL_DB = FIXTURES / "advisories" / "small"


def _commit(store: RunStore, run_id: str, **identity: object) -> None:
    staging = store.begin(run_id)
    (staging.path / "stdout.log").write_bytes(b"")
    store.commit(staging, make_record(run_id, **identity))


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.create(tmp_path / ".auditor")
    for run_id in IDS:
        _commit(s, run_id)
    return s


def _plant(store: RunStore, name: str, record_id: str) -> Path:
    """What a run's command can do: a folder in runs/ holding a record.json of its own making."""
    folder = store.runs_dir / name
    folder.mkdir()
    (folder / "record.json").write_bytes(dump_record(make_record(record_id, name="planted")))
    return folder


def _check(cli: CliRunner, cwd: Path, *args: str) -> tuple[int, dict[str, object], str]:
    env = base_env(AUDITOR_CACHE_DIR=str(cwd / "cache"))
    vulns = ("--vuln-source", "local", "--advisory-db", str(SMALL_DB))
    done = cli("check", *args, *vulns, "--format", "json", cwd=cwd, env=env)
    return done.returncode, (json.loads(done.stdout) if done.stdout else {}), done.stderr


# --- planted run folders ---------------------------------------------------------------------------------


def test_a_planted_folder_holding_another_runs_record_is_refused_never_latest(store: RunStore) -> None:
    folder = _plant(store, PLANTED, IDS[0])
    assert store.resolve("latest") == IDS[-1]
    assert store.run_ids() == IDS
    entries = list(store.iter_records())
    assert [e.identity.run_id for e in entries if not isinstance(e, InvalidRecordError)] == IDS
    [error] = [e for e in entries if isinstance(e, InvalidRecordError)]
    why = f"{folder / 'record.json'}: field identity.run_id: refused: '{IDS[0]}' is not its run folder's name"
    assert error.message == why
    with pytest.raises(InvalidRecordError, match=f"^{why}"):
        store.resolve(PLANTED[:4])


def test_a_planted_folder_named_by_its_own_record_is_still_not_a_run(store: RunStore) -> None:
    """Naming the folder by the record's id is not enough: auditor did not commit it."""
    folder = _plant(store, PLANTED, PLANTED)
    assert store.resolve("latest") == IDS[-1]
    with pytest.raises(EvidenceError, match=f"^{folder}: not a run auditor recorded in this store: the store's log"):
        store.load(PLANTED)


def _record_entry(run_id: str, raw: bytes) -> dict[str, object]:
    return {"v": 1, "kind": "record", "run_id": run_id, "sha256": hashlib.sha256(raw).hexdigest()}


def test_a_run_recorded_twice_in_the_log_is_refused(store: RunStore) -> None:
    raw = dump_record(make_record(IDS[0], name="swapped"))
    (store.runs_dir / IDS[0] / "record.json").write_bytes(raw)
    store.append_entry(_record_entry(IDS[0], raw))  # a second entry for the same run, through auditor's own writer
    with pytest.raises(EvidenceError, match=f"run {IDS[0]} is recorded more than once, with different records"):
        store.load(IDS[0])
    assert store.resolve("latest") == IDS[-1] and store.run_ids() == IDS[1:]


def test_a_record_in_a_folder_not_named_by_its_id_is_refused(tmp_path: Path) -> None:
    """Even with a log entry for the folder, a record of another run is not that run."""
    store = RunStore.create(tmp_path / ".auditor")
    folder = store.runs_dir / IDS[0]
    folder.mkdir()
    raw = dump_record(make_record(IDS[1]))
    (folder / "record.json").write_bytes(raw)
    store.append_entry(_record_entry(IDS[0], raw))
    with pytest.raises(InvalidRecordError, match=f"field identity.run_id: refused: '{IDS[1]}' is not its run folder"):
        store.load(IDS[0])


def test_a_planted_symlink_folder_is_refused_never_latest(store: RunStore, tmp_path: Path) -> None:
    """A link in runs/ to a folder elsewhere (the project, say) is not a run, even if its name is indexed."""
    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    (elsewhere / "record.json").write_bytes(dump_record(make_record(PLANTED)))
    (store.runs_dir / PLANTED).symlink_to(elsewhere)
    assert store.resolve("latest") == IDS[-1]
    with pytest.raises(InvalidRecordError, match=f"^{store.runs_dir / PLANTED}: refused: a symbolic link"):
        store.load(PLANTED)
    shutil.rmtree(store.runs_dir / IDS[1])
    (store.runs_dir / IDS[1]).symlink_to(elsewhere)  # a real, indexed run replaced by a link
    with pytest.raises(InvalidRecordError, match=f"^{store.runs_dir / IDS[1]}: refused: a symbolic link"):
        store.load(store.resolve("latest"))


@pytest.mark.parametrize("what", ["file", "record link", "no record"])
def test_a_run_folder_that_is_not_a_folder_with_a_regular_record_is_refused(store: RunStore, what: str) -> None:
    folder = store.runs_dir / IDS[1]
    record = folder / "record.json"
    if what == "file":
        shutil.rmtree(folder)
        folder.write_bytes(b"{}")
        why = f"{folder}: refused: not a folder"
    elif what == "record link":
        saved = folder.parent / "saved.json"
        record.rename(saved)
        record.symlink_to(saved)
        why = f"{record}: refused: a symbolic link"
    else:
        record.unlink()
        why = f"{folder}: refused: it holds no record.json"
    with pytest.raises(InvalidRecordError, match=f"^{why}"):
        store.load(IDS[1])


def test_cli_runs_lists_each_run_once_and_names_what_it_refuses(cli: CliRunner, store: RunStore) -> None:
    """`runs` listed one id twice: a copy of a run's folder under another name read as the same run."""
    copy = store.runs_dir / PLANTED
    shutil.copytree(store.runs_dir / IDS[0], copy)
    done = cli("runs", "--store", str(store.root), "--json", cwd=store.root.parent)
    assert [json.loads(line)["run_id"] for line in done.stdout.splitlines()] == IDS
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"auditor: error: {copy / 'record.json'}: field identity.run_id: refused: '{IDS[0]}' is not its run "
        "folder's name"
    ]
    planted = _plant(store, PLANTED[:-1] + "Y", PLANTED[:-1] + "Y")  # named by its own id, but never committed
    done = cli("runs", "--store", str(store.root), "--json", cwd=store.root.parent)
    assert done.returncode == 4 and len(done.stdout.splitlines()) == len(IDS)  # 4: a record the log does not hold
    assert done.stderr.splitlines()[0] == (
        f"auditor: error: {planted}: not a run auditor recorded in this store: the store's log holds no record of it"
    )
    table = cli("runs", "--store", str(store.root), cwd=store.root.parent).stdout.splitlines()
    assert [line.split()[0] for line in table[1:]] == IDS


def test_cli_check_latest_never_checks_a_planted_run(cli: CliRunner, store: RunStore) -> None:
    _plant(store, PLANTED, PLANTED)
    code, report, stderr = _check(cli, store.root.parent, "latest")
    assert code in (0, 1, 3), stderr
    assert report["run"]["run_id"] == IDS[-1]  # type: ignore[index]
    code, _, stderr = _check(cli, store.root.parent, PLANTED)
    assert code == 4
    assert stderr.startswith(f"auditor: error: {store.runs_dir / PLANTED}: not a run auditor recorded in this store")


# --- `latest` (and ids) resolve through the store, never through the working folder -------------------


@pytest.mark.parametrize("command", ["check", "report"])
def test_a_latest_file_in_the_working_folder_is_not_the_latest_run(
    cli: CliRunner, store: RunStore, command: str
) -> None:
    cwd = store.root.parent
    (cwd / "latest").write_bytes(dump_record(make_record(PLANTED, name="planted")))
    (cwd / IDS[0]).write_bytes(dump_record(make_record(PLANTED, name="planted")))
    if command == "check":
        for ref, expected in (("latest", IDS[-1]), (IDS[0], IDS[0])):
            code, report, stderr = _check(cli, cwd, ref)
            assert code in (0, 1, 3), stderr
            assert report["run"]["run_id"] == expected  # type: ignore[index]
        code, report, _ = _check(cli, cwd, "./latest")  # clearly a path: the file
        assert report["run"]["run_id"] == PLANTED  # type: ignore[index]
    else:
        env = base_env(AUDITOR_CACHE_DIR=str(cwd / "cache"))
        vulns = ("--vuln-source", "local", "--advisory-db", str(SMALL_DB))
        done = cli("report", "latest", *vulns, "--format", "html", "-o", str(cwd / "out"), cwd=cwd, env=env)
        assert done.returncode == 0, done.stderr
        html = (cwd / "out" / "dossier.html").read_text()
        assert IDS[-1] in html and PLANTED not in html


def test_a_file_named_like_a_run_without_a_store_gets_a_hint(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "latest").write_bytes(dump_record(make_record(PLANTED)))
    code, _, stderr = _check(cli, tmp_path, "latest")
    assert code == 2
    assert stderr == (
        f"auditor: error: {tmp_path / '.auditor'}: no run store here (run `auditor run` first, or pass --store) "
        "('latest' is a run in the store; for the file, write ./latest)\n"
    )


def test_help_says_when_run_is_a_file(cli: CliRunner, tmp_path: Path) -> None:
    for command in ("check", "report"):
        text = " ".join(cli(command, "--help", cwd=tmp_path).stdout.split())
        assert "or a record FILE when it is clearly a path: it ends in .json or holds a /" in text


# --- the store is made only for good input, and its writers take turns --------------------------------


def test_exit_2_run_and_ingest_leave_no_store(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text("project: [unclosed\n")
    done = cli("run", "--", "true", cwd=tmp_path)
    assert done.returncode == 2 and "auditor.yaml" in done.stderr, done.stderr
    assert not (tmp_path / ".auditor").exists()
    for args in (("ingest", "mlflow", str(tmp_path / "nowhere")), ("ingest", str(tmp_path / "nowhere"))):
        done = cli(*args, "--store", str(tmp_path / "store"), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert not (tmp_path / "store").exists()


def test_a_fifo_left_in_staging_does_not_hang_the_commit(tmp_path: Path) -> None:
    """The command can write into its staging folder; committing opens only regular files there."""
    store = RunStore.create(tmp_path / "st")
    staging = store.begin(IDS[0])
    os.mkfifo(staging.path / "trap")
    worker = threading.Thread(target=store.commit, args=(staging, make_record(IDS[0])), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "commit hung on a FIFO in staging"
    assert store.resolve("latest") == IDS[0]


def test_the_lock_is_reentrant_and_the_commit_takes_it(store: RunStore) -> None:
    with store.locked(), store.locked():
        _commit(store, "01JGZ2000000000000000000DD")
    assert store.run_ids()[-1] == "01JGZ2000000000000000000DD"
    assert (store.root / "lock").is_file()
