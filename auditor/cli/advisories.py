"""`auditor advisories update` and `auditor advisories status`: the advisory database `check` uses by default."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import app, option

advisories_app = typer.Typer(
    help="The advisory database `check` uses by default: update, status.", no_args_is_help=True
)
app.add_typer(advisories_app, name="advisories")


STATUS_FORMATS = ("text", "json")


DirOption = Annotated[
    Path | None,
    option(
        "--dir",
        metavar="DIR",
        envvar="AUDITOR_ADVISORIES_DIR",
        help="Where databases are installed [default: advisories/ in $AUDITOR_CACHE_DIR or ~/.cache/auditor]",
        show_default=False,
    ),
]


def _env(folder: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if folder is not None:
        env["AUDITOR_ADVISORIES_DIR"] = str(folder)
    return env


@advisories_app.command("update")
def advisories_update(
    source: Annotated[
        str,
        option(
            "--from",
            command="advisories",
            metavar="URL|FILE",
            help="A URL (http/https), an archive FILE, or - for stdin: the OSV PyPI export (all.zip) or a "
            "zip/tarball of pypa/advisory-database",
        ),
    ] = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    sha256: Annotated[
        str | None,
        option(
            "--sha256",
            command="advisories",
            metavar="HEX",
            help="The archive's expected sha256 (hex).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        option("--timeout", command="advisories", metavar="SECONDS", min=1, help="Seconds to wait for the server."),
    ] = 300,
    folder: DirOption = None,
) -> None:
    """Fetch an advisory database, verify it and install it as the default for `auditor check`.

    The archive is checked before anything is installed (no absolute path, '..', link or special
    member; bounded sizes and member count; every member's CRC; every advisory a valid OSV record;
    the md5 the OSV bucket publishes, and --sha256 when given). The new database replaces the old
    one in one rename; on any failure the old one stays in use. Exit codes: 0 installed, 2 the
    source could not be fetched or failed verification (one line; nothing changed).
    """
    import re

    from auditor.check.vulns.updates import update
    from auditor.errors import UsageError
    from auditor.text import safe

    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise UsageError(f"--sha256: {sha256!r} is not 64 hexadecimal digits")
    result = update(source, _env(folder), sha256=sha256, timeout_s=timeout)
    dated = f"dated {result.date}" if result.date else "undated"
    checked = f"; {result.checksum} verified" if result.checksum else ""
    typer.echo(
        f"installed {result.advisories:,} advisories ({result.layout}, {dated}) from {safe(result.source)} "
        f"into {safe(str(result.folder))}{checked}"
    )


@advisories_app.command("status")
def advisories_status(
    fmt: Annotated[
        str, option("--format", command="advisories", choices=STATUS_FORMATS, help="How to print the status.")
    ] = "text",
    folder: DirOption = None,
) -> None:
    """Which advisory database `auditor check` uses by default: folder, source, date, age, count.

    A database given with --advisory-db or AUDITOR_ADVISORY_DB (or in auditor.yaml) takes precedence
    over the installed one. Exit codes: 0 (also when none is installed), 2 the installation is damaged.
    """
    from auditor.check.vulns.installed import advisories_home
    from auditor.check.vulns.updates import installed
    from auditor.text import safe

    env = _env(folder)
    home = advisories_home(env)
    found = installed(home)
    today = datetime.now(UTC).date()
    if fmt == "json":
        body = {"installed": found is not None, "home": str(home), **(found.as_json(today) if found else {})}
        typer.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    if found is None:
        typer.echo(f"no advisory database installed in {safe(str(home))}: run `auditor advisories update`")
        return
    age = found.age_days(today)
    lines = [
        ("database", str(found.folder)),
        ("source", found.source),
        ("layout", found.layout),
        ("date", f"{found.date} ({age} days old)" if found.date else "undated"),
        ("fetched", found.fetched_at),
        ("advisories", f"{found.advisories:,}"),
        ("sha256", found.archive_sha256),
        ("checksum", found.checksum or "none published"),
    ]
    for name, value in lines:
        typer.echo(f"{name + ':':<12}{safe(value)}")
    if env.get("AUDITOR_ADVISORY_DB"):
        typer.echo(f"note: AUDITOR_ADVISORY_DB is set, so check uses {safe(env['AUDITOR_ADVISORY_DB'])} instead")
