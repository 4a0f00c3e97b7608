"""`auditor portfolio -o DIR`: every run of a store checked under one policy, assembled, rendered
and written as a static site.

Dossiers (`dossiers`): "latest" (the default) renders the HTML dossier of each project's latest run
and of every run waiting for sign-off, the runs a reviewer opens first; "all" renders every run's
(slow: about a second each); "none" renders none. A run page without a dossier says how to write
it (`auditor report RUN`). Rendered dossiers are reused from the previous portfolio in DIR when
their run's record, findings, sign-offs and notes are unchanged (write.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from auditor import __version__
from auditor.check.options import CheckOptions
from auditor.index.query import CheckResult, listing
from auditor.index.summary import RunSummary
from auditor.portfolio.duplicates import find_duplicates
from auditor.portfolio.site.checks import PackageAudits, Policy, ensure_checks, request_for, resolve_policy
from auditor.portfolio.site.model import DuplicateRow, Portfolio, assemble, latest_runs
from auditor.portfolio.site.pages import render_pages
from auditor.portfolio.site.write import cached_dossier, marker, previous_keys, write_site
from auditor.store.notes import note_counts, notes_of
from auditor.store.runs import RunStore
from auditor.store.signoffs import check_signoff, stored_signoffs

DossierMode = Literal["latest", "all", "none"]
DOSSIER_MODES: tuple[DossierMode, ...] = ("latest", "all", "none")


@dataclass(frozen=True)
class Built:
    out: Path
    portfolio: Portfolio
    files: int
    dossiers_rendered: int
    dossiers_reused: int


def make_portfolio(
    options: CheckOptions,
    out: Path,
    env: Mapping[str, str],
    *,
    dossiers: DossierMode = "latest",
    soon_days: int = 30,
) -> Built:
    """Check, assemble, render, write. Bad input (options, DIR) is refused before any check runs."""
    old_keys = previous_keys(out)
    policy = resolve_policy(options, env)
    store = RunStore.open(options.store)
    found = listing(store)
    runs = found.runs
    checked = ensure_checks(store, runs, policy)
    latest = latest_runs(runs)
    waiting = signoffs_waiting(store, latest.values(), checked.results)
    counts = note_counts(store)
    chosen = _dossier_runs(dossiers, runs, latest, waiting)
    keys = {r.run_id: _dossier_key(store, r, checked.results[r.run_id], counts.get(r.run_id, 0)) for r in chosen}
    pairs = find_duplicates(runs, by="project")
    portfolio = assemble(
        store=str(options.store),
        generated_at=policy.now,
        runs=runs,
        checks=checked.results,
        notes=counts,
        waiting=waiting,
        dossiers={run_id: f"dossiers/{run_id}.html" for run_id in keys},
        duplicates=[
            DuplicateRow(
                p.a, p.b, p.score, p.a_owners, p.b_owners, tuple((e.kind, e.weight, e.detail) for e in p.evidence)
            )
            for p in pairs
        ],
        waivers=policy.waivers,
        soon_days=soon_days,
        policy=(policy.name, policy.context, policy.waivers_file),
        refused=[e.message for e in found.refused],
        dossier_mode=dossiers,
        checked_now=checked.computed,
    )
    tally = {"rendered": 0, "reused": 0}

    def files() -> Iterator[tuple[str, bytes]]:
        for path, html in render_pages(portfolio, lambda run_id: notes_of(store, run_id)):
            yield path, html.encode()
        for run_id, key in keys.items():
            path = f"dossiers/{run_id}.html"
            data = cached_dossier(out, path) if old_keys.get(run_id) == key else None
            if data is None:
                data = _render_dossier(policy, store, run_id, checked.audits)
                tally["rendered"] += 1
            else:
                tally["reused"] += 1
            yield path, data
        yield ".auditor-portfolio.json", marker(keys)

    count = write_site(out, files())
    return Built(out, portfolio, count, tally["rendered"], tally["reused"])


def signoffs_waiting(
    store: RunStore, latest: Iterable[RunSummary], checks: Mapping[str, CheckResult]
) -> dict[str, str]:
    """Each latest run no sign-off covers, with why (see model.py for the definition)."""
    waiting: dict[str, str] = {}
    for run in latest:
        check = checks.get(run.run_id)
        digest = check.findings_digest if check is not None else None
        stored = stored_signoffs(store, run.run_id)
        statuses = [
            check_signoff(s, run_id=run.run_id, record_sha256=run.record_sha256, findings_sha256=digest) for s in stored
        ]
        if any(s.covers for s in statuses):
            continue
        if not statuses:
            waiting[run.run_id] = "no sign-off yet"
        elif all(s.problem is not None or s.signature == "invalid" for s in statuses):
            waiting[run.run_id] = f"{len(statuses)} sign-off(s), none that can be believed"
        else:
            waiting[run.run_id] = (
                f"{len(statuses)} sign-off(s), none for its current record and findings under this policy"
            )
    return waiting


def _dossier_runs(
    mode: DossierMode, runs: list[RunSummary], latest: Mapping[str, RunSummary], waiting: Mapping[str, str]
) -> list[RunSummary]:
    if mode == "none":
        return []
    if mode == "all":
        return list(runs)
    wanted = {r.run_id for r in latest.values()} | set(waiting)
    return [r for r in runs if r.run_id in wanted]


def _dossier_key(store: RunStore, run: RunSummary, check: CheckResult, notes: int) -> str:
    signoffs = len(stored_signoffs(store, run.run_id))
    parts = (run.record_sha256, check.findings_digest, check.context, str(signoffs), str(notes), __version__)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _render_dossier(policy: Policy, store: RunStore, run_id: str, audits: PackageAudits) -> bytes:
    from auditor.render.dossier.make import render_dossier

    return render_dossier(request_for(policy, store, run_id, audits)).html.encode()
