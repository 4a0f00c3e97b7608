"""A note: one dated, attributed remark about a run, written beside its (immutable) record.

Records never change, so the discussion about a run lives next to it: each note a document of its
own, kept in the store and appended to the store's log (`auditor.store.notes`). A note is written
once; a reply is a new note naming the note it answers (`reply_to`), so a thread is a tree.

Notes also come from the tools a run was ingested from: MLflow's run description (the
`mlflow.note.content` tag) and W&B's run notes. Neither tool dates its notes, so an imported note
is dated by the run and `source_ref` says so; `author` is who the tool names, or says nobody was.
"""

from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from auditor.record.base import Frozen
from auditor.record.ids import ULID_PATTERN
from auditor.text import UNSAFE

NOTE_KIND: Literal["auditor.note"] = "auditor.note"
NOTE_VERSION: Literal["1.0"] = "1.0"
MAX_NOTE_TEXT = 64 * 1024  # characters: a long review comment fits many times over
MAX_AUTHOR = 200
MAX_SOURCE_REF = 500
NoteSource = Literal["auditor", "mlflow", "wandb"]
NOTE_SOURCES: tuple[NoteSource, ...] = ("auditor", "mlflow", "wandb")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a note's text, or None: lines and tabs are kept, no other control,
    format or invisible character (they would hide or reorder what a reader sees)."""
    if not text.strip():
        return "empty"
    if len(text) > MAX_NOTE_TEXT:
        return f"{len(text)} characters, more than the {MAX_NOTE_TEXT} a note may hold"
    if UNSAFE.search(text.replace("\n", " ").replace("\t", " ")):
        return "holds a control, format or invisible character (only lines and tabs are kept)"
    return None


def line_problem(value: str) -> str | None:
    """Why `value` cannot be a one-line field (an author, a reference), or None."""
    if not value or value != value.strip():
        return "empty, or with outer spaces"
    if UNSAFE.search(value):
        return "holds a control, format or invisible character"
    return None


class Note(Frozen):
    kind: Literal["auditor.note"] = NOTE_KIND
    version: Literal["1.0"] = NOTE_VERSION
    note_id: str = Field(pattern=ULID_PATTERN.pattern, description="A ULID: when it was written, and unique")
    run_id: str = Field(min_length=1, max_length=200)
    reply_to: str | None = Field(
        default=None, pattern=ULID_PATTERN.pattern, description="The note of the same run it answers"
    )
    author: str = Field(max_length=MAX_AUTHOR, description="Who wrote it, as they or the tool gave the name")
    created_at: AwareDatetime = Field(description="When it was written (for an imported note: see source_ref)")
    text: str = Field(max_length=MAX_NOTE_TEXT)
    source: NoteSource = Field(description="auditor (written with `auditor note`), or the tool it was imported from")
    source_ref: str | None = Field(
        default=None, max_length=MAX_SOURCE_REF, description="Where in that tool it came from, and how it is dated"
    )

    @field_validator("author", "source_ref")
    @classmethod
    def _plain_line(cls, value: str | None) -> str | None:
        if value is not None and (problem := line_problem(value)):
            raise ValueError(f"one plain line: {problem}")
        return value

    @field_validator("text")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(f"plain text: {problem}")
        return value

    @model_validator(mode="after")
    def _not_itself(self) -> "Note":
        if self.reply_to == self.note_id:
            raise ValueError("a note cannot answer itself")
        if self.source == "auditor" and self.source_ref is not None:
            raise ValueError("source_ref: only an imported note names where it came from")
        return self
