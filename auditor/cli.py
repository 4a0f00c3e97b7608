"""The command line: parses arguments, calls one function, writes its result.

Thin on purpose. Every user error is an `AuditorError` and becomes one line on
stderr and its documented exit code here, in `main`, and nowhere else.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from auditor import __version__

if TYPE_CHECKING:
    from auditor.collect.probe_runner import RunningProbe
    from auditor.policy.invoke import CheckOptions
    from auditor.policy.pack import Pack
    from auditor.record import RunRecord
    from auditor.store import RunStore
import contextlib
import gc

from auditor.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TIMEOUT, AuditorError, UsageError

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


def _store_path(store: Path | None) -> Path:
    from auditor.store import default_store_path

    return store if store is not None else default_store_path(Path.cwd())


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


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    command: Annotated[list[str], typer.Argument(help="The command to run, after `--`.", show_default=False)],
    name: Annotated[str | None, typer.Option("--name", help="A label for this run.")] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Project name [default: repository or folder name].")
    ] = None,
    store: StoreOption = None,
    image: Annotated[
        str | None, typer.Option("--image", help="Run in a container of this local image (id, tag or repo@digest).")
    ] = None,
    network: Annotated[str, typer.Option("--network", help="Container network: none or bridge.")] = "none",
    cpus: Annotated[float | None, typer.Option("--cpus", help="Container CPU limit.")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="Container memory limit, e.g. 2g.")] = None,
    gpus: Annotated[
        str | None, typer.Option("--gpus", help="GPUs for the container: all, or indexes like 0,1.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop the container after this many seconds (exit 124).")
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            help="Writable folder in the container (repeatable) [default: the folders of the outputs "
            "auditor.yaml declares, else ./outputs].",
            show_default=False,
        ),
    ] = None,
    env_vars: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="Container variable NAME=VALUE, or NAME to pass this one (repeatable)."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="uid:gid in the container [default: yours].")] = None,
) -> None:
    """Run a command under capture and store its run record; with --image, in a container.

    Exits with the command's own code (127 not found, 126 not executable, 124 timed out,
    130 interrupted; 125 the engine could not start it; 3 no engine or no such image).
    """
    from auditor.collect.probe_runner import start_probe

    cwd, env = Path.cwd(), dict(os.environ)
    if image is not None:
        _EARLY_PROBE.pop("run", None)
        options = ContainerOptions(image, network, cpus, memory, gpus, timeout, output or [], env_vars or [], user)
        _run_in_container(command, name, project, store, options)
    given = [
        n
        for n, v in (
            ("--cpus", cpus),
            ("--memory", memory),
            ("--gpus", gpus),
            ("--timeout", timeout),
            ("--output", output),
            ("--env", env_vars),
            ("--user", user),
        )
        if v
    ]
    if given or network != "none":
        raise UsageError(f"{', '.join(given) or '--network'}: only for container runs (--image)")
    probe = _EARLY_PROBE.pop("run", None)
    if probe is not None and probe.key != (tuple(command), tuple(sorted(env.items())), str(cwd)):
        probe.cancel()
        probe = None
    if probe is None:
        probe = start_probe(command, env, str(cwd))
    try:
        from auditor.capture import CaptureRequest, capture_run
        from auditor.store import RunStore

        target = RunStore.create(_store_path(store))
        request = CaptureRequest(argv=command, cwd=cwd, env=env, name=name, project=project, probe=probe)
        record = capture_run(target, request)
    except BaseException:
        if probe is not None:
            probe.cancel()
        raise
    _report_run(record, target)


@dataclass(frozen=True)
class ContainerOptions:
    image: str
    network: str
    cpus: float | None
    memory: str | None
    gpus: str | None
    timeout: float | None
    output: list[str]
    env_vars: list[str]
    user: str | None


def _run_in_container(
    command: list[str], name: str | None, project: str | None, store: Path | None, options: ContainerOptions
) -> NoReturn:
    from auditor.capture import CaptureRequest, capture_run
    from auditor.execute.container_setup import container_env, plan_container
    from auditor.store import RunStore

    cwd = Path.cwd()
    store_root = _store_path(store)
    env = container_env(options.env_vars, os.environ)
    plan = plan_container(
        image=options.image,
        network=options.network,
        cpus=options.cpus,
        memory=options.memory,
        gpus=options.gpus,
        timeout_s=options.timeout,
        outputs=options.output,
        user=options.user,
        cwd=cwd,
        store_root=store_root,
    )
    image_path = [e.split("=", 1)[1] for e in plan.image.env if e.startswith("PYTHONPATH=")]
    if image_path and "PYTHONPATH" not in env:  # auditor's hook goes first on it: keep the image's after
        env["PYTHONPATH"] = image_path[0]
    target = RunStore.create(store_root)
    request = CaptureRequest(argv=command, cwd=cwd, env=env, name=name, project=project, container=plan)
    _report_run(capture_run(target, request), target)


def _report_run(record: RunRecord, target: RunStore) -> NoReturn:
    ident = record.identity
    typer.echo(
        f"auditor: run {ident.run_id} {ident.status} (exit {ident.exit_code}) in {ident.duration_s:.2f} s; "
        f"recorded in {target.root}",
        err=True,
    )
    if ident.status == "failed" and ident.error and record.container is not None:
        typer.echo(f"auditor: {ident.error}", err=True)  # e.g. the engine's reason for exit 125
    timed_out = ident.exit_code == EXIT_TIMEOUT and ident.error is not None and ident.error.startswith("timed out")
    if ident.status == "interrupted" and not timed_out:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(ident.exit_code or 0)


@app.command()
def reproduce(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id, unique id prefix, or `latest`.")],
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance",
            help="Metric tolerance NAME=rel:X,abs:Y (NAME may be *); default rel:1e-6,abs:1e-9 (repeatable).",
            show_default=False,
        ),
    ] = None,
    network: Annotated[
        str, typer.Option("--network", help="Allow network access again (bridge) when the original had it.")
    ] = "none",
    store: StoreOption = None,
) -> None:
    """Re-execute a recorded run in its recorded image (or environment) and compare the results.

    Verdict: identical (exit 0), equivalent within tolerance (exit 0), diverged (exit 1); inputs
    changed, image not available or environment different: exit 3 and nothing runs.
    """
    from auditor.capture import capture_run
    from auditor.reproduce.prepare import prepare
    from auditor.reproduce.report import render_reproduction
    from auditor.store import RunStore

    target = RunStore.open(_store_path(store))
    original = target.load(target.resolve(run_ref))
    if network not in ("none", "bridge"):
        raise UsageError(f"--network {network!r}: expected none or bridge")
    request = prepare(target, original, tolerance or [], dict(os.environ), Path.cwd(), network == "bridge")
    record = capture_run(target, request)
    typer.echo("\n".join(render_reproduction(record)))
    if record.identity.status == "interrupted" and record.identity.exit_code != EXIT_TIMEOUT:
        raise typer.Exit(EXIT_INTERRUPTED)
    verdict = record.reproduction.verdict if record.reproduction else "diverged"
    raise typer.Exit(0 if verdict in ("identical", "equivalent") else 1)


@app.command()
def ingest(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[KIND] SOURCE", help="mlflow|dvc|openlineage (detected when left out), then the path or URI."
        ),
    ],
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this run of the source.")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", help="MLflow: only this experiment.")] = None,
    rehash: Annotated[
        bool, typer.Option("--rehash", help="DVC: re-hash workspace files (SHA-256) and report changes since dvc.lock.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Ingest runs that MLflow, DVC or OpenLineage recorded into the run store.

    Parts the tool does not capture are recorded as "not captured by TOOL", so rules on them
    cannot pass. Nothing is written unless every run in the source could be read (exit 2 otherwise).
    """
    from auditor.ingest.dispatch import KINDS, Kind
    from auditor.ingest.dispatch import ingest as ingest_runs
    from auditor.store import RunStore

    if len(args) == 2 and args[0] in KINDS:
        kind: Kind | None = args[0]
        source = args[1]
    elif len(args) == 1:
        kind, source = None, args[0]
    else:
        raise UsageError(f"expected [KIND] SOURCE with KIND one of {', '.join(KINDS)}; got {' '.join(args)!r}")
    target = RunStore.create(_store_path(store))
    for outcome in ingest_runs(kind, source, target, run_id=run_id, experiment=experiment, rehash=rehash):
        for note in outcome.notes:
            typer.echo(f"auditor: note: {note}", err=True)
        what = "ingested" if outcome.new else "already ingested as"
        upstream = f" (source run {outcome.source_run_id})" if outcome.source_run_id else ""
        typer.echo(f"{what} {outcome.run_id}{upstream}")


@app.command()
def runs(
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """List the runs in the store, oldest first."""
    from auditor.errors import InvalidRecordError
    from auditor.store import RunStore
    from auditor.summary import render_runs

    entries = list(RunStore.open(_store_path(store)).iter_records())
    bad = [e for e in entries if isinstance(e, InvalidRecordError)]
    if as_json:
        for entry in entries:
            if not isinstance(entry, InvalidRecordError):
                ident = entry.identity.model_dump(mode="json")
                typer.echo(json.dumps(ident, sort_keys=True))
    else:
        typer.echo(render_runs(entries))
    if bad:
        for error in bad:
            typer.echo(f"auditor: error: {error.message}", err=True)
        raise typer.Exit(bad[0].exit_code)


@app.command()
def show(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id, unique id prefix, or `latest`.")],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole record as JSON.")] = False,
) -> None:
    """Show one run: a readable summary, or the record itself with --json."""
    from auditor.record import dump_record
    from auditor.store import RunStore
    from auditor.summary import render_summary

    target = RunStore.open(_store_path(store))
    record = target.load(target.resolve(run_ref))
    if as_json:
        sys.stdout.buffer.write(dump_record(record))
    else:
        typer.echo(render_summary(record, target.reproductions_of(record.identity.run_id)))


@app.command()
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing auditor.yaml.")] = False,
) -> None:
    """Write a commented starter auditor.yaml for the current folder."""
    from auditor.init import starter_spec
    from auditor.spec import SPEC_FILE
    from auditor.store import write_atomic

    target = Path.cwd() / SPEC_FILE
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists (use --force to overwrite)")
    write_atomic(target, starter_spec(Path.cwd()).encode())
    typer.echo(f"wrote {target}: fill in the datasheets, steps and predictions, then `auditor run -- ...`")


RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="Run id, unique prefix, `latest`, or a record file (.json).")
]
PoliciesOption = Annotated[
    list[str] | None,
    typer.Option("--policy", help="A shipped pack name or a pack file; repeatable [default: auditor.yaml's]"),
]
WaiversOption = Annotated[Path | None, typer.Option("--waivers", help="A waivers file.", show_default=False)]
FailOnOption = Annotated[
    str | None, typer.Option("--fail-on", help="critical, high, medium or low [default: low]", show_default=False)
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="auditor.yaml to read the policy section from [default: ./]")
]
VulnSourceOption = Annotated[
    str | None, typer.Option("--vuln-source", help="local, osv or pypi [default: local with a database, else osv]")
]
AdvisoryDbOption = Annotated[
    Path | None, typer.Option("--advisory-db", help="A local OSV advisory folder [env: AUDITOR_ADVISORY_DB]")
]
OsvUrlOption = Annotated[str | None, typer.Option("--osv-url", help="An OSV API endpoint (a mirror), for osv")]
MaxDbAgeOption = Annotated[
    int | None, typer.Option("--max-db-age", min=0, help="Warn when the local database is older (days) [30]")
]


def _one_shot() -> None:
    """check, report and demo build large object graphs (a record of 10,000 datasets is millions of
    objects) that live until exit: the cyclic collector would only rescan them, tripling the time."""
    gc.disable()


def _check_options(
    run_ref: str,
    store: Path | None,
    policy: list[str] | None,
    waivers: Path | None,
    fail_on: str | None,
    config: Path | None,
    vuln: tuple[str | None, Path | None, str | None, int | None],
) -> CheckOptions:
    from auditor.policy.invoke import CheckOptions

    vuln_source, advisory_db, osv_url, max_db_age = vuln
    return CheckOptions(
        run_ref=run_ref,
        store=_store_path(store),
        cwd=Path.cwd(),
        config=config,
        policies=tuple(policy or ()),
        waivers=waivers,
        fail_on=_choice("--fail-on", fail_on, ("critical", "high", "medium", "low")),  # type: ignore[arg-type]
        vuln_source=_choice("--vuln-source", vuln_source, ("local", "osv", "pypi")),  # type: ignore[arg-type]
        advisory_db=advisory_db,
        osv_url=osv_url,
        max_db_age=max_db_age,
    )


@app.command()
def check(
    run_ref: RunArgument,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json, sarif, junit or github")] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Check a run against policy rules.

    Exit codes: 0 compliant, 1 violations at or above --fail-on, 2 bad usage or input,
    3 something required could not be evaluated (never reported as compliant).
    """
    from auditor.policy.checking import run_check
    from auditor.policy.invoke import prepare, render, stderr_notes
    from auditor.store import write_output

    _one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = _check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    text_format = _choice("--format", fmt, ("text", "json", "sarif", "junit", "github")) or "text"
    report = run_check(prepare(options, dict(os.environ)))
    text = render(report, text_format)  # type: ignore[arg-type]
    if output is not None:
        write_output(output, text.encode())
    else:
        typer.echo(text, nl=False)
    for note in stderr_notes(report, text_format, output is not None):
        typer.echo(f"auditor: {note}", err=True)
    raise typer.Exit(report.with_waivers.exit_code)


@app.command()
def report(
    run_ref: RunArgument,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or html,pdf")] = "html,pdf",
    output: Annotated[Path, typer.Option("-o", "--output", help="The folder to write dossier.html/.pdf into.")] = Path(
        "dossier"
    ),
    pdfa: Annotated[
        bool, typer.Option("--pdfa", help="PDF/A-3b with the run record and findings JSON embedded.")
    ] = False,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Write the audit dossier of a run: HTML and PDF, from the same content.

    Checks the run exactly as `auditor check` does. Exits 0 when the dossier is written, whatever
    its verdict (use `auditor check` as the CI gate); 2 on bad usage or input.
    """
    from auditor.dossier.make import make_report, parse_formats
    from auditor.policy.invoke import prepare

    formats = parse_formats(fmt)
    _one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = _check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    written = make_report(prepare(options, dict(os.environ)), output, formats, pdfa)
    result = written.report.with_waivers
    for path in written.files:
        pages = f" ({written.pdf_pages} pages)" if path.suffix == ".pdf" else ""
        typer.echo(f"wrote {path}{pages}")
    typer.echo(f"verdict: {result.verdict} (`auditor check` would exit {result.exit_code})")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the store and the dossier.")] = Path(
        "auditor-demo"
    ),
) -> None:
    """Run the sample credit-scoring project end to end: capture, check, dossier (HTML and PDF).

    Uses the advisory database in AUDITOR_ADVISORY_DB when set; otherwise pip-audit asks the OSV
    API, and without a network the vulnerability rule says "could not evaluate"."""
    from auditor.demo import run_demo

    _one_shot()
    result = run_demo(output, dict(os.environ))
    verdict = result.report.with_waivers
    typer.echo("")
    typer.echo(f"run:      {result.record.identity.run_id} ({result.record.identity.status})")
    for path in result.files:
        typer.echo(f"dossier:  {path}" + (f" ({result.pages} pages, PDF/A-3b)" if path.suffix == ".pdf" else ""))
    typer.echo(f"verdict:  {verdict.verdict.replace('_', ' ')}: {_verdict_counts(verdict.totals.failing_by_severity)}")


def _verdict_counts(failing: dict[str, int]) -> str:
    return ", ".join(f"{n} {s} failing" for s, n in failing.items() if n) or "nothing failing"


def _choice(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    return value


rules_app = typer.Typer(help="Rule packs: list, explain and validate rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

PolicyOption = Annotated[
    str | None,
    typer.Option("--policy", help="A shipped pack name or a pack file [default: default]", show_default=False),
]


def _pack(policy: str | None) -> Pack:
    from auditor.policy.describe import DEFAULT_PACK
    from auditor.policy.invoke import pack_path
    from auditor.policy.pack import load_pack

    return load_pack(pack_path(policy or DEFAULT_PACK, Path.cwd()))


@rules_app.command("list")
def rules_list(policy: PolicyOption = None) -> None:
    """List the rules of a pack (and of the packs it includes)."""
    from auditor.policy.describe import render_list

    typer.echo(render_list(_pack(policy)))


@rules_app.command("explain")
def rules_explain(rule_id: Annotated[str, typer.Argument(metavar="ID")], policy: PolicyOption = None) -> None:
    """Explain one rule: why it matters, what to do, which clauses it serves."""
    from auditor.policy.describe import render_explain

    pack = _pack(policy)
    match = next((r for r in pack.rules if r.rule.id == rule_id.upper()), None)
    if match is None:
        raise UsageError(f"no rule {rule_id!r} in pack {pack.name} (see `auditor rules list`)")
    typer.echo(render_explain(match))


@rules_app.command("validate")
def rules_validate(file: Annotated[Path, typer.Argument(metavar="FILE")]) -> None:
    """Check a rule pack file: YAML, fields, check kinds and parameters, includes."""
    from auditor.policy.pack import load_pack

    pack = load_pack(file)
    typer.echo(f"{file}: valid pack {pack.name} (version {pack.version}), {len(pack.rules)} rules")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the run record."""
    from auditor.record.schema import schema_text

    typer.echo(schema_text(), nl=False)


# `auditor run` starts the environment probe in the command's interpreter before the
# argument parser and auditor's models load (~0.3 s), so the two overlap; `run`
# takes the probe only if it was started for exactly its command, folder and env.
_EARLY_PROBE: dict[str, RunningProbe] = {}


def _start_probe_early(args: list[str]) -> None:
    if len(args) >= 3 and args[0] == "run" and "--" in args:
        command = args[args.index("--") + 1 :]
        if command:
            from auditor.collect.probe_runner import start_probe

            probe = start_probe(command, dict(os.environ), str(Path.cwd()))
            if probe is not None:
                _EARLY_PROBE["run"] = probe


def main() -> NoReturn:
    """Entry point: one line and a documented exit code for every user error."""
    _start_probe_early(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except AuditorError as exc:
        _fail(exc.message, exc.exit_code)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except typer.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # bad usage, reported by the argument parser
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _fail(exc.format_message(), UsageError.exit_code)
        sys.exit(UsageError.exit_code)
    except Exception:
        log = _crash_log()
        _fail(f"internal error (a bug in auditor); details in {log}", EXIT_INTERNAL)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """Leave without tearing the interpreter down (~0.1 s with pydantic loaded).

    Safe because everything auditor writes is already flushed and fsynced by then."""
    for probe in _EARLY_PROBE.values():
        probe.cancel()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # None when started closed
            stream.flush()
    os._exit(code)


def _fail(message: str, code: int) -> NoReturn:
    from auditor.summary import safe

    if sys.stderr is not None:
        sys.stderr.write(f"auditor: error: {safe(message)}\n")
    _exit(code)


def _crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="auditor-crash-", suffix=".log")
    from auditor.redact import mask

    with os.fdopen(fd, "w") as handle:  # argv and messages can carry secrets: mask them here too
        handle.write(mask(f"auditor {__version__}\nargv: {sys.argv!r}\n\n{traceback.format_exc()}")[0])
    return path
