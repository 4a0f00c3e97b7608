"""Notes beside runs, through the real CLI on a real store: written once, logged, read back verified."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from auditor.store.notes import notes_by_run, notes_of
from auditor.store.runs import RunStore
from tests.conftest import AUDITOR, CliRunner, base_env
from tests.factories import make_record

RUN = "01JGZ0000000000000000000AA"
OTHER = "01JGZ0000000000000000000BB"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin(RUN), make_record(RUN))
    store.commit(store.begin(OTHER), make_record(OTHER))
    return tmp_path


def _note(cli: CliRunner, project: Path, run: str, text: str, *args: str) -> tuple[int, str, str]:
    env = base_env(AUDITOR_AUTHOR="Dana Reviewer")
    done = cli("note", run, text, "--store", "store", *args, cwd=project, env=env)
    return done.returncode, done.stdout, done.stderr


def _note_id(out: str) -> str:
    return out.split()[out.split().index("on") - 1]


def _notes(cli: CliRunner, project: Path, run: str = RUN) -> tuple[int, dict[str, object], str]:
    done = cli("notes", run, "--store", "store", "--format", "json", cwd=project, env=base_env())
    return done.returncode, json.loads(done.stdout), done.stderr


def _files(project: Path, run: str = RUN) -> list[Path]:
    return sorted((project / "store" / "notes" / run).glob("*.json"))


def test_notes_and_replies_are_kept_logged_and_shown_in_threads(cli: CliRunner, project: Path) -> None:
    head = RunStore.open(project / "store").head()
    code, out, err = _note(cli, project, RUN, "The seed is missing; was that deliberate?")
    assert code == 0, err
    first = _note_id(out)
    assert f"note {first} on run {RUN} by Dana Reviewer (from $AUDITOR_AUTHOR)" in out
    code, out, err = _note(
        cli, project, RUN, "Yes: the sampler is deterministic.", "--reply-to", first, "--author", "Sam"
    )
    assert code == 0, err
    reply = _note_id(out)
    assert f"reply to {first} {reply} on run {RUN} by Sam (from --author)" in out
    code, out, err = _note(cli, project, RUN, "Second topic.")
    assert code == 0, err
    second = _note_id(out)
    store = RunStore.open(project / "store")
    entries = [e.fields for e in store.entries("note")]
    assert store.head().size == head.size + 3 and [e["note_id"] for e in entries] == [first, reply, second]
    assert all(e["run_id"] == RUN for e in entries)

    code, shown, err = _notes(cli, project)
    assert code == 0, err
    rows = [(n["note_id"], n["depth"], n["author"], n["reply_to"]) for n in shown["notes"]]  # type: ignore[index]
    assert rows == [(first, 0, "Dana Reviewer", None), (reply, 1, "Sam", first), (second, 0, "Dana Reviewer", None)]
    assert shown["problems"] == [] and (shown["format"], shown["version"], shown["run_id"]) == ("auditor-notes", 1, RUN)
    text = cli("notes", RUN, "--store", "store", cwd=project, env=base_env())
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"Run {RUN}: 3 notes in 2 threads"
    assert lines[1].startswith(f"- {first}  Dana Reviewer  20") and lines[1].endswith(" UTC")
    assert lines[4].startswith(f"    ↳ {reply}  Sam  ") and "      | Yes: the sampler is deterministic." in lines
    assert lines[7].startswith(f"- {second}  Dana Reviewer")
    code, other, _ = _notes(cli, project, OTHER)
    assert code == 0 and other["notes"] == []
    verify = cli("log", "verify", "--store", "store", cwd=project, env=base_env())
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_reply_must_answer_a_note_of_the_same_run(cli: CliRunner, project: Path) -> None:
    code, out, err = _note(cli, project, OTHER, "On the other run.")
    assert code == 0, err
    theirs = _note_id(out)
    before = RunStore.open(project / "store").head()
    code, out, err = _note(cli, project, RUN, "A reply.", "--reply-to", theirs)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"auditor: error: --reply-to {theirs}: run {RUN} has no such note (see `auditor notes`)"
    ]
    code, out, err = _note(cli, project, RUN, "A reply.", "--reply-to", "01JGZ0000000000000000000ZZ")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "has no such note" in err
    code, out, err = _note(cli, project, RUN, "A reply.", "--reply-to", "not-an-id")
    assert code == 2 and "--reply-to 'not-an-id': not a note id" in err
    code, out, err = _note(cli, project, "01JGZ0000000000000000000CC", "No such run.")
    assert code == 2 and len(err.strip().splitlines()) == 1
    for bad, why in (
        ("   ", "empty"),
        ("bell \x07 here", "control"),
        ("right-to-left \u202e", "control"),
        ("x" * 70_000, "more than"),
    ):
        code, out, err = _note(cli, project, RUN, bad)
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, (bad[:20], err)
    assert RunStore.open(project / "store").head() == before and _files(project) == []


def test_tampered_note_files_are_reported_never_shown(cli: CliRunner, project: Path) -> None:
    ids = []
    for text in ("kept", "to be edited", "to be removed", "to become a link"):
        code, out, err = _note(cli, project, RUN, text)
        assert code == 0, err
        ids.append(_note_id(out))
    folder = project / "store" / "notes" / RUN
    edited, removed, linked = (folder / f"{i}.json" for i in ids[1:])
    edited.write_bytes(edited.read_bytes().replace(b"to be edited", b"approved by the board"))
    removed.unlink()
    outside = project / "elsewhere.json"
    outside.write_bytes(linked.read_bytes())
    linked.unlink()
    linked.symlink_to(outside)
    planted = json.loads((folder / f"{ids[0]}.json").read_text())
    planted |= {"note_id": "01JGZ0000000000000000000PX", "text": "planted praise"}
    (folder / "01JGZ0000000000000000000PX.json").write_text(json.dumps(planted))
    (folder / "README.txt").write_text("not a note")

    code, shown, err = _notes(cli, project)
    assert code == 4
    assert [n["text"] for n in shown["notes"]] == ["kept"]  # type: ignore[index]
    problems = {Path(p["file"]).name: p["problem"] for p in shown["problems"]}  # type: ignore[union-attr]
    assert problems[edited.name].startswith("changed since it was recorded")
    assert problems[removed.name] == "missing: the store's log names this note, its file is gone"
    assert problems[linked.name].startswith("cannot be read")
    assert problems["01JGZ0000000000000000000PX.json"] == "not in the store's log: auditor did not record this note"
    assert problems["README.txt"] == "not a note file auditor writes"
    assert len(err.strip().splitlines()) == 5 and all(line.startswith("auditor: error: ") for line in err.splitlines())
    text = cli("notes", RUN, "--store", "store", cwd=project, env=base_env())
    assert text.returncode == 4 and "planted praise" not in text.stdout and "approved by the board" not in text.stdout
    assert "not believed (never shown as notes):" in text.stdout
    verify = cli("log", "verify", "--store", "store", cwd=project, env=base_env())
    assert verify.returncode == 4
    for name in (edited.name, removed.name, linked.name, "01JGZ0000000000000000000PX.json", "README.txt"):
        assert name in verify.stdout + verify.stderr
    show = cli("show", RUN, "--store", "store", cwd=project, env=base_env())
    assert show.returncode == 0 and "1 note in 1 thread; 5 note files not believed" in show.stdout
    store = RunStore.open(project / "store")
    assert notes_by_run(store) == {RUN: notes_of(store, RUN)}  # the one-pass reading says the same
    assert "planted praise" not in show.stdout


def test_a_linked_notes_folder_is_refused(cli: CliRunner, project: Path) -> None:
    code, _, err = _note(cli, project, RUN, "first")
    assert code == 0, err
    folder = project / "store" / "notes" / RUN
    folder.rename(project / "moved")
    folder.symlink_to(project / "moved")
    done = cli("notes", RUN, "--store", "store", cwd=project, env=base_env())
    assert done.returncode == 4 and "not a folder of notes (a link or a file)" in done.stderr
    code, _, err = _note(cli, project, RUN, "second")
    assert code == 4 and "not a folder of notes" in err
    show = cli("show", RUN, "--store", "store", cwd=project, env=base_env())
    assert show.returncode == 0 and show.stdout.rstrip().endswith("not a folder of notes (a link or a file)")
    assert "  the notes cannot be read: " in show.stdout
    verify = cli("log", "verify", "--store", "store", cwd=project, env=base_env())
    assert verify.returncode == 4 and f"notes/{RUN}: not a folder of notes (a link or a file)" in verify.stderr
    assert len(list((project / "moved").iterdir())) == 1


def test_notes_written_at_once_are_all_logged(project: Path) -> None:
    env = base_env(AUDITOR_AUTHOR="writer")
    processes = [
        subprocess.Popen(
            [str(AUDITOR), "note", RUN, f"note number {i}", "--store", "store"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    store = RunStore.open(project / "store")
    logged = {e.fields["note_id"] for e in store.entries("note")}
    assert logged == {p.name.removesuffix(".json") for p in _files(project)} and len(logged) == 6
    code, shown, err = _notes_json(project)
    assert code == 0, err
    assert sorted(n["text"] for n in shown["notes"]) == [f"note number {i}" for i in range(6)]


def _notes_json(project: Path) -> tuple[int, dict[str, list[dict[str, object]]], str]:
    done = subprocess.run(
        [str(AUDITOR), "notes", RUN, "--store", "store", "--format", "json"],
        cwd=project, env=base_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout), done.stderr


def test_no_store_is_created_for_a_note(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("note", "latest", "hello", "--store", "nowhere", cwd=tmp_path, env=base_env(AUDITOR_AUTHOR="x"))
    assert done.returncode == 2 and not (tmp_path / "nowhere").exists()
    assert len(done.stderr.strip().splitlines()) == 1 and os.listdir(tmp_path) == []
