"""Commands that read the store or the project: `runs`, `show`, `schema`, `init`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import StoreOption, app, store_path
from auditor.errors import UsageError


@app.command()
def runs(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """List the runs in the store, oldest first.

    A folder in the store that is not a run auditor committed gets one error line naming it: exit 2
    for a folder that is not a run (another run's id, a link), exit 4 for a record the store's log
    does not vouch for (not in the log, changed since). A store an earlier auditor wrote is
    refused until `auditor store migrate` moves it to the log.
    """
    from auditor.errors import AuditorError
    from auditor.render.summary import render_runs
    from auditor.store.runs import RunStore

    target = RunStore.open(store_path(store))
    entries = list(target.iter_records())
    bad = [e for e in entries if isinstance(e, AuditorError)]
    if as_json:
        for entry in entries:
            if not isinstance(entry, AuditorError):
                ident = entry.identity.model_dump(mode="json")
                typer.echo(json.dumps(ident, sort_keys=True))
    else:
        typer.echo(render_runs(entries))
    if bad:
        for error in bad:
            typer.echo(f"auditor: error: {error.message}", err=True)
        raise typer.Exit(max(error.exit_code for error in bad))


@app.command()
def show(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
    ],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole record as JSON.")] = False,
) -> None:
    """Show one run: a readable summary, or the record itself with --json."""
    from auditor.record import dump_record
    from auditor.render.summary import render_summary
    from auditor.store.runs import RunStore

    target = RunStore.open(store_path(store))
    record = target.load(target.resolve(run_ref))
    if as_json:
        sys.stdout.buffer.write(dump_record(record))
    else:
        from auditor.render.notes import render_discussion
        from auditor.store.notes import notes_of

        typer.echo(render_summary(record, target.reproductions_of(record.identity.run_id)))
        typer.echo(render_discussion(notes_of(target, record.identity.run_id)))


@app.command()
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing auditor.yaml.")] = False,
) -> None:
    """Write a commented starter auditor.yaml for the current folder."""
    from auditor.files import write_atomic
    from auditor.project.init import starter_spec
    from auditor.project.spec import SPEC_FILE

    target = Path.cwd() / SPEC_FILE
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists (use --force to overwrite)")
    write_atomic(target, starter_spec(Path.cwd()).encode())
    typer.echo(f"wrote {target}: fill in the datasheets, steps and predictions, then `auditor run -- ...`")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the run record."""
    from auditor.record.schema import schema_text

    typer.echo(schema_text(), nl=False)
