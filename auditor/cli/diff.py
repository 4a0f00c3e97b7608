"""Commands: `diff`: what changed between two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.app import StoreOption, app, emit, one_shot, option
from auditor.cli.capture import ToleranceOption
from auditor.cli.check import (
    AdvisoryDbOption,
    ConfigOption,
    MaxDbAgeOption,
    OsvUrlOption,
    PoliciesOption,
    VulnSourceOption,
    WaiversOption,
    check_options,
)
from auditor.errors import EXIT_VIOLATIONS

DIFF_FORMATS = ("text", "json", "html")

RunA = Annotated[str, typer.Argument(metavar="RUN_A", help="A run in the store: its id, a unique prefix, or `latest`.")]
RunB = Annotated[str, typer.Argument(metavar="RUN_B", help="The run to compare with RUN_A (same forms).")]


@app.command()
def diff(
    run_a: RunA,
    run_b: RunB,
    store: StoreOption = None,
    fmt: Annotated[
        str, option("--format", command="diff", choices=DIFF_FORMATS, help="How to print the diff.")
    ] = "text",
    output: Annotated[
        Path | None,
        option("-o", "--output", command="diff", metavar="FILE", help="Write here (- for stdout) [default: stdout]"),
    ] = None,
    tolerance: ToleranceOption = None,
    exit_code: Annotated[
        bool,
        option("--exit-code", help="Exit 1 when the runs differ (a section is not the same), like git diff."),
    ] = False,
    policy: PoliciesOption = None,
    waivers: WaiversOption = None,
    config: ConfigOption = None,
    vuln_source: VulnSourceOption = None,
    advisory_db: AdvisoryDbOption = None,
    osv_url: OsvUrlOption = None,
    max_db_age: MaxDbAgeOption = None,
) -> None:
    """Compare two runs: code, environment, hardware, data, params, metrics (with tolerances, as
    `reproduce` takes them), fairness (with intervals) and findings (both checked as `auditor check`
    would, with the same policy), and what points at a substantial modification (EU AI Act).

    Exit codes: 0 the diff was produced, whether or not the runs differ; with --exit-code, 1 when
    they differ (a section changed, or is not recorded on a side) and 0 when every section is the
    same; 2 bad usage or input (an unknown or ambiguous run, a bad option); 4 a record that does
    not verify against the store's log. A difference never changes the exit code without --exit-code.
    """
    from auditor.portfolio.diff.make import diff_runs
    from auditor.portfolio.diff.render_html import render_html
    from auditor.portfolio.diff.render_json import render_json
    from auditor.portfolio.diff.render_text import render_text
    from auditor.reproduce.compare import parse_tolerances

    tolerances = parse_tolerances(tolerance or [])
    one_shot()
    vuln = (vuln_source, advisory_db, osv_url, max_db_age)
    options = check_options(run_a, store, policy, waivers, None, config, vuln)
    result = diff_runs(options, run_b, tolerances)
    render = {"text": render_text, "json": render_json, "html": render_html}[fmt]
    text = render(result)
    emit(text, output)
    if exit_code and result.differs:
        raise typer.Exit(EXIT_VIOLATIONS)
