"""The dossier's Discussion section: the run's notes, as written beside the record (pure).

Notes are not evidence: they were written beside the record, after or around the run, by people or
imported from the tool the run came from, and the record does not hold them. The section says so,
and says for each note whether the store's log vouches for its bytes; a note file it does not vouch
for is listed by name with why, never shown as a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.record import Missing
from auditor.render.notes import dated, provenance, threads
from auditor.store.notes import StoredNote
from auditor.text import clip

NOTE_CHARS = 8000  # per note in the dossier: `auditor notes` shows them whole
MAX_NOTES_SHOWN = 200


@dataclass(frozen=True)
class NoteView:
    note_id: str
    author: str
    written: str  # the date, and for an imported note what the date is (the run's)
    source: str
    text: str
    depth: int
    answers: str  # "" or the id of the note it answers, when that note cannot be shown


@dataclass(frozen=True)
class Discussion:
    lead: str
    notes: tuple[NoteView, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # file name, why it is not believed
    cut: str = ""


NO_DISCUSSION = Discussion(lead="No discussion: no one has written a note on this run.")


def discussion_view(stored: Sequence[StoredNote] | Missing) -> Discussion:
    if isinstance(stored, Missing):
        return Discussion(lead=f"The run's notes could not be read: {stored.reason}.")
    items = threads(stored)
    problems = tuple((s.path.name, s.problem) for s in stored if s.problem is not None)
    if not items and not problems:
        return NO_DISCUSSION
    noun = "note" if len(items) == 1 else "notes"
    lead = (
        f"{len(items)} {noun}, each vouched for by the store's log (its bytes are the ones logged when it was written)."
    )
    if problems:
        lead += f" {len(problems)} note file{'s' if len(problems) != 1 else ''} the log does not vouch for: not shown."
    views = tuple(
        NoteView(
            note_id=i.note.note_id,
            author=i.note.author,
            written=dated(i.note)
            + (" (the run's time: the tool does not date notes)" if i.note.source != "auditor" else ""),
            source=provenance(i.note),
            text=clip(i.note.text, NOTE_CHARS),
            depth=i.depth,
            answers=(i.note.reply_to or "") if i.orphan else "",
        )
        for i in items[:MAX_NOTES_SHOWN]
    )
    cut = (
        f"{len(items) - MAX_NOTES_SHOWN} later notes are not shown: `auditor notes` lists them all."
        if len(items) > MAX_NOTES_SHOWN
        else ""
    )
    return Discussion(lead=lead, notes=views, problems=problems, cut=cut)
