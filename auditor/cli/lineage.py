"""Commands: `lineage`, `duplicates`: questions across runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.app import StoreOption, app, emit, option, store_path

if TYPE_CHECKING:
    from auditor.index.query import Listing

LINEAGE_FORMATS = ("text", "json", "dot", "svg", "html")
DUPLICATE_FORMATS = ("text", "json")
GROUPINGS = ("project", "owner")


def _listing(store: Path | None) -> Listing:
    from auditor.index.query import Filters, listing
    from auditor.store.runs import RunStore

    return listing(RunStore.open(store_path(store)), Filters())


def _finish(found: Listing) -> None:
    """Folders that are not runs auditor committed were left out: one line each, and their exit code."""
    for error in found.refused:
        typer.echo(f"auditor: error: left out: {error.message}", err=True)
    if found.refused:
        raise typer.Exit(max(error.exit_code for error in found.refused))


@app.command()
def lineage(
    project: Annotated[
        str | None,
        option(
            "--project",
            command="lineage",
            metavar="NAME",
            help="One project and the runs of other projects that produced what it read or read what it produced.",
        ),
    ] = None,
    fmt: Annotated[
        str, option("--format", command="lineage", choices=LINEAGE_FORMATS, help="How to draw it.")
    ] = "text",
    output: Annotated[
        Path | None,
        option("-o", "--output", command="lineage", metavar="FILE", help="Write here instead of stdout (- is stdout)."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Lineage across runs: which run produced each dataset and model version, which runs read it.

    Runs are linked when one read a version (same content hash) another produced; reproductions and
    re-ingests are shown as such. Exit codes: 0 drawn, 2 bad usage (unknown format or project) or a
    missing Graphviz for svg/html, and a folder in the store that is not a committed run is left out
    with one line and its own code (2, or 4 for a record the store's log does not vouch for).
    """
    from auditor.portfolio.lineage import cross_run_lineage
    from auditor.portfolio.lineage_render import RENDERERS

    found = _listing(store)
    emit(RENDERERS[fmt](cross_run_lineage(found.runs, project)), output)
    _finish(found)


@app.command()
def duplicates(
    by: Annotated[
        str, option("--by", choices=GROUPINGS, help="Compare projects, or owners (all of an owner's projects).")
    ] = "project",
    min_score: Annotated[
        float, option("--min-score", metavar="SCORE", help="Show pairs scoring at least this (0 to 1).")
    ] = 0.5,
    fmt: Annotated[
        str, option("--format", command="duplicates", choices=DUPLICATE_FORMATS, help="How to print the pairs.")
    ] = "text",
    output: Annotated[
        Path | None,
        option(
            "-o", "--output", command="duplicates", metavar="FILE", help="Write here instead of stdout (- is stdout)."
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Pairs of projects (or owners) that look like the same work, with their evidence, highest score first.

    Evidence: the same input data (by content hash), the same pipeline steps, the same label and
    sensitive attributes, near-identical code. Data read by 3 or more projects is shared reference data
    and weighs nothing; a pair needs two strong signals. Exit codes as for `lineage`; finding pairs is
    not a failure (exit 0).
    """
    from auditor.errors import UsageError
    from auditor.portfolio.duplicates import find_duplicates
    from auditor.portfolio.duplicates_render import render_duplicates

    chosen, grouping = fmt, by
    if not 0.0 <= min_score <= 1.0:
        raise UsageError(f"--min-score: {min_score} is not between 0 and 1")
    found = _listing(store)
    pairs = find_duplicates(found.runs, by="owner" if grouping == "owner" else "project", min_score=min_score)
    groups = {(s.owner if grouping == "owner" else s.project) for s in found.runs} - {None}
    emit(render_duplicates(pairs, chosen, by=grouping, min_score=min_score, groups=len(groups)), output)
    _finish(found)
