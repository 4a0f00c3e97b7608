"""Commands: `note`, `notes`: discussions on runs."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.app import StoreOption, app, option, store_path
from auditor.errors import UsageError

if TYPE_CHECKING:
    from auditor.store.runs import RunStore

AUTHOR_ENV = "AUDITOR_AUTHOR"
RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
]


@app.command()
def note(
    ctx: typer.Context,
    run_ref: RunArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What you have to say; `-` reads it from stdin.")],
    reply_to: Annotated[
        str | None,
        option("--reply-to", metavar="NOTE_ID", help="The id of the note of this run you answer.", show_default=False),
    ] = None,
    author: Annotated[
        str | None,
        option(
            "--author",
            metavar="NAME",
            envvar=AUTHOR_ENV,
            help="Your name [default: git config user.name, else git config user.name, else your user name]",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write a note on a run: dated, attributed, kept beside the record and in the store's log.

    Records never change; notes are append-only (a correction is a reply). Secrets in the text
    (tokens, passwords in URLs, values after secret names) are masked before it is written."""
    from datetime import UTC, datetime

    from auditor.capture.redact import mask
    from auditor.record.ids import new_ulid
    from auditor.record.note import MAX_AUTHOR, MAX_NOTE_TEXT, Note, line_problem, text_problem
    from auditor.store.notes import add_note
    from auditor.store.runs import RunStore
    from auditor.text import safe

    raw = sys.stdin.read(MAX_NOTE_TEXT + 1) if text == "-" else text
    raw = raw.replace("\r\n", "\n").rstrip("\n")
    where = "stdin" if text == "-" else "TEXT"
    if problem := text_problem(raw):
        raise UsageError(f"{where}: {problem}")
    source = ctx.get_parameter_source("author")
    from_env = source is not None and source.name == "ENVIRONMENT"  # $AUDITOR_AUTHOR: author_of says so
    name, basis = author_of(None if from_env else author)
    if problem := line_problem(name) or ("longer than 200 characters" if len(name) > MAX_AUTHOR else None):
        raise UsageError(f"author {safe(name)[:80]!r} ({basis}): {problem}")
    masked, count = mask(raw)
    if problem := text_problem(masked):
        raise UsageError(f"{where}, its secrets masked: {problem}")
    target = RunStore.open(store_path(store))
    run_id = target.resolve(run_ref)
    written = Note(
        note_id=new_ulid(),
        run_id=run_id,
        reply_to=_note_id(reply_to),
        author=name,
        created_at=datetime.now(UTC),
        text=masked,
        source="auditor",
    )
    path = add_note(target, written)
    what = f"reply to {written.reply_to}" if written.reply_to else "note"
    typer.echo(f"{what} {written.note_id} on run {run_id} by {safe(name)} ({basis})")
    if count:
        typer.echo(f"masked {count} secret{'s' if count != 1 else ''} in the text before writing it")
    typer.echo(f"kept in {path}")


@app.command()
def notes(
    run_ref: RunArgument,
    store: StoreOption = None,
    fmt: Annotated[
        str, option("--format", command="notes", choices=("text", "json"), help="How to print them.")
    ] = "text",
) -> None:
    """Show a run's discussion: its notes in threads, dated and attributed.

    A note file the store's log does not vouch for (planted, changed, removed, a link) is never
    shown as a note: it is listed with why, and the command exits 4."""
    from auditor.render.notes import count_line, notes_json, render_notes_text
    from auditor.store.notes import notes_of
    from auditor.store.runs import RunStore

    chosen = fmt
    target = RunStore.open(store_path(store))
    run_id = target.resolve(run_ref)
    stored = notes_of(target, run_id)
    if chosen == "json":
        typer.echo(json.dumps(notes_json(run_id, stored), sort_keys=True, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"Run {run_id}: {count_line(stored)}")
        body = render_notes_text(stored)
        if body:
            typer.echo(body)
    bad = [s for s in stored if s.problem is not None]
    if bad:
        for s in bad:
            typer.echo(f"auditor: error: {s.path}: {s.problem}", err=True)
        raise typer.Exit(4)


def discussion_of(store: RunStore, run_id: str) -> str:
    """`show`'s discussion of run `run_id`: its notes as the store reads them, or why they cannot be
    read (a notes folder that is a link: the record is still shown)."""
    from auditor.errors import AuditorError
    from auditor.render.notes import DISCUSSION_HEAD, render_discussion
    from auditor.store.notes import notes_of
    from auditor.text import safe

    try:
        stored = notes_of(store, run_id)
    except AuditorError as exc:
        return f"\n{DISCUSSION_HEAD}\n  the notes cannot be read: {safe(exc.message)}"
    return render_discussion(stored)


def _note_id(value: str | None) -> str | None:
    from auditor.record.ids import ULID_PATTERN

    if value is None:
        return None
    if not ULID_PATTERN.match(value.upper()):
        raise UsageError(f"--reply-to {value[:40]!r}: not a note id (26 characters, as `auditor notes` shows them)")
    return value.upper()


def author_of(given: str | None) -> tuple[str, str]:
    """Who writes the note, and where the name came from (the output says which)."""
    if given is not None:
        return given, "from --author"
    if env := os.environ.get(AUTHOR_ENV, "").strip():
        return env, f"from ${AUTHOR_ENV}"
    if name := _git_user():
        return name, "from git config user.name"
    import getpass

    try:
        return getpass.getuser(), "from your user name on this machine"
    except (OSError, KeyError) as exc:
        raise UsageError(f"no author: give --author NAME or set ${AUTHOR_ENV}") from exc


def _git_user() -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=10, check=False, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
