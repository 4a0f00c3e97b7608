"""Two runs loaded verified from the store, checked with the same policy, and compared."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.options import CheckOptions, is_record_file, prepare
from auditor.check.report import CheckReport
from auditor.errors import UsageError
from auditor.portfolio.diff.data import data_section
from auditor.portfolio.diff.facets import (
    code_section,
    environment_section,
    hardware_section,
    params_section,
    project_section,
)
from auditor.portfolio.diff.measures import fairness_section, findings_section, metrics_section, tolerance_text
from auditor.portfolio.diff.model import RunDiff, RunSide
from auditor.portfolio.diff.substantial import indications
from auditor.reproduce.compare import Tolerance


def _side(request: CheckRequest, report: CheckReport) -> RunSide:
    ident = request.record.identity
    return RunSide(
        run_id=ident.run_id,
        project=ident.project,
        name=ident.name,
        status=ident.status,
        started_at=ident.started_at,
        record_sha256=request.record_sha256,
        verdict=report.with_waivers.verdict.replace("_", " "),
    )


def diff_requests(a: CheckRequest, b: CheckRequest, tolerances: Mapping[str, Tolerance]) -> RunDiff:
    """Pure apart from the check's vulnerability source: compare two prepared check requests."""
    report_a, report_b = run_check(a), run_check(b)
    ra, rb = a.record, b.record
    data = data_section(ra, rb)
    sections = (
        project_section(ra, rb),
        code_section(ra, rb),
        environment_section(ra, rb),
        hardware_section(ra, rb),
        data,
        params_section(ra, rb),
        metrics_section(ra, rb, tolerances),
        fairness_section(ra, rb),
        findings_section(report_a, report_b),
    )
    return RunDiff(
        a=_side(a, report_a),
        b=_side(b, report_b),
        sections=sections,
        substantial=indications(ra, rb, data),
        policy=", ".join(p.name for p in report_a.packs) or "none",
        tolerances={name: tolerance_text(t) for name, t in sorted(tolerances.items())},
    )


def diff_runs(options: CheckOptions, ref_b: str, tolerances: Mapping[str, Tolerance]) -> RunDiff:
    """`options.run_ref` is run A; both are runs in the store (never loose record files)."""
    for ref in (options.run_ref, ref_b):
        if is_record_file(ref):
            raise UsageError(f"{ref!r}: diff compares runs in the store (an id, a unique prefix, or latest), not files")
    env = dict(os.environ)
    options = replace(options, now=options.now or datetime.now(UTC))  # both checked at one moment
    a = prepare(options, env)
    b = prepare(replace(options, run_ref=ref_b), env)
    return diff_requests(a, b, tolerances)
