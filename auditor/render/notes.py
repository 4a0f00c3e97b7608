"""A run's discussion, for every view: notes arranged in threads, as text or JSON (pure).

Notes are read verified (`auditor.store.notes.notes_of`); a file the store's log does not vouch
for is never shown as a note, only listed with why. A reply sits under the note it answers; a
reply whose note cannot be shown (its file changed or gone) starts a thread of its own and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from auditor.record.note import Note
from auditor.render.times import iso
from auditor.store.notes import StoredNote
from auditor.text import safe

MAX_DEPTH = 8  # deeper replies are drawn at this depth (they still name the note they answer)
DISCUSSION_HEAD = "Discussion (notes beside the record, not part of it)"
SOURCE_NAMES = {"auditor": "auditor", "mlflow": "MLflow", "wandb": "W&B"}


@dataclass(frozen=True)
class ThreadItem:
    note: Note
    depth: int  # 0 for a note that starts a thread
    orphan: bool  # answers a note that cannot be shown


def threads(stored: Sequence[StoredNote]) -> list[ThreadItem]:
    """The believed notes in reading order: each thread oldest first, replies under their note."""
    notes = [s.note for s in stored if s.note is not None]
    known = {n.note_id for n in notes}
    children: dict[str, list[Note]] = {}
    roots: list[Note] = []
    for note in notes:  # `stored` is oldest first, so every list below is too
        if note.reply_to is not None and note.reply_to in known:
            children.setdefault(note.reply_to, []).append(note)
        else:
            roots.append(note)
    items: list[ThreadItem] = []
    seen: set[str] = set()
    for root in roots:
        stack = [(root, 0)]
        while stack:
            note, depth = stack.pop()
            if note.note_id in seen:
                continue
            seen.add(note.note_id)
            orphan = depth == 0 and note.reply_to is not None
            items.append(ThreadItem(note, min(depth, MAX_DEPTH), orphan))
            stack.extend((child, depth + 1) for child in reversed(children.get(note.note_id, [])))
    return items


def dated(note: Note) -> str:
    return iso(note.created_at.astimezone(UTC))


def provenance(note: Note) -> str:
    """Where a note came from, in words: written with auditor, or imported (and how it is dated)."""
    if note.source == "auditor":
        return "written with auditor note"
    where = f": {note.source_ref}" if note.source_ref else ""
    return f"imported from {SOURCE_NAMES[note.source]}{where}"


def problems(stored: Sequence[StoredNote]) -> list[tuple[str, str]]:
    return [(str(s.path), s.problem) for s in stored if s.problem is not None]


def count_line(stored: Sequence[StoredNote]) -> str:
    items = threads(stored)
    bad = problems(stored)
    if not items and not bad:
        return "no discussion"
    roots = sum(1 for i in items if i.depth == 0)
    text = f"{len(items)} note{'s' if len(items) != 1 else ''} in {roots} thread{'s' if roots != 1 else ''}"
    if bad:
        text += f"; {len(bad)} note file{'s' if len(bad) != 1 else ''} not believed (see below)"
    return text


def render_notes_text(stored: Sequence[StoredNote], indent: str = "") -> str:
    """The threads for a terminal: each note dated, attributed, its source; then the problems."""
    lines: list[str] = []
    for item in threads(stored):
        note = item.note
        pad = indent + "    " * item.depth
        mark = "↳ " if item.depth else "- "
        lines.append(f"{pad}{mark}{note.note_id}  {safe(note.author)}  {dated(note)}")
        lines.append(f"{pad}    {safe(provenance(note))}")
        if item.orphan:
            lines.append(f"{pad}    answers note {note.reply_to}, which cannot be shown (see below)")
        lines.extend(f"{pad}  | {safe(line)}" for line in note.text.splitlines())
    bad = problems(stored)
    if bad:
        lines.append(f"{indent}not believed (never shown as notes):")
        lines.extend(f"{indent}  {safe(path)}: {safe(why)}" for path, why in bad)
    return "\n".join(lines)


def render_discussion(stored: Sequence[StoredNote]) -> str:
    """The discussion as `show` ends with it: a count, then the threads."""
    head = f"\n{DISCUSSION_HEAD}\n  {count_line(stored)}"
    body = render_notes_text(stored, indent="  ")
    return head + ("\n" + body if body else "")


def notes_json(run_id: str, stored: Sequence[StoredNote]) -> dict[str, Any]:
    """The discussion as data: the notes in thread order (depth, each note as stored), the problems."""
    return {
        "format": "auditor-notes",
        "version": 1,
        "run_id": run_id,
        "notes": [{"depth": i.depth, "orphan": i.orphan, **i.note.model_dump(mode="json")} for i in threads(stored)],
        "problems": [{"file": path, "problem": why} for path, why in problems(stored)],
    }
