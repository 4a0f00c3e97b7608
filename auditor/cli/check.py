"""Commands that check and report: `check`, `report`, `demo`, `rules`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.check.vulns.sources import SOURCES
from auditor.cli.app import StoreOption, app, choice, one_shot, store_path
from auditor.errors import UsageError
from auditor.render.formats import CHECK_FORMATS, DOSSIER_FORMATS
from auditor.vocabulary import SEVERITY_ORDER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from auditor.check.options import CheckOptions
    from auditor.check.packs import Pack
    from auditor.sign.keys import Signer


RunArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="A run in the store (its id, a unique prefix, or `latest`), or a record FILE when it is clearly a "
        "path: it ends in .json or holds a /. A loose record file is checked, but no file it names is read.",
    ),
]
PoliciesOption = Annotated[
    list[str] | None,
    typer.Option("--policy", help="A shipped pack name or a pack file; repeatable [default: auditor.yaml's]"),
]
WaiversOption = Annotated[Path | None, typer.Option("--waivers", help="A waivers file.", show_default=False)]
FailOnOption = Annotated[
    str | None,
    typer.Option("--fail-on", help=f"{' | '.join(reversed(SEVERITY_ORDER))} [default: low]", show_default=False),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="auditor.yaml to read the policy section from [default: ./]")
]
VulnSourceOption = Annotated[
    str | None,
    typer.Option("--vuln-source", help=f"{' | '.join(SOURCES)} [default: local with a database, else osv]"),
]
AdvisoryDbOption = Annotated[
    Path | None, typer.Option("--advisory-db", help="A local OSV advisory folder [env: AUDITOR_ADVISORY_DB]")
]
OsvUrlOption = Annotated[str | None, typer.Option("--osv-url", help="An OSV API endpoint (a mirror), for osv")]
MaxDbAgeOption = Annotated[
    int | None, typer.Option("--max-db-age", min=0, help="Warn when the local database is older (days) [30]")
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
        fail_on=choice("--fail-on", fail_on, tuple(reversed(SEVERITY_ORDER))),  # type: ignore[arg-type]
        vuln_source=choice("--vuln-source", vuln_source, tuple(SOURCES)),  # type: ignore[arg-type]
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
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(CHECK_FORMATS))] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Check a run against policy rules.

    Exit codes: 0 compliant, 1 violations at or above --fail-on, 2 bad usage or input,
    3 compliance could not be established: a finding is inconclusive or could not be evaluated
    (never reported as compliant).
    """
    from auditor.check.evaluate import run_check
    from auditor.check.options import prepare
    from auditor.files import write_output
    from auditor.render.formats import check_format
    from auditor.render.text import terminal_notes

    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    chosen = check_format(fmt)
    request = prepare(options, dict(os.environ))
    report = run_check(request)
    text = chosen.render(report)
    if output is not None:
        write_output(output, text.encode())
    else:
        typer.echo(text, nl=False)
    for note in terminal_notes(report, chosen.name, output is not None):
        typer.echo(f"auditor: {note}", err=True)
    if request.run_folder is not None:  # a run of the store: its outcome is kept for `runs --verdict`
        from auditor.cli.index import keep_check

        keep_check(options.store, report)
    raise typer.Exit(report.with_waivers.exit_code)


@app.command()
def report(
    run_ref: RunArgument,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help=f"{' | '.join(DOSSIER_FORMATS)}, or both: html,pdf")
    ] = "html,pdf",
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
    sign: Annotated[
        Path | None, typer.Option("--sign", help="Sign the PDF (PAdES) with this key (PEM or .p12).")
    ] = None,
    cert: Annotated[
        Path | None, typer.Option("--cert", help="The key's certificate and chain (PEM) [default: KEY.crt]")
    ] = None,
    tsa: Annotated[
        str | None, typer.Option("--tsa", help="An RFC 3161 time-stamp authority URL: time-stamp the signature.")
    ] = None,
    passphrase_file: Annotated[
        Path | None, typer.Option("--passphrase-file", help="The key's passphrase [default: $AUDITOR_KEY_PASSPHRASE]")
    ] = None,
    key: Annotated[
        list[Path] | None,
        typer.Option("--key", help="A public key or certificate (PEM) you trust to sign sign-offs; repeatable."),
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="CA certificates (PEM) whose holders you trust to sign sign-offs; repeatable."),
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
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the store and the dossier.")] = Path(
        "auditor-demo"
    ),
) -> None:
    """Run the sample credit-scoring project end to end: capture, check, dossier (HTML and PDF).

    Uses the advisory database in AUDITOR_ADVISORY_DB when set, else the one `auditor advisories
    update` installed; otherwise auditor asks the OSV API, and without a network the vulnerability
    rule says "could not evaluate"."""
    from auditor.demo import run_demo

    one_shot()
    result = run_demo(output, dict(os.environ))
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
    typer.Option("--policy", help="A shipped pack name or a pack file [default: default]", show_default=False),
]


def _pack(policy: str | None) -> Pack:
    from auditor.check.packs import DEFAULT_PACK, load_pack, pack_path

    return load_pack(pack_path(policy or DEFAULT_PACK, Path.cwd()))


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
def rules_validate(file: Annotated[Path, typer.Argument(metavar="FILE")]) -> None:
    """Check a rule pack file: YAML, fields, check kinds and parameters, includes."""
    from auditor.check.packs import load_pack

    pack = load_pack(file)
    typer.echo(f"{file}: valid pack {pack.name} (version {pack.version}), {len(pack.rules)} rules")
