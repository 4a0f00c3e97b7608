"""Commands that read the store or the project: `runs`, `show`, `schema`, `init`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import StoreOption, app, option, store_path
from auditor.errors import UsageError

STATUSES = ("succeeded", "failed", "interrupted", "unfinished")
VERDICTS = ("compliant", "violations", "could_not_evaluate", "unchecked")
FORMATS = ("text", "json")


@app.command()
def runs(
    store: StoreOption = None,
    project: Annotated[
        str | None, option("--project", command="runs", metavar="NAME", help="Only runs of this project.")
    ] = None,
    owner: Annotated[
        str | None, option("--owner", metavar="NAME", help="Only runs whose project this owner owns.")
    ] = None,
    status: Annotated[str | None, option("--status", choices=STATUSES, help="Only runs that ended so.")] = None,
    verdict: Annotated[
        str | None, option("--verdict", choices=VERDICTS, help="Only runs whose latest `auditor check` said so.")
    ] = None,
    since: Annotated[
        str | None,
        option(
            "--since", metavar="DATE|TIME", help="Started at or after: YYYY-MM-DD or an ISO 8601 time (UTC if none)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        option("--until", metavar="DATE|TIME", help="Started at or before: YYYY-MM-DD (the whole day) or an ISO time."),
    ] = None,
    dataset: Annotated[
        str | None,
        option(
            "--dataset",
            metavar="KEY",
            help="A dataset version: a content key (sha256:HEX, md5:...) or 8+ hex of a SHA-256.",
        ),
    ] = None,
    package: Annotated[
        str | None,
        option("--package", metavar="NAME==VERSION", help="NAME==VERSION installed in the run (name normalised)."),
    ] = None,
    fmt: Annotated[str, option("--format", command="runs", choices=FORMATS, help="How to print the runs.")] = "text",
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
) -> None:
    """List the runs in the store, oldest first; filters narrow the list (all must hold).

    Answered from the run index (STORE/index.sqlite, or $AUDITOR_INDEX_URL), brought up to the
    store's log first. --format json prints one JSON object per run (its summary). A folder in the
    store that is not a run auditor committed gets one error line naming it: exit 2 for a folder
    that is not a run (another run's id, a link), exit 4 for a record the store's log does not
    vouch for (not in the log, changed since). A store an earlier auditor wrote is refused until
    `auditor store migrate` moves it to the log. A bad filter value: one line, exit 2.
    """
    from auditor.cli.index import print_notes, run_filters
    from auditor.index.query import listing
    from auditor.render.summary import render_runs
    from auditor.store.runs import RunStore

    chosen = "json" if as_json else fmt
    filters = run_filters(
        project,
        owner,
        status,
        verdict,
        since,
        until,
        dataset,
        package,
    )
    target = RunStore.open(store_path(store))
    found = listing(target, filters)
    print_notes()
    if chosen == "json":
        for run in found.runs:
            typer.echo(run.listing_json())
    else:
        typer.echo(render_runs(found.runs, filtered=filters != type(filters)()))
    if found.refused:
        for error in found.refused:
            typer.echo(f"auditor: error: {error.message}", err=True)
        raise typer.Exit(max(error.exit_code for error in found.refused))


@app.command()
def show(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
    ],
    store: StoreOption = None,
    fmt: Annotated[
        str,
        option("--format", command="show", choices=FORMATS, help="text: a readable summary; json: the whole record."),
    ] = "text",
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
) -> None:
    """Show one run: a readable summary, or the record itself with --format json."""
    from auditor.cli.index import print_notes
    from auditor.index.query import reproduction_records
    from auditor.record import dump_record
    from auditor.render.summary import render_summary
    from auditor.store.runs import RunStore

    target = RunStore.open(store_path(store))
    record = target.load(target.resolve(run_ref))
    if as_json or fmt == "json":
        sys.stdout.buffer.write(dump_record(record))
    else:
        from auditor.cli.notes import discussion_of

        reproductions = reproduction_records(target, record.identity.run_id)
        print_notes()
        typer.echo(render_summary(record, reproductions))
        typer.echo(discussion_of(target, record.identity.run_id))


@app.command()
def init(
    force: Annotated[bool, option("--force", help="Overwrite an existing auditor.yaml.")] = False,
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
