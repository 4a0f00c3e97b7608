"""Commands that check and report: `check`, `report`, `demo`, `rules`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.check.vulns.sources import SOURCES
from auditor.cli.app import StoreOption, app, keep_until_exit, one_shot, option, stdin_file, store_path
from auditor.errors import UsageError
from auditor.render.formats import CHECK_FORMATS, DOSSIER_FORMATS
from auditor.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.check.options import CheckOptions
    from auditor.check.packs import Pack
    from auditor.render.formats import ReportFormat
    from auditor.sign.keys import Signer


RunArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="A run in the store (its id, a unique prefix, or `latest`), or a record FILE when it is clearly a "
        "path: it ends in .json or holds a /; `-` reads a record from stdin. A loose record file is checked, but "
        "no file it names is read.",
    ),
]
SEVERITIES = tuple(reversed(SEVERITY_ORDER))  # worst first
PoliciesOption = Annotated[
    list[str] | None,
    option(
        "--policy",
        metavar="PACK|FILE",
        help="A shipped pack name or a pack file; repeatable [default: auditor.yaml's]",
        show_default=False,
    ),
]
WaiversOption = Annotated[
    Path | None, option("--waivers", metavar="FILE", help="A waivers file (- reads stdin).", show_default=False)
]
FailOnOption = Annotated[
    str | None,
    option(
        "--fail-on",
        choices=SEVERITIES,
        help="The least severity that fails the check [default: low]",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    option("--config", metavar="FILE", help="auditor.yaml to read the policy section from [default: ./]"),
]
VulnSourceOption = Annotated[
    str | None,
    option(
        "--vuln-source",
        choices=tuple(SOURCES),
        help="Where advisories come from [default: local with a database, else osv]",
    ),
]
AdvisoryDbOption = Annotated[Path | None, option("--advisory-db", metavar="DIR", help="A local OSV advisory folder.")]
OsvUrlOption = Annotated[str | None, option("--osv-url", metavar="URL", help="An OSV API endpoint (a mirror), for osv")]
MaxDbAgeOption = Annotated[
    int | None,
    option("--max-db-age", min=0, metavar="DAYS", help="Warn when the local database is older [default: 30]"),
]


def check_options(
    run_ref: str,
    store: Path | None,
    policy: list[str] | None,
    waivers: Path | None,
    fail_on: str | None,
    config: Path | None,
    vuln: tuple[str | None, Path | None, str | None, int | None],
) -> CheckOptions:
    from auditor.check.options import CheckOptions

    vuln_source, advisory_db, osv_url, max_db_age = vuln
    return CheckOptions(
        run_ref=run_ref,
        store=store_path(store),
        cwd=Path.cwd(),
        config=config,
        policies=tuple(policy or ()),
        waivers=waivers,
        fail_on=fail_on,  # type: ignore[arg-type]  # one of SEVERITIES: its option's choices
        vuln_source=vuln_source,  # type: ignore[arg-type]  # one of SOURCES
        advisory_db=advisory_db,
        osv_url=osv_url,
        max_db_age=max_db_age,
    )


FORMAT_METAVAR = "FORMAT[=FILE]"


@app.command()
def check(
    run_ref: RunArgument,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    fmt: Annotated[
        list[str] | None,
        option(
            "--format",
            command="check",
            metavar=FORMAT_METAVAR,
            help=f"{' | '.join(CHECK_FORMATS)}; FORMAT=FILE writes that format to FILE (- is stdout). "
            "Repeatable: several formats from one check, at most one of them to stdout [default: text]",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        option("-o", "--output", command="check", metavar="FILE", help="Write here instead of stdout (- is stdout)."),
    ] = None,
    exit_zero: Annotated[
        bool,
        option(
            "--exit-zero",
            help="Soft-fail: exit 0 when violations are found. Could-not-evaluate still exits 3 and says so; "
            "bad usage or input still exits 2.",
        ),
    ] = False,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Check a run against policy rules.

    Exit codes: 0 compliant, 1 violations at or above --fail-on (0 with --exit-zero), 2 bad usage or
    input, 3 compliance could not be established: a finding is inconclusive or could not be evaluated
    (never reported as compliant, --exit-zero or not).
    """
    one_shot()  # before the imports below too: they build many objects, and collections rescanned them
    from auditor.check.evaluate import run_check
    from auditor.check.heap import stop_cycle_collection
    from auditor.check.options import prepare
    from auditor.files import write_output
    from auditor.render.text import terminal_notes

    stop_cycle_collection()  # the heap a large record leaves made collections half of the work
    targets = format_targets(fmt or ["text"], output)
    if str(waivers) == "-" and run_ref == "-":
        raise UsageError("RUN and --waivers are both `-`: only one of them can read stdin")
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    with (
        stdin_file(Path(run_ref) if run_ref == "-" else None, "stdin-record.json") as record_file,
        stdin_file(waivers, "stdin-waivers.yaml") as waivers_file,
    ):
        ref = str(record_file) if record_file is not None else run_ref
        options = check_options(ref, store, policy, waivers_file, fail_on, config, vuln)
        from auditor import progress
        from auditor.check.vulns.osv_index import stop_early

        with progress.step(f"checking {run_ref}"):  # an advisory source over the network can take seconds
            try:
                request = prepare(options, dict(os.environ), early_advisories=True)
                report = run_check(request)
            finally:
                stop_early()  # advisory parsing prepare started and the check never took
    keep_until_exit(request, report)
    rendered = [(chosen, path, chosen.render(report)) for chosen, path in targets]  # all rendered before any write
    for _, path, text in rendered:
        if path is None:
            typer.echo(text, nl=False)
        else:
            write_output(path, text.encode())
    to_stdout = next((chosen.name for chosen, path, _ in rendered if path is None), None)
    for note in terminal_notes(report, to_stdout or rendered[0][0].name, to_stdout is None):
        typer.echo(f"auditor: {note}", err=True)
    from auditor.cli.github_summary import append_step_summary

    if (problem := append_step_summary(report, os.environ)) is not None:
        typer.echo(f"auditor: {problem}", err=True)
    if request.run_folder is not None:  # a run of the store: its outcome is kept for `runs --verdict`
        from auditor.cli.index import keep_check

        keep_check(options.store, report)
    raise typer.Exit(soft_exit(report.with_waivers.exit_code, exit_zero))


def format_targets(given: Sequence[str], output: Path | None) -> list[tuple[ReportFormat, Path | None]]:
    """`--format text --format sarif=out.sarif`: each format and where it goes (None: stdout)."""
    from auditor.render.formats import check_format

    targets: list[tuple[ReportFormat, Path | None]] = []
    for value in given:
        name, sep, file = value.partition("=")
        if sep and not file:
            raise UsageError(f"--format {value!r}: give a file after = (or - for stdout)")
        path = None if not sep or file == "-" else Path(file)
        if path is None and output is not None and str(output) != "-":
            path = output
        targets.append((check_format(name.strip()), path))
    if sum(path is None for _, path in targets) > 1:
        raise UsageError("--format: at most one format can go to stdout; give the others a file (FORMAT=FILE)")
    files = [path for _, path in targets if path is not None]
    if len(files) != len(set(files)):
        raise UsageError("--format: two formats name the same file")
    return targets


def soft_exit(code: int, exit_zero: bool) -> int:
    """--exit-zero turns violations (1) into 0; "could not evaluate" (3) is never a pass."""
    from auditor.errors import EXIT_COULD_NOT_EVALUATE, EXIT_OK, EXIT_VIOLATIONS

    if exit_zero and code == EXIT_VIOLATIONS:
        typer.echo("auditor: violations found; exiting 0 because of --exit-zero", err=True)
        return EXIT_OK
    if exit_zero and code == EXIT_COULD_NOT_EVALUATE:
        typer.echo(
            "auditor: error: compliance could not be established (results could not be evaluated): "
            "exit 3 even with --exit-zero",
            err=True,
        )
    return code


@app.command()
def report(
    run_ref: RunArgument,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    fmt: Annotated[
        str,
        option(
            "--format",
            command="report",
            metavar="<html|pdf|html,pdf>",
            help=f"{' | '.join(DOSSIER_FORMATS)}, or both: html,pdf",
        ),
    ] = "html,pdf",
    output: Annotated[
        Path,
        option("-o", "--output", command="report", metavar="DIR", help="The folder to write dossier.html/.pdf into."),
    ] = Path("dossier"),
    pdfa: Annotated[bool, option("--pdfa", help="PDF/A-3b with the run record and findings JSON embedded.")] = False,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
    sign: Annotated[
        Path | None, option("--sign", metavar="KEY", help="Sign the PDF (PAdES) with this key (PEM or .p12).")
    ] = None,
    cert: Annotated[
        Path | None,
        option("--cert", metavar="FILE", help="The key's certificate and chain (PEM) [default: KEY.crt]"),
    ] = None,
    tsa: Annotated[
        str | None,
        option("--tsa", metavar="URL", help="An RFC 3161 time-stamp authority URL: time-stamp the signature."),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        option("--passphrase-file", metavar="FILE", help="The key's passphrase [default: $AUDITOR_KEY_PASSPHRASE]"),
    ] = None,
    key: Annotated[
        list[Path] | None,
        option(
            "--key", metavar="FILE", help="A public key or certificate (PEM) you trust to sign sign-offs; repeatable."
        ),
    ] = None,
    trust: Annotated[
        list[Path] | None,
        option(
            "--trust",
            metavar="FILE",
            help="CA certificates (PEM) whose holders you trust to sign sign-offs; repeatable.",
        ),
    ] = None,
) -> None:
    """Write the audit dossier of a run: HTML and PDF, from the same content.

    Checks the run exactly as `auditor check` does. Exits 0 when the dossier is written, whatever
    its verdict (use `auditor check` as the CI gate); 2 on bad usage or input.
    """
    from auditor.check.options import prepare
    from auditor.render.dossier.make import make_report
    from auditor.render.formats import dossier_formats
    from auditor.text import safe

    formats = dossier_formats(fmt)
    if "pdf" in formats:  # before the check runs: one line, not a traceback, without auditor[pdf]
        from auditor.extras import need

        need("weasyprint")
    signer = _pdf_signer(formats, sign, cert, tsa, passphrase_file)
    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    verifiers = None
    if key or trust:
        from auditor.sign.trust import load_verifiers

        verifiers = load_verifiers(key or (), trust or ())
    request = prepare(options, dict(os.environ))
    written = make_report(request, output, formats, pdfa, pdf_signer=signer, tsa_url=tsa, signoff_verifiers=verifiers)
    result = written.report.with_waivers
    for path in written.files:
        pages = f" ({written.pdf_pages} pages)" if path.suffix == ".pdf" else ""
        if path.suffix == ".pdf" and signer is not None:
            pages = f" ({written.pdf_pages} pages, signed by {safe(signer.identity)}{', time-stamped' if tsa else ''})"
        typer.echo(f"wrote {path}{pages}")
    typer.echo(f"verdict: {result.verdict} (`auditor check` would exit {result.exit_code})")


def _pdf_signer(
    formats: Sequence[str], key: Path | None, cert: Path | None, tsa: str | None, passphrase_file: Path | None
) -> Signer | None:
    if key is None:
        if cert is not None or tsa is not None or passphrase_file is not None:
            raise UsageError("--cert, --tsa and --passphrase-file go with --sign KEY")
        return None
    if "pdf" not in formats:
        raise UsageError("--sign signs the PDF dossier: add pdf to --format")
    from auditor.sign.keys import load_signer, passphrase_source
    from auditor.sign.pdf import reader_warnings

    signer = load_signer(key, cert_path=cert, passphrase=passphrase_source(passphrase_file))
    if signer.certificate is None:
        raise UsageError(f"--sign {key}: a PDF signature needs an X.509 certificate for the key: give --cert CERT")
    for warning in reader_warnings(signer.private_key):
        typer.echo(f"auditor: warning: {warning}", err=True)
    return signer


@app.command()
def demo(
    output: Annotated[
        Path, option("-o", "--output", command="demo", metavar="DIR", help="Folder for the store and the dossier.")
    ] = Path("auditor-demo"),
) -> None:
    """Run the sample credit-scoring project end to end: capture, check, dossier (HTML and PDF).

    Uses the advisory database in AUDITOR_ADVISORY_DB when set, else the one `auditor advisories
    update` installed; otherwise auditor asks the OSV API, and without a network the vulnerability
    rule says "could not evaluate"."""
    from auditor.demo import run_demo

    one_shot()
    result = run_demo(output, dict(os.environ), say=lambda line: typer.echo(f"auditor: {line}", err=True))
    verdict = result.report.with_waivers
    typer.echo("")
    typer.echo(f"run:      {result.record.identity.run_id} ({result.record.identity.status})")
    for path in result.files:
        typer.echo(f"dossier:  {path}" + (f" ({result.pages} pages, PDF/A-3b)" if path.suffix == ".pdf" else ""))
    typer.echo(f"verdict:  {verdict.verdict.replace('_', ' ')}: {_verdict_counts(verdict.totals.failing_by_severity)}")


def _verdict_counts(failing: dict[str, int]) -> str:
    return ", ".join(f"{n} {s} failing" for s, n in failing.items() if n) or "nothing failing"


rules_app = typer.Typer(help="Rule packs: list, explain and validate rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

PolicyOption = Annotated[
    str | None,
    option(
        "--policy",
        command="rules",
        metavar="PACK|FILE",
        help="A shipped pack name or a pack file (- reads stdin) [default: default]",
        show_default=False,
    ),
]


def _pack(policy: str | None) -> Pack:
    from auditor.check.packs import DEFAULT_PACK, load_pack, pack_path

    with stdin_file(Path("-") if policy == "-" else None, "stdin-pack.yaml") as held:
        return load_pack(held if held is not None else pack_path(policy or DEFAULT_PACK, Path.cwd()))


@rules_app.command("list")
def rules_list(policy: PolicyOption = None) -> None:
    """List the rules of a pack (and of the packs it includes)."""
    from auditor.render.rules import render_list

    typer.echo(render_list(_pack(policy)))


@rules_app.command("explain")
def rules_explain(rule_id: Annotated[str, typer.Argument(metavar="ID")], policy: PolicyOption = None) -> None:
    """Explain one rule: why it matters, what to do, which clauses it serves."""
    from auditor.render.rules import render_explain

    pack = _pack(policy)
    match = next((r for r in pack.rules if r.rule.id == rule_id.upper()), None)
    if match is None:
        raise UsageError(f"no rule {rule_id!r} in pack {pack.name} (see `auditor rules list`)")
    typer.echo(render_explain(match))


@rules_app.command("validate")
def rules_validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Pack files; - reads stdin.")],
) -> None:
    """Check rule pack files: YAML, fields, check kinds and parameters, includes.

    Every file is checked (as a pre-commit hook passes them); one line per invalid file, exit 2 if any.
    """
    from auditor.check.packs import load_pack
    from auditor.errors import AuditorError
    from auditor.text import safe

    worst = 0
    for file in files:
        try:
            with stdin_file(file, "stdin-pack.yaml") as held:
                pack = load_pack(held or file)
        except AuditorError as exc:
            typer.echo(f"auditor: error: {safe(exc.message)}", err=True)
            worst = max(worst, exc.exit_code)
            continue
        typer.echo(f"{file}: valid pack {pack.name} (version {pack.version}), {len(pack.rules)} rules")
    if worst:
        raise typer.Exit(worst)
