"""Commands that make run records: execute (`run`, `reproduce`) or ingest (`ingest`)."""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from auditor.cli.app import StoreOption, app, option, say, store_path
from auditor.cli.early import EARLY_PROBE
from auditor.errors import UsageError
from auditor.index import shared as shared_index
from auditor.ingest import registry as ingesters  # light: the help below is built from it

NETWORKS = ("none", "bridge")

if TYPE_CHECKING:
    from auditor.capture.execute.container_setup import ContainerOptions
    from auditor.record import RunRecord
    from auditor.store.runs import RunStore


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    command: Annotated[
        list[str], typer.Argument(metavar="COMMAND", help="The command to run, after `--`.", show_default=False)
    ],
    name: Annotated[str | None, option("--name", command="run", metavar="TEXT", help="A label for this run.")] = None,
    project: Annotated[
        str | None,
        option("--project", command="run", metavar="NAME", help="Project name [default: repository or folder name]."),
    ] = None,
    store: StoreOption = None,
    image: Annotated[
        str | None,
        option("--image", metavar="IMAGE", help="Run in a container of this local image (id, tag or repo@digest)."),
    ] = None,
    network: Annotated[str, option("--network", choices=NETWORKS, help="Container network.")] = "none",
    cpus: Annotated[float | None, option("--cpus", metavar="N", help="Container CPU limit.")] = None,
    memory: Annotated[str | None, option("--memory", metavar="SIZE", help="Container memory limit, e.g. 2g.")] = None,
    gpus: Annotated[
        str | None, option("--gpus", metavar="all|N,N", help="GPUs for the container: all, or indexes like 0,1.")
    ] = None,
    timeout: Annotated[
        float | None,
        option("--timeout", metavar="SECONDS", help="Stop the container after this many seconds (exit 124)."),
    ] = None,
    output: Annotated[
        list[str] | None,
        option(
            "--output",
            command="run",
            metavar="DIR",
            help="Writable folder in the container (repeatable) [default: the folders of the outputs "
            "auditor.yaml declares, else ./outputs].",
            show_default=False,
        ),
    ] = None,
    env_vars: Annotated[
        list[str] | None,
        option(
            "--env",
            "-e",
            command="run",
            metavar="NAME[=VALUE]",
            help="Container variable NAME=VALUE, or NAME to pass this one (repeatable).",
        ),
    ] = None,
    user: Annotated[
        str | None, option("--user", metavar="UID:GID", help="uid:gid in the container [default: yours].")
    ] = None,
) -> None:
    """Run a command under capture and store its run record; with --image, in a container.

    Exits with the command's own code (127 not found, 126 not executable, 124 timed out,
    130 interrupted; 125 the engine could not start it; 3 no engine or no such image; 74 the
    store failed under the run).
    """
    from auditor.capture.execute.container_setup import ContainerOptions

    options = ContainerOptions(image or "", network, cpus, memory, gpus, timeout, output or (), env_vars or (), user)
    early = EARLY_PROBE.pop("run", None)
    if image is not None:
        if early is not None:
            early.cancel()
        _run_in_container(command, name, project, store, options)
    options.refuse_without_image()
    from auditor.capture.execute.local_setup import local_request
    from auditor.capture.run import capture_run
    from auditor.store.runs import RunStore

    env = dict(os.environ)
    if shared_index(env):  # see _report_run: only a shared index is updated by `run`
        _import_index_meanwhile()  # after this thread's own imports, so the two import no module at once

    with local_request(command, cwd=Path.cwd(), env=env, early_probe=early, name=name, project=project) as request:
        target = RunStore.deferred(store_path(store))
        record = capture_run(target, request)
    _report_run(record, target)


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


def _run_in_container(
    command: list[str], name: str | None, project: str | None, store: Path | None, options: ContainerOptions
) -> NoReturn:
    from auditor.capture.execute.container_setup import container_request
    from auditor.capture.run import capture_run
    from auditor.store.runs import RunStore

    store_root = store_path(store)
    request = container_request(
        command, options, cwd=Path.cwd(), store_root=store_root, host_env=os.environ, name=name, project=project
    )
    target = RunStore.deferred(store_root)
    _report_run(capture_run(target, request), target)


def _report_run(record: RunRecord, target: RunStore) -> NoReturn:
    """The run's line and the log's head; a shared index (AUDITOR_INDEX_URL) is updated here.

    The store's own index is left to the next command that reads it, which indexes every entry
    after the ones it covers, each record verified (see index/sync.py), as it does after any
    commit it missed: `run` then never imports SQLAlchemy (about 0.2 s of CPU, more than all the rest
    of a minimal command's capture). A shared index is updated at once: other machines read it."""
    from auditor.capture.outcome import exit_code

    ident = record.identity
    code = "no exit code" if ident.exit_code is None else f"exit {ident.exit_code}"
    say(f"run {ident.run_id} {ident.status} ({code}) in {ident.duration_s or 0:.2f} s; recorded in {target.root}")
    if ident.status == "failed" and ident.error and record.container is not None:
        typer.echo(f"auditor: {ident.error}", err=True)  # e.g. the engine's reason for exit 125
    if shared_index(os.environ):
        _update_index(target)
    _report_head(target)
    raise typer.Exit(exit_code(ident, ident.exit_code or 0))


ToleranceOption = Annotated[
    list[str] | None,
    option(
        "--tolerance",
        metavar="NAME=rel:X,abs:Y",
        help="Metric tolerance NAME=rel:X,abs:Y (NAME may be *); default rel:1e-6,abs:1e-9 (repeatable).",
        show_default=False,
    ),
]


@app.command()
def reproduce(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="A run in the store: its id, a unique prefix, or `latest`.")
    ],
    tolerance: ToleranceOption = None,
    network: Annotated[
        str, option("--network", choices=NETWORKS, help="Allow network access again (bridge) when the original had it.")
    ] = "none",
    store: StoreOption = None,
) -> None:
    """Re-execute a recorded run in its recorded image (or environment) and compare the results.

    Verdict: identical (exit 0), equivalent within tolerance (exit 0), diverged (exit 1); a re-run
    stopped by the recorded --timeout exits 124, an interrupted one 130; inputs changed, image
    not available or environment different: exit 3 and nothing runs.
    """
    from auditor.capture.outcome import exit_code
    from auditor.capture.run import capture_run
    from auditor.render.reproduction import render_reproduction
    from auditor.reproduce.prepare import prepare
    from auditor.store.runs import RunStore

    target = RunStore.open(store_path(store))
    original = target.load(target.resolve(run_ref))
    request = prepare(target, original, tolerance or [], dict(os.environ), Path.cwd(), network)
    record = capture_run(target, request)
    _update_index(target)
    typer.echo("\n".join(render_reproduction(record)))
    _report_head(target)
    verdict = record.reproduction.verdict if record.reproduction else "diverged"
    raise typer.Exit(exit_code(record.identity, 0 if verdict in ("identical", "equivalent") else 1))


@app.command(help=ingesters.command_help())
def ingest(
    args: Annotated[list[str], typer.Argument(metavar="[KIND] SOURCE", help=ingesters.kind_help())],
    run_id: Annotated[str | None, option("--run-id", metavar="ID", help=ingesters.option_help("--run-id"))] = None,
    experiment: Annotated[
        str | None, option("--experiment", metavar="NAME", help=ingesters.option_help("--experiment"))
    ] = None,
    rehash: Annotated[bool, option("--rehash", help=ingesters.option_help("--rehash"))] = False,
    spec: Annotated[
        Path | None,
        option(
            "--spec",
            metavar="FILE",
            help="The auditor.yaml whose datasheets, models, predictions and governance apply to the runs "
            "[default: $AUDITOR_SPEC, else auditor.yaml in the source's project, else in the current folder].",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None,
        option(
            "--project",
            command="ingest",
            metavar="NAME",
            help="File every run read under this project [default: the name the source gives: the MLflow "
            "experiment, the DVC repository's folder, the OpenLineage namespace, the W&B project].",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    from auditor.ingest.declared_find import find_declaration
    from auditor.ingest.interface import Options
    from auditor.store.runs import RunStore

    if len(args) == 2 and args[0] in ingesters.KINDS:
        kind: str | None = args[0]
        source = args[1]
    elif len(args) == 1:
        kind, source = None, args[0]
    else:
        raise UsageError(
            f"expected [KIND] SOURCE with KIND one of {', '.join(ingesters.KINDS)}; got {' '.join(args)!r}"
        )
    options = Options.parse({"--run-id": run_id, "--experiment": experiment, "--rehash": rehash})
    declaration = find_declaration(ingesters.canonical(source), spec, Path.cwd())  # a bad one: exit 2 before reading
    if declaration is not None:
        say(f"applying {declaration.file}")
    target = RunStore.deferred(store_path(store))
    if project is not None and (not project.strip() or project != project.strip() or not project.isprintable()):
        raise UsageError(f"--project: {project!r} is not a project name (printable text, no surrounding spaces)")
    for outcome in ingesters.ingest(kind, source, target, options, declaration, project):
        for note in outcome.notes:
            say(f"note: {note}")
        what = "ingested" if outcome.new else "already ingested as"
        upstream = f" (source run {outcome.source_run_id})" if outcome.source_run_id else ""
        typer.echo(f"{what} {outcome.run_id}{upstream}")
    _update_index(target)
    _report_head(target)


def _update_index(target: RunStore) -> None:
    from auditor.cli.index import update_index  # not at import: `auditor --help` loads this module

    update_index(target)


def _report_head(target: RunStore) -> None:
    """The log's head after this command's records: publish it to pin the store's history."""
    head = target.committed or target.head()
    say(f"log head {head.text()}")
