"""Notes the source tool kept about a run, imported as notes beside its record.

MLflow keeps a run's description (what its UI shows as the run's notes) in the tag
`mlflow.note.content`; W&B keeps a run's notes in its `notes` field, which the W&B ingester keeps
as the tag `wandb.notes`. Both stay in the record's tags, as the tool recorded them; each also
becomes a note (`auditor.store.notes`) so that `notes`, `show` and the dossier show it with the
discussion. Neither tool dates its notes or names who wrote them: an imported note is dated by the
run's start and attributed to the run's user, and its `source_ref` says both.

Written after the record is committed, under the same lock, and only once per run: an ingest of
the same source again finds the note there (same source, reference and text) and writes nothing.
The text is masked for secrets as the record's tags are, and made safe to show (control and
invisible characters become U+FFFD), since another tool wrote it.
"""

from __future__ import annotations

from auditor.capture.redact import mask
from auditor.ingest.mlflow import TOOL as MLFLOW
from auditor.ingest.wandb import TOOL as WANDB
from auditor.record.ids import new_ulid
from auditor.record.models import RunRecord
from auditor.record.note import MAX_NOTE_TEXT, MAX_SOURCE_REF, Note, NoteSource, text_problem
from auditor.store.notes import add_imported_note
from auditor.store.runs import RunStore
from auditor.text import clip, one_line, scrub

MLFLOW_NOTE_TAG = "mlflow.note.content"
WANDB_NOTE_TAG = "wandb.notes"
# tool -> (tag holding the notes, note source, the tool's name in sentences)
NOTE_TAGS: dict[str, tuple[str, NoteSource, str]] = {
    MLFLOW: (MLFLOW_NOTE_TAG, "mlflow", "MLflow"),
    WANDB: (WANDB_NOTE_TAG, "wandb", "W&B"),
}


def imported_note(record: RunRecord, run_id: str) -> Note | None:
    """The note the source tool kept in `record`'s tags, for run `run_id` (the stored run whose
    evidence this is), or None when it kept none."""
    found = NOTE_TAGS.get(record.origin.tool or "")
    if found is None:
        return None
    tag, source, name = found
    raw = record.tags.get(tag)
    if raw is None:
        return None
    text = clip(mask(scrub(raw.replace("\r\n", "\n").replace("\r", "\n")).strip())[0], MAX_NOTE_TEXT)
    if text_problem(text):
        return None  # empty (or only what scrubbing could not make plain): nothing to show
    user = record.identity.user
    author = one_line(user, 120) if user and one_line(user, 120) else f"unknown (not recorded by {name})"
    who = "the run's user" if user else "nobody"
    ref = (
        f"{name} run {one_line(record.origin.source_run_id or 'without an id', 80)}, {_field(source, tag)}; "
        f"dated by the run's start and attributed to {who}: {name} does not date notes or name their writer"
    )
    return Note(
        note_id=new_ulid(),
        run_id=run_id,
        author=author,
        created_at=record.identity.started_at,
        text=text,
        source=source,
        source_ref=clip(ref, MAX_SOURCE_REF),
    )


def _field(source: NoteSource, tag: str) -> str:
    return f"tag {tag} (the run's description)" if source == "mlflow" else "the run's notes field"


def import_notes(store: RunStore, record: RunRecord, run_id: str) -> tuple[str, ...]:
    """Keep the note `record`'s source tool kept, beside run `run_id`, unless it is there already;
    one sentence for the ingest's output when one was written."""
    note = imported_note(record, run_id)
    if note is None:
        return ()
    if add_imported_note(store, note) is None:
        return ()
    name = NOTE_TAGS[record.origin.tool or ""][2]
    return (f"{name}'s notes on the run kept as note {note.note_id} (`auditor notes {run_id}`)",)
