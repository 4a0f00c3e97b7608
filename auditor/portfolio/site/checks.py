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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from auditor.check.digest import findings_digest
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.options import CheckOptions, _packs, _vuln_choice, _waivers
from auditor.check.report import CheckReport
from auditor.check.vulns.audit import SourceInfo, VulnAudit
from auditor.check.vulns.osv_local import PackageAudit
from auditor.check.vulns.sources import SourceChoice, audit_packages
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
    def waivers_file(self) -> str | None:
        found: tuple[str, str] | None = self.settings["waivers_file"]
        return found[0] if found else None

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


def request_for(policy: Policy, store: RunStore, run_id: str, audits: PackageAudits | None = None) -> CheckRequest:
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
        vuln_audit=audits,
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


class PackageAudits:
    """One process's vulnerability answers, per package: the source is asked once for every package
    the runs name (their summaries list them), then again only for a package it was not asked about.
    A source that fails as a whole fails for every run, as it would run by run."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], PackageAudit] = {}
        self.source: SourceInfo | None = None
        self.error: str | None = None

    def warm(self, choice: SourceChoice | None, packages: Iterable[tuple[str, str]], cache_dir: Path | None) -> None:
        if choice is not None:
            self(choice, sorted(set(packages)), cache_dir)

    def __call__(self, choice: SourceChoice, packages: list[tuple[str, str]], cache_dir: Path | None) -> VulnAudit:
        keys = [(canonicalize_name(name), version) for name, version in packages]
        missing = sorted({(n, v) for (n, v), k in zip(packages, keys, strict=True) if k not in self.known})
        if missing or self.source is None:
            audit = audit_packages(choice, missing, cache_dir)
            self.source, self.error = audit.source, audit.error
            for found in audit.packages:
                self.known[(canonicalize_name(found.name), found.version)] = found
        answers = tuple(
            replace(self.known[k], name=name) if k in self.known else _unanswered(name, version)
            for (name, version), k in zip(packages, keys, strict=True)
        )
        return VulnAudit(source=self.source or SourceInfo(kind="osv-local"), packages=answers, error=self.error)


def _unanswered(name: str, version: str) -> PackageAudit:
    return PackageAudit(name, version, "not_audited", (), "the vulnerability source gave no answer for it")


@dataclass(frozen=True)
class Checked:
    results: dict[str, CheckResult]  # run id -> its check under the policy
    computed: int  # how many were checked now (the others were kept)
    audits: PackageAudits  # the vulnerability answers, for the dossiers rendered next


def ensure_checks(store: RunStore, runs: Iterable[RunSummary], policy: Policy) -> Checked:
    """A check for every run under `policy`: the kept one when it is for the same record bytes and
    context, else one made now with the check engine and kept (`record_check`)."""
    kept = latest_checks(store)
    results: dict[str, CheckResult] = {}
    todo = []
    for run in runs:
        found = kept.get(run.run_id)
        if found is not None and found.context == policy.context and found.record_sha256 == run.record_sha256:
            results[run.run_id] = found
        else:
            todo.append(run)
    audits = PackageAudits()
    if todo:
        audits.warm(policy.settings["vuln_source"], (p for r in todo for p in r.packages), policy.settings["cache_dir"])
    computed = 0
    for run in todo:
        result = result_of(run_check(request_for(policy, store, run.run_id, audits)), policy)
        record_check(store, result)
        results[run.run_id] = result
        computed += 1
    return Checked(results, computed, audits)
