"""Commands that make run records: execute (`run`, `reproduce`) or ingest (`ingest`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from auditor.cli.app import StoreOption, app, option, say, store_path
from auditor.cli.early import EARLY_PROBE
from auditor.cli.running import report_head, report_run, run_here, update_index
from auditor.errors import UsageError
from auditor.ingest import registry as ingesters  # light: the help below is built from it

NETWORKS = ("none", "bridge")

if TYPE_CHECKING:
    from auditor.capture.execute.container_setup import ContainerOptions


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
    if image is not None:
        early = EARLY_PROBE.pop("run", None)
        if early is not None:
            early.cancel()
        _run_in_container(command, name, project, store, options)
    options.refuse_without_image()
    raise typer.Exit(run_here(command, name, project, store))


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
    raise typer.Exit(report_run(capture_run(target, request), target))


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
    update_index(target)
    typer.echo("\n".join(render_reproduction(record)))
    report_head(target)
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
    update_index(target)
    report_head(target)
