"""Commands for signed evidence: `keys generate`, `keys show` (bundle, verify and approve join them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import app
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
) -> None:
    """Generate an Ed25519 key with a self-signed certificate (valid 3 years); never overwrites a key.

    The key is encrypted with a passphrase from --passphrase-file, $AUDITOR_KEY_PASSPHRASE or a prompt
    (asked twice); --no-passphrase writes it unencrypted."""
    from auditor.sign.keys import generate_key, passphrase_source

    if no_passphrase and passphrase_file is not None:
        raise UsageError("--no-passphrase and --passphrase-file: give one of them")
    key_name = str(prefix.with_name(prefix.name + ".key"))
    passphrase = None if no_passphrase else passphrase_source(passphrase_file, confirm=True)(key_name)
    made = generate_key(prefix, name=name, email=email, passphrase=passphrase)
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
