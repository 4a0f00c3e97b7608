"""Command: `export`: one run in a standard format other tools read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.app import StoreOption, app, option, say, store_path

if TYPE_CHECKING:
    from auditor.export.facts import Approval
    from auditor.store.runs import RunStore

EXPORT_CHOICES = ("cyclonedx", "spdx", "prov", "openlineage")  # auditor.export.EXPORT_FORMATS, without loading it


@app.command()
def export(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
    ],
    fmt: Annotated[
        str | None,
        option(
            "--format",
            command="export",
            choices=EXPORT_CHOICES,
            help="cyclonedx: CycloneDX 1.6 ML-BOM | spdx: SPDX 3.0 JSON-LD (AI, Dataset) | prov: W3C PROV-JSON "
            "| openlineage: OpenLineage RunEvents, one per line",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        option("-o", "--output", command="export", metavar="FILE", help="Write here (- for stdout) [default: stdout]"),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Export one run as a CycloneDX ML-BOM, an SPDX 3 document, W3C PROV or OpenLineage events.

    Needs the export extra (pip install 'auditor[export]'). The file is written whole or not at all.
    Exit codes: 0 written, 2 bad usage (no or unknown format, unknown run, a missing extra).
    """
    from auditor.errors import UsageError
    from auditor.export import export_format
    from auditor.export.facts import Export
    from auditor.files import write_output
    from auditor.store.runs import RunStore

    if fmt is None:
        raise UsageError(f"--format: give one of {', '.join(EXPORT_CHOICES)}")
    chosen = export_format(fmt)
    target = RunStore.open(store_path(store))
    run_id = target.resolve(run_ref)
    record = target.load(run_id)
    text = chosen.render(Export(record=record, now=datetime.now(UTC), approvals=_approvals(target, run_id)))
    if output is None or str(output) == "-":
        typer.echo(text, nl=False)
    else:
        write_output(output, text.encode())
        say(f"wrote {output}: {chosen.summary}")


def _approvals(target: RunStore, run_id: str) -> tuple[Approval, ...]:
    """The sign-offs the store's log vouches for; one that cannot be read is left out (`auditor
    signoffs` reports it), as is any signature question: export states who decided, not whether to believe it."""
    from auditor.errors import AuditorError
    from auditor.export.facts import Approval
    from auditor.store.signoffs import parse_signoff, stored_signoffs

    found = []
    for stored in stored_signoffs(target, run_id):
        if stored.data is None:
            continue
        try:
            signoff, _ = parse_signoff(stored.data, str(stored.path))
        except AuditorError:
            continue
        if signoff.run_id == run_id:
            found.append(Approval(signoff.name, signoff.role, signoff.decision, signoff.decided_at, signoff.comment))
    return tuple(found)
