"""The facts the portfolio's pages show, assembled once from run summaries, checks, sign-offs,
notes, waivers and duplicate candidates. Pure: no file is written here; nothing is rendered.

Words the pages define (and say on the page):
- a project's *latest run*: its run with the latest start time;
- *open findings*: the failing findings (by severity) of each project's latest run, under the
  portfolio's policy, waivers in force applied;
- *waiting for sign-off*: a project's latest run that no sign-off covers: none names both its
  record's SHA-256 and the digest of its findings under this policy (a sign-off made before the
  record or the findings changed no longer covers them), or the only ones are unreadable or invalid.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from auditor.check.waivers import Waiver, expiry
from auditor.index.query import CheckResult
from auditor.index.summary import RunSummary
from auditor.vocabulary import SEVERITY_ORDER

SEVERITIES = tuple(reversed(SEVERITY_ORDER))  # critical first
VERDICTS = ("compliant", "violations", "could_not_evaluate", "unchecked")
VERDICT_WORDS = {
    "compliant": "compliant",
    "violations": "violations",
    "could_not_evaluate": "could not evaluate",
    "unchecked": "unchecked",
}


def project_page(project: str) -> str:
    """A project's page: named by a digest of its name (a name is untrusted text, never a path)."""
    return f"projects/p-{hashlib.sha256(project.encode()).hexdigest()[:16]}.html"


def run_page(run_id: str) -> str:
    return f"runs/{run_id}.html"


@dataclass(frozen=True)
class RunRow:
    run: RunSummary
    check: CheckResult | None
    notes: int
    waiting: str | None = None  # why it waits for sign-off, when it does
    dossier: str | None = None  # the dossier's path in the site, when rendered

    @property
    def verdict(self) -> str:
        return self.check.verdict if self.check is not None else "unchecked"

    @property
    def open_findings(self) -> int:
        return sum(self.check.failing.values()) if self.check is not None else 0


@dataclass(frozen=True)
class ProjectRow:
    name: str
    page: str
    owners: tuple[str, ...]
    runs: tuple[RunRow, ...]  # newest first
    latest: RunRow

    @property
    def first_started(self) -> datetime:
        return self.runs[-1].run.started_at

    @property
    def last_activity(self) -> datetime:
        return max((r.run.ended_at or r.run.started_at) for r in self.runs)


@dataclass(frozen=True)
class DatasetRow:
    key: str  # the content key, or "not hashed: PATH" when the runs give none
    hashed: bool
    names: tuple[str, ...]  # the paths or ids runs gave it
    read_by: tuple[str, ...]  # projects that read it
    written_by: tuple[str, ...]  # projects that wrote it
    runs: int


@dataclass(frozen=True)
class ModelRow:
    key: str | None
    path: str
    project: str
    run_id: str
    started_at: datetime


@dataclass(frozen=True)
class ReproductionRow:
    run_id: str
    of: str
    project: str
    verdict: str | None  # the reproduction's own verdict (matches, differs, ...), as recorded
    started_at: datetime


@dataclass(frozen=True)
class WaiverRow:
    waiver: Waiver
    expires: date | None
    days_left: int | None  # negative: expired that many days ago; None: unreadable date

    @property
    def state(self) -> str:
        if self.days_left is None:
            return f"unreadable expiry date {self.waiver.expires!r}: counts as expired"
        if self.days_left < 0:
            return f"expired {-self.days_left} day(s) ago"
        if self.days_left == 0:
            return "expires today"
        return f"expires in {self.days_left} day(s)"


@dataclass(frozen=True)
class DuplicateRow:
    a: str
    b: str
    score: float
    a_owners: tuple[str, ...]
    b_owners: tuple[str, ...]
    evidence: tuple[tuple[str, float, str], ...]  # kind, weight, detail


@dataclass(frozen=True)
class Portfolio:
    store: str
    generated_at: datetime
    policy: str
    policy_context: str
    waivers_file: str | None
    soon_days: int
    projects: tuple[ProjectRow, ...]  # by name
    runs: tuple[RunRow, ...]  # oldest first
    datasets: tuple[DatasetRow, ...]
    models: tuple[ModelRow, ...]
    reproductions: tuple[ReproductionRow, ...]
    duplicates: tuple[DuplicateRow, ...]
    waivers: tuple[WaiverRow, ...]  # expired or expiring within soon_days, soonest first
    waivers_total: int
    refused: tuple[str, ...]  # store folders that are not runs auditor committed, with why
    dossiers: str  # latest | all | none
    checked_now: int = 0

    @property
    def waiting(self) -> tuple[RunRow, ...]:
        return tuple(p.latest for p in self.projects if p.latest.waiting is not None)

    def latest_verdicts(self) -> dict[str, int]:
        counts = Counter(p.latest.verdict for p in self.projects)
        return {v: counts.get(v, 0) for v in VERDICTS}

    def open_by_severity(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for p in self.projects:
            if p.latest.check is not None:
                counts.update(p.latest.check.failing)
        return {s: counts.get(s, 0) for s in SEVERITIES}


def assemble(
    *,
    store: str,
    generated_at: datetime,
    runs: Sequence[RunSummary],
    checks: Mapping[str, CheckResult],
    notes: Mapping[str, int],
    waiting: Mapping[str, str],
    dossiers: Mapping[str, str],
    duplicates: Sequence[DuplicateRow],
    waivers: Sequence[Waiver],
    soon_days: int,
    policy: tuple[str, str, str | None],  # name, context, waivers file
    refused: Sequence[str],
    dossier_mode: str,
    checked_now: int = 0,
) -> Portfolio:
    ordered = sorted(runs, key=lambda r: (r.started_at, r.run_id))
    rows = tuple(
        RunRow(r, checks.get(r.run_id), notes.get(r.run_id, 0), waiting.get(r.run_id), dossiers.get(r.run_id))
        for r in ordered
    )
    name, context, waivers_file = policy
    return Portfolio(
        store=store,
        generated_at=generated_at,
        policy=name,
        policy_context=context,
        waivers_file=waivers_file,
        soon_days=soon_days,
        projects=_projects(rows),
        runs=rows,
        datasets=_datasets(ordered),
        models=tuple(
            ModelRow(m.key, m.path, r.project, r.run_id, r.started_at) for r in reversed(ordered) for m in r.models
        ),
        reproductions=tuple(
            ReproductionRow(r.run_id, r.reproduces, r.project, r.reproduction_verdict, r.started_at)
            for r in reversed(ordered)
            if r.reproduces
        ),
        duplicates=tuple(duplicates),
        waivers=expiring(waivers, generated_at.date(), soon_days),
        waivers_total=len(waivers),
        refused=tuple(refused),
        dossiers=dossier_mode,
        checked_now=checked_now,
    )


def latest_runs(runs: Iterable[RunSummary]) -> dict[str, RunSummary]:
    """Each project's latest run (the latest start; the larger run id breaks a tie)."""
    latest: dict[str, RunSummary] = {}
    for run in runs:
        seen = latest.get(run.project)
        if seen is None or (run.started_at, run.run_id) > (seen.started_at, seen.run_id):
            latest[run.project] = run
    return latest


def expiring(waivers: Iterable[Waiver], today: date, soon_days: int) -> tuple[WaiverRow, ...]:
    rows = []
    for waiver in waivers:
        end = expiry(waiver)
        left = (end - today).days if end is not None else None
        if left is None or left <= soon_days:
            rows.append(WaiverRow(waiver, end, left))
    return tuple(sorted(rows, key=lambda w: (w.days_left if w.days_left is not None else -(10**6), w.waiver.id)))


def _projects(rows: Sequence[RunRow]) -> tuple[ProjectRow, ...]:
    by_project: dict[str, list[RunRow]] = defaultdict(list)
    for row in rows:
        by_project[row.run.project].append(row)
    out = []
    for name in sorted(by_project):
        newest = tuple(reversed(by_project[name]))
        owners = tuple(sorted({r.run.owner for r in newest if r.run.owner}))
        out.append(ProjectRow(name, project_page(name), owners, newest, newest[0]))
    return tuple(out)


def _datasets(runs: Sequence[RunSummary]) -> tuple[DatasetRow, ...]:
    names: dict[str, set[str]] = defaultdict(set)
    read: dict[str, set[str]] = defaultdict(set)
    written: dict[str, set[str]] = defaultdict(set)
    count: Counter[str] = Counter()
    for run in runs:
        seen: set[str] = set()
        for d in run.datasets:
            label = d.path or d.uri or d.id
            keys = [(k, False) for k in (d.before, d.after) if k]
            if not keys:
                keys = [(f"not hashed: {label}", True)]
            for key, _ in keys:
                names[key].add(label)
                seen.add(key)
            if d.before and d.role != "output":
                read[d.before].add(run.project)
            if d.after and d.role != "input":
                written[d.after].add(run.project)
            if not d.before and not d.after:
                (read if d.role == "input" else written)[keys[0][0]].add(run.project)
        count.update(seen)
    rows = [
        DatasetRow(
            key=key,
            hashed=not key.startswith("not hashed: "),
            names=tuple(sorted(names[key])),
            read_by=tuple(sorted(read.get(key, ()))),
            written_by=tuple(sorted(written.get(key, ()))),
            runs=count[key],
        )
        for key in names
    ]
    rows.sort(key=lambda d: (-len(set(d.read_by) | set(d.written_by)), -d.runs, d.key))
    return tuple(rows)
