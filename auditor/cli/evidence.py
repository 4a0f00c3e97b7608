"""Commands for signed evidence: `keys generate`, `keys show`, `approve` (bundle and verify join them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import StoreOption, app, choice, one_shot
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
    typer.Option(
        "--passphrase-file",
        help="A file (mode 0600) whose first line is the key's passphrase [default: $AUDITOR_KEY_PASSPHRASE, "
        "else a prompt on the terminal]",
        show_default=False,
    ),
]


@keys_app.command("generate")
def keys_generate(
    name: Annotated[str, typer.Option("--name", help="The key holder's full name (the certificate's CN).")],
    prefix: Annotated[
        Path, typer.Option("-o", "--output", help="Writes PREFIX.key (0600), PREFIX.pub and PREFIX.crt.")
    ] = Path("signing"),
    email: Annotated[str | None, typer.Option("--email", help="The holder's email, in the certificate.")] = None,
    passphrase_file: PassphraseFileOption = None,
    no_passphrase: Annotated[
        bool, typer.Option("--no-passphrase", help="Write the private key unencrypted (protected by its mode only).")
    ] = False,
    algorithm: Annotated[
        str,
        typer.Option(
            "--algorithm",
            help="ed25519, or ecdsa-p256 for PDF dossiers that Adobe or pdfsig (NSS <= 3.87) must check.",
        ),
    ] = "ed25519",
) -> None:
    """Generate a key (Ed25519, or ECDSA P-256) with a self-signed certificate (valid 3 years).

    Never overwrites a key. The key is encrypted with a passphrase from --passphrase-file,
    $AUDITOR_KEY_PASSPHRASE or a prompt (asked twice); --no-passphrase writes it unencrypted."""
    from auditor.sign.keys import KEY_ALGORITHMS, generate_key, passphrase_source

    if algorithm not in KEY_ALGORITHMS:
        raise UsageError(f"--algorithm: {algorithm!r} is not one of {', '.join(KEY_ALGORITHMS)}")
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
        typer.Option(
            "--trust", help="CA certificates (PEM): also check the certificate chains to one (exit 4 if not)."
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
    role: Annotated[str, typer.Option("--role", help="The role you decide in, e.g. 'model risk officer'.")],
    decision: Annotated[str, typer.Option("--decision", help="approve | reject")],
    comment: Annotated[str, typer.Option("--comment", help="Why: what you looked at, conditions, follow-ups.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Your name [default: the signing certificate's]", show_default=False)
    ] = None,
    sign: Annotated[Path | None, typer.Option("--sign", help="Sign the decision with this key (PEM or .p12).")] = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="The key's certificate and chain (PEM).")] = None,
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

    chosen = choice("--decision", decision, ("approve", "reject"))
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
    typer.echo(f"auditor: log head {done.head}", err=True)
