"""Questions across the runs of a store, answered from summaries (the one entry point for them).

Every reader of many runs (`runs` filters, cross-run lineage, duplicate detection, the portfolio,
`show`'s reproductions) asks here, never by loading every record itself. This first version
answers by scanning the verified records; the run index (auditor/index/) answers the same
questions without reading the store, with the same results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from auditor.errors import AuditorError
from auditor.index.summary import RunSummary, summarize
from auditor.record import RunRecord
from auditor.store.runs import RunStore


@dataclass(frozen=True)
class Filters:
    """Every given field must hold (and): `dataset` is a content key or a hex prefix of a SHA-256
    (at least 8 characters) any dataset of the run had before or after it; `package` is
    (canonical name, version)."""

    project: str | None = None
    owner: str | None = None
    status: str | None = None
    verdict: str | None = None  # compliant | violations | could_not_evaluate | unchecked (the latest check)
    since: datetime | None = None
    until: datetime | None = None
    dataset: str | None = None
    package: tuple[str, str] | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one `auditor check` of a run, kept so the portfolio and `runs --verdict` need
    not check again: which record and which policy (`context`: a digest of the packs, waivers and
    advisory database used) gave which verdict."""

    run_id: str
    record_sha256: str
    context: str
    policy: str  # the packs, as a reader names them, e.g. "default, eu-ai-act"
    verdict: str  # compliant | violations | could_not_evaluate
    failing: dict[str, int] = field(default_factory=dict)  # severity -> failing findings
    could_not: int = 0  # findings that could not be evaluated or were inconclusive
    waived: int = 0
    findings_digest: str = ""
    checked_at: datetime | None = None


@dataclass(frozen=True)
class Listing:
    runs: list[RunSummary]  # oldest first
    refused: list[AuditorError]  # folders in the store that are not runs auditor committed


def listing(store: RunStore, filters: Filters | None = None) -> Listing:
    filters = filters or Filters()
    runs: list[RunSummary] = []
    refused: list[AuditorError] = []
    for name in store.folder_names():
        try:
            record, raw = store.load_with_bytes(name)
        except AuditorError as exc:
            refused.append(exc)
            continue
        summary = summarize(record, hashlib.sha256(raw).hexdigest())
        if matches(summary, filters, None):
            runs.append(summary)
    return Listing(runs, refused)


def summaries(store: RunStore, filters: Filters | None = None) -> list[RunSummary]:
    return listing(store, filters).runs


def summary(store: RunStore, run_id: str) -> RunSummary:
    record, raw = store.load_with_bytes(run_id)
    return summarize(record, hashlib.sha256(raw).hexdigest())


def reproductions_of(store: RunStore, run_id: str) -> list[str]:
    """Runs that re-executed `run_id`, oldest first."""
    return [s.run_id for s in summaries(store) if s.reproduces == run_id]


def reproduction_records(store: RunStore, run_id: str) -> list[RunRecord]:
    return [store.load(i) for i in reproductions_of(store, run_id)]


def record_check(store: RunStore, result: CheckResult) -> None:
    """Keep a check's outcome (the run index stores it; the scan keeps nothing)."""


def latest_checks(store: RunStore) -> dict[str, CheckResult]:
    """The latest kept check of each run, by run id."""
    return {}


def matches(s: RunSummary, f: Filters, check: CheckResult | None) -> bool:
    if f.project is not None and s.project != f.project:
        return False
    if f.owner is not None and s.owner != f.owner:
        return False
    if f.status is not None and s.status != f.status:
        return False
    if f.since is not None and s.started_at < f.since:
        return False
    if f.until is not None and s.started_at > f.until:
        return False
    if f.package is not None and f.package not in s.packages:
        return False
    if f.verdict is not None and (check.verdict if check else "unchecked") != f.verdict:
        return False
    if f.dataset is not None:
        keys = {k for d in s.datasets for k in (d.before, d.after) if k}
        wanted = f.dataset.lower()
        if not any(k == wanted or (len(wanted) >= 8 and k.startswith(f"sha256:{wanted}")) for k in keys):
            return False
    return True
