"""The Typer app and the options and helpers several commands share."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from auditor import __version__
from auditor.errors import UsageError

app = typer.Typer(
    name="auditor",
    help="Make machine-learning runs auditable: capture, check, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Run store folder [default: $AUDITOR_STORE or ./.auditor]", show_default=False),
]


def store_path(store: Path | None) -> Path:
    from auditor.store.runs import default_store_path

    return store if store is not None else default_store_path(Path.cwd())


def one_shot() -> None:
    """check, report and demo build large object graphs (a record of 10,000 datasets is millions of
    objects) that live until exit: the cyclic collector would only rescan them, tripling the time."""
    gc.disable()


def choice(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """auditor: execute or ingest -> run record -> check -> dossier."""
