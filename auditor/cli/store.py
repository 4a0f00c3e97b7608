"""Commands on the store's tamper-evident log: `log head`, `log verify`, `log prove`, `store migrate`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.app import StoreOption, app, option, say, store_path

if TYPE_CHECKING:
    from auditor.store.log import LogHead

log_app = typer.Typer(
    name="log",
    help="The store's tamper-evident log of every record: its head, a full check, a proof.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
store_app = typer.Typer(name="store", help="Maintain the run store.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(log_app)
app.add_typer(store_app)

HeadOption = Annotated[
    list[str] | None,
    option(
        "--head",
        command="log verify",
        metavar="SIZE:ROOT",
        help="A head printed or published earlier (after a run, in a CI log): the log must extend it (repeatable).",
        show_default=False,
    ),
]


def _heads(given: list[str] | None) -> tuple[LogHead, ...]:
    from auditor.store.log import LogHead

    return tuple(LogHead.parse(text) for text in given or ())


@log_app.command("head")
def head(store: StoreOption = None) -> None:
    """Print the log's head, SIZE:ROOT: publish it (a CI log, a ticket) to pin the store's history."""
    from auditor.store.runs import RunStore

    typer.echo(RunStore.open(store_path(store)).head().text())


@log_app.command("verify")
def verify(store: StoreOption = None, heads: HeadOption = None) -> None:
    """Recompute the whole log from its entries and check it: every head it recorded and every
    --head given is a prefix of it, its stored hashes are the recomputed ones, and every run's
    record has the bytes its entry holds. Exit 0 only if all of it verifies, 4 otherwise."""
    from auditor.errors import EXIT_UNVERIFIED
    from auditor.store.audit import check_store
    from auditor.store.runs import RunStore

    given = _heads(heads)
    result = check_store(RunStore.open(store_path(store)), given)
    for note in result.notes:
        say(f"note: {note}")
    for problem in result.problems:
        typer.echo(f"auditor: error: {problem}", err=True)
    if result.problems:
        raise typer.Exit(EXIT_UNVERIFIED)
    typer.echo(
        f"log verified: {result.head.size} entries, {result.heads} heads recorded, {len(given)} given; "
        f"head {result.head.text()}"
    )


@log_app.command("prove")
def prove(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
    ],
    store: StoreOption = None,
    head: Annotated[
        str | None,
        option(
            "--head", command="log prove", metavar="SIZE:ROOT", help="Also prove the log extends this earlier head."
        ),
    ] = None,
) -> None:
    """Print the proof that the run's record is in the log (JSON, as a bundle carries it); with
    --head, a second line: the proof that the log only grew since that head."""
    from auditor.store.log import LogHead
    from auditor.store.runs import RunStore

    old = LogHead.parse(head) if head is not None else None
    target = RunStore.open(store_path(store))
    inclusion = target.inclusion(target.resolve(run_ref))
    consistency = target.consistency(old) if old is not None else None
    typer.echo(inclusion.to_json().decode())
    if consistency is not None:
        typer.echo(consistency.to_json().decode())


@store_app.command("migrate")
def migrate(
    store: StoreOption = None,
    adopt_unindexed: Annotated[
        bool,
        option(
            "--adopt-unindexed",
            help="Also adopt the run folders no index names (a store an auditor without an index wrote): "
            "only on a store whose runs you trust, since a folder a run planted would be adopted too.",
        ),
    ] = False,
) -> None:
    """Move a store an earlier auditor wrote onto the tamper-evident log, once: each indexed run's
    record is hashed again first, and one that changed is reported and left out (exit 4)."""
    from auditor.store.migrate import migrate as run_migration
    from auditor.store.runs import RunStore

    result = run_migration(RunStore.open(store_path(store)), adopt_unindexed=adopt_unindexed)
    for run_id in result.migrated:
        say(f"migrated {run_id}")
    for line, _ in result.left_out:
        typer.echo(f"auditor: error: {line}", err=True)
    typer.echo(f"migrated {len(result.migrated)} runs; log head {result.head.text()}")
    if result.left_out:
        raise typer.Exit(max(code for _, code in result.left_out))
