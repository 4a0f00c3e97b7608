"""Notes in the store: written once beside the run, appended to the log, read back verified.

    STORE/notes/<run_id>/<note_id>.json

A file is the note's canonical JSON. Its SHA-256 goes into the store's log as a `note` entry,
under the store's lock, with the file already in place (removed again if the entry cannot be
appended); a reader believes only files whose bytes have a proven `note` entry for that run. A file
nobody logged, a logged file that is gone or changed, a link: each is reported with its reason,
never shown as a note. Nothing is ever rewritten or removed here: a correction is a reply.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from auditor.errors import AuditorError, EvidenceError, StoreError, StoreWriteError, UsageError
from auditor.files import UntrustedFileError, fsync_dir, open_folder, read_regular_file, write_atomic
from auditor.record.ids import ULID_PATTERN, ulid_time_ms
from auditor.record.note import Note
from auditor.sign.canonical import canonical
from auditor.store.entries import folder_entries
from auditor.store.runs import RunStore

NOTES_DIR = "notes"
NOTE_MAX_BYTES = 512 * 1024  # a note's JSON: 64 Ki characters of text, escaped, and its fields
MAX_NOTES = 10_000  # per run: far above any real discussion; more is a store someone is flooding
UNPROVEN = "unproven"  # a note entry whose line the log's tree does not hold: edited in place


@dataclass(frozen=True)
class StoredNote:
    """One note file, read through no link, and whether the store's log vouches for its bytes."""

    path: Path
    note: Note | None
    problem: str | None  # why it is not believed (not in the log, changed, gone, unreadable, not a note)

    @property
    def sort_key(self) -> tuple[datetime, str]:
        if self.note is not None:
            return self.note.created_at, self.note.note_id
        stem = self.path.name.removesuffix(".json")
        when = ulid_time_ms(stem) if ULID_PATTERN.match(stem) else 0
        return datetime.fromtimestamp(when / 1000, UTC), stem


class ReplyError(UsageError):
    """A reply to a note this run does not have (exit 2)."""


def note_bytes(note: Note) -> bytes:
    return canonical(note.model_dump(mode="json"))


def add_note(store: RunStore, note: Note) -> Path:
    """Keep `note` beside its run and log it; the file's path. The run must be one the store
    verifies, and a reply must answer a note of the same run that the store's log vouches for."""
    store.verify(note.run_id)
    if note.reply_to is not None:
        _check_reply(store, note)
    with store.locked():
        return _write(store, note)


def add_imported_note(store: RunStore, note: Note) -> Path | None:
    """Keep a note imported from another tool, unless the run has it already (the same source,
    reference and text: a second ingest of the same source writes nothing); its path, or None."""
    store.verify(note.run_id)
    with store.locked():  # two ingests of one source cannot both find the note new
        for stored in notes_of(store, note.run_id):
            known = stored.note
            if known is not None and (known.source, known.source_ref, known.text) == (
                note.source,
                note.source_ref,
                note.text,
            ):
                return None
        return _write(store, note)


def _check_reply(store: RunStore, note: Note) -> None:
    for stored in notes_of(store, note.run_id):
        if stored.note is not None and stored.note.note_id == note.reply_to:
            return
    raise ReplyError(f"--reply-to {note.reply_to}: run {note.run_id} has no such note (see `auditor notes`)")


def _write(store: RunStore, note: Note) -> Path:
    data = note_bytes(note)
    folder = store.root / NOTES_DIR / note.run_id
    path = folder / f"{note.note_id}.json"
    entry = {
        "v": 1,
        "kind": "note",
        "run_id": note.run_id,
        "note_id": note.note_id,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    try:
        for part in (store.root / NOTES_DIR, folder):
            part.mkdir(exist_ok=True)
            if not stat.S_ISDIR(os.lstat(part).st_mode):
                raise EvidenceError(f"{part}: not a folder of notes (a link or a file)")
        if os.path.lexists(path):
            raise StoreError(f"{path}: a note with this id exists already")
        write_atomic(path, data)
    except OSError as exc:
        raise StoreWriteError(f"{path}: the note could not be written ({exc.strerror or exc})") from exc
    try:
        store.append_entry(entry)
    except AuditorError:
        path.unlink(missing_ok=True)  # a file the log does not hold would only ever be refused
        raise
    try:
        fsync_dir(folder)
    except OSError as exc:
        raise StoreWriteError(f"{path}: written, but not synced ({exc.strerror or exc})") from exc
    return path


def notes_of(store: RunStore, run_id: str) -> list[StoredNote]:
    """Every note of `run_id` the log names and every file beside them that it does not, oldest
    first: each with its note when the log vouches for its bytes, else why not."""
    return _run_notes(store, run_id, _logged(store, run_id).get(run_id, {}))


def notes_by_run(store: RunStore) -> dict[str, list[StoredNote]]:
    """`notes_of` for every run that has notes or note files, reading the store's log once (for
    views of many runs: asking run by run reads the whole log each time)."""
    logged = _logged(store, None)
    found: dict[str, list[StoredNote]] = {}
    for run_id in sorted(set(logged) | set(folder_entries(store.root / NOTES_DIR, "notes"))):
        try:
            found[run_id] = _run_notes(store, run_id, logged.get(run_id, {}))
        except EvidenceError as exc:  # this run's folder is a link or a file: the others are still read
            found[run_id] = [StoredNote(store.root / NOTES_DIR / run_id, None, exc.message.rsplit(": ", 1)[-1])]
    return found


def _logged(store: RunStore, run_id: str | None) -> dict[str, dict[str, str]]:
    """run id -> note id -> the SHA-256 its first proven entry holds (UNPROVEN when not proven)."""
    logged: dict[str, dict[str, str]] = {}
    for entry, proof in store.proven_entries("note", run_id):
        fields = entry.fields
        owner, note_id = fields.get("run_id"), fields.get("note_id")
        if isinstance(owner, str) and isinstance(note_id, str):
            logged.setdefault(owner, {}).setdefault(note_id, str(fields.get("sha256")) if proof else UNPROVEN)
    return logged


def _run_notes(store: RunStore, run_id: str, logged: dict[str, str]) -> list[StoredNote]:
    folder = store.root / NOTES_DIR / run_id
    names = folder_entries(folder, "notes")
    ids = {n[:-5] for n in names if n.endswith(".json") and ULID_PATTERN.match(n[:-5])}
    found = [StoredNote(folder / n, None, "not a note file auditor writes") for n in names if n[:-5] not in ids]
    for note_id in sorted(set(logged) | ids)[:MAX_NOTES]:
        found.append(_stored(folder, note_id, run_id, logged.get(note_id)))
    return sorted(found, key=lambda s: s.sort_key)


def _stored(folder: Path, note_id: str, run_id: str, expected: str | None) -> StoredNote:
    path = folder / f"{note_id}.json"
    if expected is None:
        return StoredNote(path, None, "not in the store's log: auditor did not record this note")
    try:
        with open_folder(folder) as fd:
            data = read_regular_file(f"{note_id}.json", NOTE_MAX_BYTES, dir_fd=fd)
    except FileNotFoundError:
        return StoredNote(path, None, "missing: the store's log names this note, its file is gone")
    except (OSError, UntrustedFileError) as exc:
        why = exc.why if isinstance(exc, UntrustedFileError) else exc.strerror
        return StoredNote(path, None, f"cannot be read: {why}")
    if expected == UNPROVEN:
        return StoredNote(path, None, "its entry in the store's log is not the one the log's tree holds")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        return StoredNote(path, None, f"changed since it was recorded (sha256 {actual[:16]}…)")
    try:
        note = Note.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(document)"
        return StoredNote(path, None, f"not a note: field {field}: {first['msg']}")
    if note.run_id != run_id or note.note_id != note_id:
        return StoredNote(path, None, f"written for run {note.run_id[:40]}, note {note.note_id}: not this file's")
    return StoredNote(path, note, None)


def note_counts(store: RunStore) -> dict[str, int]:
    """How many note files each run has, by run id (runs without notes left out): one listing of
    the notes folder and one per run that has one, no note or record read, so a file the log does
    not vouch for is counted too (`notes_of` says which are believed)."""
    root = store.root / NOTES_DIR
    counts: dict[str, int] = {}
    for run_id in folder_entries(root, "notes"):
        try:
            names = folder_entries(root / run_id, "notes")
        except EvidenceError:
            continue  # a file or link in notes/: no run's notes (`notes_of` and `verify` name it)
        count = sum(1 for n in names if n.endswith(".json") and ULID_PATTERN.match(n[:-5]))
        if count:
            counts[run_id] = count
    return counts
