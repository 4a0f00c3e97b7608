"""Every run's verdict under one policy: kept checks reused, missing ones computed and kept.

The policy is resolved exactly as `auditor check` resolves it (the command line, then the
environment, then auditor.yaml's `policy:` section), once for all runs. Its `context` is the
SHA-256 of what decides a finding besides the record: the packs' bytes and overrides, `fail_on`,
the waivers file's bytes (and the day, when there are waivers: a waiver expires), and the
vulnerability source. A kept check counts only for the same record bytes and the same context.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.check.digest import findings_digest
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.options import CheckOptions, _packs, _vuln_choice, _waivers
from auditor.check.report import CheckReport
from auditor.check.waivers import Waiver
from auditor.index.query import CheckResult, latest_checks, record_check
from auditor.index.summary import RunSummary
from auditor.project.policy import PolicySettings
from auditor.project.spec import find_spec, load_spec
from auditor.store.runs import RunStore


@dataclass(frozen=True)
class Policy:
    """A resolved policy: everything of a CheckRequest but the record, and the context that names it."""

    settings: dict[str, Any]  # CheckRequest's fields other than the record's
    context: str
    name: str  # the packs, as a reader names them

    @property
    def waivers(self) -> tuple[Waiver, ...]:
        waivers: tuple[Waiver, ...] = self.settings["waivers"]
        return waivers

    @property
    def now(self) -> datetime:
        now: datetime = self.settings["now"]
        return now


def resolve_policy(options: CheckOptions, env: Mapping[str, str]) -> Policy:
    """The policy `auditor check` would use with these options (bad input: one line, exit 2)."""
    config = options.config or find_spec(options.cwd)
    settings = load_spec(config).policy if config is not None else PolicySettings()
    base = config.parent if config is not None else options.cwd
    waivers_path = options.waivers or (base / settings.waivers if settings.waivers else None)
    waivers, waivers_file = _waivers(waivers_path) if waivers_path is not None else ((), None)
    pack = _packs(options, settings, config, base)
    now = options.now or datetime.now(UTC)
    settings_of_request: dict[str, Any] = dict(
        pack=pack,
        fail_on=options.fail_on or settings.fail_on,
        location=str(config) if config is not None else "",
        now=now,
        waivers=waivers,
        waivers_file=waivers_file,
        vuln_source=_vuln_choice(options, settings, base, dict(env)),
        max_db_age_days=options.max_db_age if options.max_db_age is not None else settings.vulnerabilities.max_age_days,
        stale_fails=settings.vulnerabilities.on_stale == "fail",
        config=str(config) if config is not None else None,
        cache_dir=Path(env.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor"),
    )
    source = settings_of_request["vuln_source"]
    document = {
        "packs": [ref.model_dump(mode="json") for ref in pack.files],
        "overrides": [o.model_dump(mode="json") for o in pack.overrides],
        "fail_on": settings_of_request["fail_on"],
        "waivers": waivers_file[1] if waivers_file else None,
        "day": now.date().isoformat() if waivers else None,
        "vulns": [source.source, str(source.database or ""), source.osv_url or ""] if source else None,
        "max_db_age": settings_of_request["max_db_age_days"],
        "stale_fails": settings_of_request["stale_fails"],
    }
    context = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    name = ", ".join(dict.fromkeys(ref.name for ref in pack.files))
    return Policy(settings_of_request, context, name)


def request_for(policy: Policy, store: RunStore, run_id: str) -> CheckRequest:
    """The check request for one stored run (its record verified by the store)."""
    record, raw = store.load_with_bytes(run_id)
    path = store.record_path(run_id)
    fields = dict(policy.settings)
    fields["location"] = fields["location"] or str(path)
    return CheckRequest(
        record=record,
        record_path=path,
        record_sha256=hashlib.sha256(raw).hexdigest(),
        run_folder=store.run_folder(run_id),
        **fields,
    )


def result_of(report: CheckReport, policy: Policy) -> CheckResult:
    totals = report.with_waivers.totals
    outcomes = totals.outcomes
    return CheckResult(
        run_id=report.run.run_id,
        record_sha256=report.run.record_sha256,
        context=policy.context,
        policy=policy.name,
        verdict=report.with_waivers.verdict,
        failing={s: n for s, n in totals.failing_by_severity.items() if n},
        could_not=outcomes.get("inconclusive", 0) + outcomes.get("could_not_evaluate", 0),
        waived=outcomes.get("waived", 0),
        findings_digest=findings_digest(report),
        checked_at=report.checked_at,
    )


@dataclass(frozen=True)
class Checked:
    results: dict[str, CheckResult]  # run id -> its check under the policy
    computed: int  # how many were checked now (the others were kept)


def ensure_checks(store: RunStore, runs: Iterable[RunSummary], policy: Policy) -> Checked:
    """A check for every run under `policy`: the kept one when it is for the same record bytes and
    context, else one made now with the check engine and kept (`record_check`)."""
    kept = latest_checks(store)
    results: dict[str, CheckResult] = {}
    computed = 0
    for run in runs:
        found = kept.get(run.run_id)
        if found is not None and found.context == policy.context and found.record_sha256 == run.record_sha256:
            results[run.run_id] = found
            continue
        result = result_of(run_check(request_for(policy, store, run.run_id)), policy)
        record_check(store, result)
        results[run.run_id] = result
        computed += 1
    return Checked(results, computed)
