"""`auditor run` on this machine, and the lines that report a run: the part of `run` that needs
neither Typer nor the command's options.

Here, not in cli/capture.py, so the plain form of `auditor run -- COMMAND` (see early.py) reaches
it without importing Typer and building its option parser (0.04-0.06 s of CPU, on the path to
the command's start); the `run` command in cli/capture.py calls the same functions.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.cli.early import EARLY_PROBE, start_up_done
from auditor.index import shared as shared_index

if TYPE_CHECKING:
    from auditor.record import RunRecord
    from auditor.store.runs import RunStore


def run_here(command: list[str], name: str | None, project: str | None, store: Path | None) -> int:
    """Run `command` under capture on this machine, store its record, report it; the exit code."""
    from auditor.capture.execute.local_setup import local_request
    from auditor.capture.run import capture_run
    from auditor.store.runs import RunStore, default_store_path

    start_up_done()  # what `run` needs is loaded (see cli/early.py)
    early = EARLY_PROBE.pop("run", None)
    env = dict(os.environ)
    if shared_index(env):  # see report_run: only a shared index is updated by `run`
        _import_index_meanwhile()  # after this thread's own imports, so the two import no module at once

    with local_request(command, cwd=Path.cwd(), env=env, early_probe=early, name=name, project=project) as request:
        target = RunStore.deferred(store if store is not None else default_store_path(Path.cwd()))
        record = capture_run(target, request)
    return report_run(record, target)


def _import_index_meanwhile() -> None:
    """Import SQLAlchemy, which the run index needs (0.1-0.2 s of CPU), on a thread while the run
    is captured.

    It is needed only after the record is committed, and until then the main thread mostly waits
    (on the command, the probe, fsync): the import fills those waits instead of following them.
    Only SQLAlchemy, never auditor's own modules, which the main thread imports meanwhile: two
    threads importing the same modules can meet in a cycle and see half-initialized modules. A
    failed import is left to the main thread, which imports it again and reports as it always did.
    """

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module("sqlalchemy.dialects.sqlite")

    threading.Thread(target=load, name="auditor-import-sqlalchemy", daemon=True).start()


def report_run(record: RunRecord, target: RunStore) -> int:
    """The run's line and the log's head, and the exit code `run` leaves with; a shared index
    (AUDITOR_INDEX_URL) is updated here.

    The store's own index is left to the next command that reads it, which indexes every entry
    after the ones it covers, each record verified (see index/sync.py), as it does after any
    commit it missed: `run` then never imports SQLAlchemy (about 0.2 s of CPU, more than all the rest
    of a minimal command's capture). A shared index is updated at once: other machines read it."""
    from auditor import progress
    from auditor.capture.outcome import exit_code

    ident = record.identity
    code = "no exit code" if ident.exit_code is None else f"exit {ident.exit_code}"
    progress.say(
        f"run {ident.run_id} {ident.status} ({code}) in {ident.duration_s or 0:.2f} s; recorded in {target.root}"
    )
    if ident.status == "failed" and ident.error and record.container is not None:
        import typer  # a container run only, which Typer parsed

        typer.echo(f"auditor: {ident.error}", err=True)  # e.g. the engine's reason for exit 125
    if shared_index(os.environ):
        update_index(target)
    report_head(target)
    return exit_code(ident, ident.exit_code or 0)


def update_index(target: RunStore) -> None:
    from auditor.cli.index import update_index as update  # not at import: `auditor --help` loads cli.capture

    update(target)


def report_head(target: RunStore) -> None:
    """The log's head after this command's records: publish it to pin the store's history."""
    from auditor import progress

    head = target.committed or target.head()
    progress.say(f"log head {head.text()}")
