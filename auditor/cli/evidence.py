"""Commands for signed evidence: `keys generate`, `keys show`, `approve`, `bundle`, `verify`."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import STDIN_NAME, StoreOption, app, one_shot, option, say, stdin_file
from auditor.cli.check import (
    AdvisoryDbOption,
    ConfigOption,
    FailOnOption,
    MaxDbAgeOption,
    OsvUrlOption,
    PoliciesOption,
    VulnSourceOption,
    WaiversOption,
    check_options,
)
from auditor.errors import UsageError

keys_app = typer.Typer(
    help="Signing keys: generate one, or show what a key, public key or certificate file holds.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

PassphraseFileOption = Annotated[
    Path | None,
    option(
        "--passphrase-file",
        metavar="FILE",
        help="A file (mode 0600) whose first line is the key's passphrase [default: $AUDITOR_KEY_PASSPHRASE, "
        "else a prompt on the terminal]",
        show_default=False,
    ),
]


@keys_app.command("generate")
def keys_generate(
    name: Annotated[
        str,
        option(
            "--name", command="keys generate", metavar="NAME", help="The key holder's full name (the certificate's CN)."
        ),
    ],
    prefix: Annotated[
        Path,
        option(
            "-o",
            "--output",
            command="keys generate",
            metavar="PREFIX",
            help="Writes PREFIX.key (0600), PREFIX.pub and PREFIX.crt.",
        ),
    ] = Path("signing"),
    email: Annotated[
        str | None, option("--email", metavar="EMAIL", help="The holder's email, in the certificate.")
    ] = None,
    passphrase_file: PassphraseFileOption = None,
    no_passphrase: Annotated[
        bool, option("--no-passphrase", help="Write the private key unencrypted (protected by its mode only).")
    ] = False,
    algorithm: Annotated[
        str,
        option(
            "--algorithm",
            choices=("ed25519", "ecdsa-p256"),
            help="ed25519, or ecdsa-p256 for PDF dossiers that Adobe or pdfsig (NSS <= 3.87) must check.",
        ),
    ] = "ed25519",
) -> None:
    """Generate a key (Ed25519, or ECDSA P-256) with a self-signed certificate (valid 3 years).

    Never overwrites a key. The key is encrypted with a passphrase from --passphrase-file,
    $AUDITOR_KEY_PASSPHRASE or a prompt (asked twice); --no-passphrase writes it unencrypted."""
    from auditor.sign.keys import generate_key, passphrase_source

    if no_passphrase and passphrase_file is not None:
        raise UsageError("--no-passphrase and --passphrase-file: give one of them")
    key_name = str(prefix.with_name(prefix.name + ".key"))
    passphrase = None if no_passphrase else passphrase_source(passphrase_file, confirm=True)(key_name)
    made = generate_key(prefix, name=name, email=email, passphrase=passphrase, algorithm=algorithm)
    typer.echo(f"private key  {made.key_path}  (mode 0600, {'encrypted' if passphrase else 'NOT encrypted'})")
    typer.echo(f"public key   {made.public_path}")
    typer.echo(f"certificate  {made.cert_path}  (self-signed)")
    typer.echo(f"keyid        {made.keyid}")
    typer.echo(f"identity     {made.identity}")


@keys_app.command("show")
def keys_show(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A key (PEM or .p12), a public key or a certificate.")],
    passphrase_file: PassphraseFileOption = None,
    trust: Annotated[
        list[Path] | None,
        option(
            "--trust",
            metavar="FILE",
            help="CA certificates (PEM): also check the certificate chains to one (exit 4 if not).",
        ),
    ] = None,
) -> None:
    """Show a key's algorithm, keyid and identity, and a certificate's validity; never private material."""
    from auditor.sign.keys import passphrase_source
    from auditor.sign.show import check_trust, describe_file
    from auditor.text import safe

    source = passphrase_source(passphrase_file)
    facts = describe_file(path, passphrase=source)
    width = max(len(label) for label, _ in facts)
    for label, value in facts:
        typer.echo(f"{label.ljust(width)}  {safe(value)}")
    if trust:
        who = check_trust(path, trust, passphrase=source)
        typer.echo(f"{'trusted'.ljust(width)}  {safe(who)}: the chain validates against --trust (offline, now)")


@app.command()
def approve(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="A run in the store: id, unique prefix, or latest.")],
    role: Annotated[str, option("--role", metavar="TEXT", help="The role you decide in, e.g. 'model risk officer'.")],
    decision: Annotated[str, option("--decision", choices=("approve", "reject"), help="Your decision.")],
    comment: Annotated[
        str, option("--comment", metavar="TEXT", help="Why: what you looked at, conditions, follow-ups.")
    ],
    name: Annotated[
        str | None,
        option(
            "--name",
            command="approve",
            metavar="NAME",
            help="Your name [default: the signing certificate's]",
            show_default=False,
        ),
    ] = None,
    sign: Annotated[
        Path | None, option("--sign", metavar="KEY", help="Sign the decision with this key (PEM or .p12).")
    ] = None,
    cert: Annotated[
        Path | None, option("--cert", metavar="FILE", help="The key's certificate and chain (PEM) [default: KEY.crt]")
    ] = None,
    passphrase_file: PassphraseFileOption = None,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Sign off a run's findings: your dated decision, kept beside the run and in the store's log.

    The run is checked exactly as `auditor check` checks it (same options); the sign-off covers
    that record's bytes and those findings, and a dossier shows it as no longer covering them if
    either changes. Signed with --sign, it proves who decided. Records are never changed."""
    from auditor.check.options import prepare
    from auditor.evidence.approve import Decided
    from auditor.evidence.approve import approve as record_approval
    from auditor.sign.keys import load_signer, passphrase_source
    from auditor.text import safe

    chosen = decision
    if run_ref.endswith(".json") or "/" in run_ref:
        raise UsageError(f"{run_ref}: a sign-off is kept in the run store beside its run: give a run id")
    signer = load_signer(sign, cert_path=cert, passphrase=passphrase_source(passphrase_file)) if sign else None
    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    decided = Decided(decision=chosen, role=role, comment=comment, name=name)  # type: ignore[arg-type]
    done = record_approval(prepare(options, dict(os.environ)), decided, signer)
    so = done.signoff
    typer.echo(f"sign-off {so.signoff_id}: {so.decision} by {safe(so.name)} as {safe(so.role)}")
    typer.echo(f"  run       {so.run_id} (verdict: {so.verdict.replace('_', ' ')})")
    typer.echo(f"  record    sha256 {so.record_sha256}")
    typer.echo(f"  findings  sha256 {so.findings_sha256}")
    typer.echo(f"  signed    {safe(done.signed_by) if done.signed_by else 'no (give --sign KEY to sign it)'}")
    say(f"log head {done.head}")


@app.command()
def bundle(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="A run in the store: id, unique prefix, or latest.")],
    output: Annotated[
        Path,
        option(
            "-o", "--output", command="bundle", metavar="FILE", help="The bundle to write (a tar archive; - is stdout)."
        ),
    ],
    sign: Annotated[
        Path | None,
        option(
            "--sign",
            metavar="KEY",
            help="Sign the statement (DSSE) and, with a certificate, the PDF (PAdES) with this key.",
        ),
    ] = None,
    cert: Annotated[
        Path | None, option("--cert", metavar="FILE", help="The key's certificate and chain (PEM) [default: KEY.crt]")
    ] = None,
    tsa: Annotated[
        str | None,
        option("--tsa", metavar="URL", help="An RFC 3161 time-stamp authority URL: time-stamp the PDF signature."),
    ] = None,
    passphrase_file: PassphraseFileOption = None,
    store: StoreOption = None,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Write one portable archive of a run's evidence, signed: record, check report, logs, dossier
    (HTML and PDF/A), the log's proofs, sign-offs, and an in-toto statement over every file.

    The run is checked exactly as `auditor check` checks it (same options). Without --sign the
    statement is written unsigned, and `auditor verify` refuses the bundle (exit 4)."""
    from auditor.check.options import prepare
    from auditor.evidence.bundle import make_bundle
    from auditor.sign.keys import load_signer, passphrase_source
    from auditor.sign.pdf import reader_warnings
    from auditor.text import safe

    if run_ref.endswith(".json") or "/" in run_ref:
        raise UsageError(
            f"{run_ref}: a bundle is made from a run in the store (its proofs are in its log): give a run id"
        )
    if sign is None and (cert is not None or tsa is not None or passphrase_file is not None):
        raise UsageError("--cert, --tsa and --passphrase-file go with --sign KEY")
    signer = load_signer(sign, cert_path=cert, passphrase=passphrase_source(passphrase_file)) if sign else None
    if signer is not None and signer.certificate is None and tsa is not None:
        raise UsageError(f"--tsa time-stamps the PDF's signature, which needs a certificate for {sign}: give --cert")
    if signer is not None and signer.certificate is not None:
        for warning in reader_warnings(signer.private_key):
            typer.echo(f"auditor: warning: {warning}", err=True)
    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options(run_ref, store, policy, waivers, fail_on, config, vuln)
    to_stdout = str(output) == "-"  # the archive on stdout (a pipe); what is said goes to stderr
    request = prepare(options, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="auditor-bundle-") as folder:
        made = make_bundle(request, Path(folder) / "bundle.tar" if to_stdout else output, signer, tsa_url=tsa)
        if to_stdout:
            sys.stdout.buffer.write((Path(folder) / "bundle.tar").read_bytes())
            sys.stdout.buffer.flush()

    def tell(text: str) -> None:
        if to_stdout:
            say(text)  # stdout carries the archive
        else:
            typer.echo(text)

    predicate = made.predicate
    where = "stdout" if to_stdout else str(output)
    tell(f"wrote {where} ({len(made.members)} files)")
    for name in made.members:
        tell(f"  {name}")
    for stream, why in predicate.logs.items():
        if why is not None:
            say(f"note: {stream} log not bundled: {safe(why)}")
    for name, why in predicate.signoffs_left_out:
        say(f"note: sign-off {safe(name)} left out: {safe(why)}")
    if made.signed_by is None:
        typer.echo("auditor: warning: not signed (no --sign KEY): `auditor verify` refuses this bundle", err=True)
    else:
        pdf = (
            "PDF PAdES-signed" + (", time-stamped" if tsa else "")
            if predicate.pdf_signed
            else "PDF not signed (no certificate)"
        )
        tell(f"signed by {safe(made.signed_by)} (statement; {pdf})")
    tell(
        f"verdict: {made.report.with_waivers.verdict} (`auditor check` would exit {made.report.with_waivers.exit_code})"
    )
    tell(f"log head {predicate.log_head.text()}")
    tell(f"sha256 {made.sha256}  {'-' if to_stdout else output}")


@app.command()
def verify(
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="An evidence bundle, or a signed PDF dossier; - reads stdin.")
    ],
    key: Annotated[
        list[Path] | None,
        option(
            "--key", metavar="FILE", help="A public key or certificate (PEM) you trust as the signer's; repeatable."
        ),
    ] = None,
    trust: Annotated[
        list[Path] | None,
        option(
            "--trust", metavar="FILE", help="CA certificates (PEM): trust a signer whose certificate chains to one."
        ),
    ] = None,
    head: Annotated[
        str | None,
        option(
            "--head",
            command="verify",
            metavar="SIZE:ROOT",
            help="A log head you hold (SIZE:ROOT, as `auditor run` printed it and you published).",
        ),
    ] = None,
) -> None:
    """Verify a bundle (or a signed PDF) offline, on its exact bytes: every file against the signed
    statement, the signature, the log's proofs, the PDF's signature and every sign-off.

    Exit 0 only when everything verifies; 4 (one line naming the file and the reason) otherwise."""
    from auditor.evidence.verify import verify_path
    from auditor.sign.trust import load_verifiers
    from auditor.store.log import LogHead

    given = LogHead.parse(head) if head is not None else None
    if not key and not trust:
        raise UsageError(f"{path}: nothing to check the signature against: give --key PUB|CERT or --trust CA.pem")
    verifiers = load_verifiers(key or (), trust or ())
    one_shot()
    with stdin_file(path, "stdin") as held:  # `auditor bundle -o - | auditor verify - ...`
        result = verify_path(held or path, verifiers, given)
    for line in result.lines:
        typer.echo(line.replace(str(held), STDIN_NAME) if held != path else line)
    if result.error is not None and held != path:
        result.error.message = result.error.message.replace(str(held), STDIN_NAME)
    if result.error is not None:
        raise result.error
