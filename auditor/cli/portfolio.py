"""Commands: `portfolio`: the static site for managers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import StoreOption, app, one_shot, option, say
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

DOSSIER_CHOICES = ("latest", "all", "none")


@app.command()
def portfolio(
    output: Annotated[
        Path, option("-o", "--output", command="portfolio", metavar="DIR", help="The folder to write the site into.")
    ] = Path("portfolio"),
    store: StoreOption = None,
    dossiers: Annotated[
        str,
        option(
            "--dossiers",
            choices=DOSSIER_CHOICES,
            help="latest: each project's latest run and runs waiting for sign-off; all (slow); none",
        ),
    ] = "latest",
    soon: Annotated[
        int, option("--waivers-within", min=0, metavar="DAYS", help="Days ahead that count as 'expiring soon'.")
    ] = 30,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    fail_on: FailOnOption = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Write a static, offline site over every run of the store: projects, owners, runs over time,
    verdicts and open findings, waivers expiring, sign-offs waiting, datasets, models,
    reproductions, duplicate work, and a page per run with its dossier and discussion.

    Every run is checked as `auditor check` would with the same options (kept checks are reused).
    DIR must be absent, empty, or a portfolio auditor wrote; it is replaced in one swap.
    Exits 0 when the site is written, whatever the verdicts; 2 on bad usage or input.
    """
    from auditor.portfolio.site.build import make_portfolio

    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options("latest", store, policy, waivers, fail_on, config, vuln)
    built = make_portfolio(options, output, dict(os.environ), dossiers=dossiers, soon_days=soon)  # type: ignore[arg-type]  # one of DOSSIER_CHOICES
    p = built.portfolio
    typer.echo(
        f"wrote {built.out / 'index.html'}: {len(p.projects)} projects, {len(p.runs)} runs "
        f"({p.checked_now} checked now), {len(p.waiting)} waiting for sign-off, "
        f"{built.dossiers_rendered} dossiers rendered, {built.dossiers_reused} reused"
    )
    if not p.runs:
        say("the store holds no runs: the site says so")
