"""Commands: `index rebuild`, `index check`, `index status`: the run index; and what the other
commands share about it (the `runs` filters, its notes, the update after a commit)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import typer

from auditor.cli.app import StoreOption, app, say, store_path
from auditor.errors import EXIT_VIOLATIONS, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.check.report import CheckReport
    from auditor.index.query import Filters
    from auditor.store.runs import RunStore

index_app = typer.Typer(
    name="index",
    help="The run index (a cache of run summaries, rebuilt from the records): rebuild, check, status.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(index_app)

_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]*:\S+$")


def print_notes() -> None:
    from auditor.index.db import take_notes
    from auditor.text import safe

    for text in take_notes():
        say(f"note: {safe(text)}")


def update_index(store: RunStore) -> None:
    """After a command committed runs: index them (a failure is a note; the command stands)."""
    from auditor.index.query import update
    from auditor.text import safe

    problem = update(store)
    print_notes()
    if problem is not None:
        say(f"note: {safe(problem)}")


def keep_check(store_root: Path, report: CheckReport) -> None:
    """Keep a store run's check outcome in the index (a failure is a note; the check stands)."""
    import hashlib
    import json
    import os
    import sys

    from auditor.index.kept import CheckResult, keep_in_store_sqlite
    from auditor.store.runs import RunStore

    policy = {
        "packs": sorted((p.name, p.version, p.sha256) for p in report.packs),
        "overrides": sorted(o.rule_id + ":" + json.dumps(o.changed, sort_keys=True) for o in report.overrides),
        "waivers": report.waivers.sha256 if report.waivers else None,
        "fail_on": report.fail_on,
        "advisories": [report.vulnerabilities.source, report.vulnerabilities.date, report.vulnerabilities.commit]
        if report.vulnerabilities
        else None,
    }
    totals = report.with_waivers.totals
    outcomes = totals.outcomes
    store = RunStore.open(store_root)
    result = CheckResult(
        run_id=report.run.run_id,
        record_sha256=report.run.record_sha256,
        context=hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:32],
        policy=", ".join(p.name for p in report.packs),
        verdict=report.with_waivers.verdict,
        failing=dict(totals.failing_by_severity),
        could_not=outcomes.get("could_not_evaluate", 0) + outcomes.get("inconclusive", 0),
        waived=outcomes.get("waived", 0),
        findings_digest=_digest(report),
        checked_at=report.checked_at,
    )
    if not keep_in_store_sqlite(store, result, dict(os.environ)):  # the store's SQLite index without SQLAlchemy
        from auditor.index.query import record_check

        record_check(store, result)
    if "auditor.index.db" in sys.modules:  # only the index layer takes notes
        print_notes()


def _digest(report: CheckReport) -> str:
    from auditor.check.digest import findings_digest

    return findings_digest(report)


def _moment(option: str, value: str | None, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end_of_day else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_filters(
    project: str | None,
    owner: str | None,
    status: str | None,
    verdict: str | None,
    since: str | None,
    until: str | None,
    dataset: str | None,
    package: str | None,
) -> Filters:
    """The `runs` filters, each checked: a bad value is one line naming the option (exit 2)."""
    from packaging.utils import canonicalize_name

    from auditor.index.query import Filters

    wanted: str | None = None
    if dataset is not None:
        text = dataset.strip()
        if _HEX.match(text):
            wanted = text.lower()
        elif _KEY.match(text):
            wanted = text
        else:
            raise UsageError(
                f"--dataset: {dataset!r} is neither a content key (sha256:HEX, dvc-md5:...) nor at least 8 hex "
                "characters of a SHA-256"
            )
    pin: tuple[str, str] | None = None
    if package is not None:
        name, sep, version = package.partition("==")
        if not sep or not name.strip() or not version.strip() or "==" in version:
            raise UsageError(f"--package: {package!r} is not NAME==VERSION")
        pin = (canonicalize_name(name.strip()), version.strip())
    start, end = _moment("--since", since, False), _moment("--until", until, True)
    if start is not None and end is not None and start > end:
        raise UsageError(f"--since {since} is after --until {until}: no run can match")
    return Filters(
        project=project,
        owner=owner,
        status=status,
        verdict=verdict,
        since=start,
        until=end,
        dataset=wanted,
        package=pin,
    )


@index_app.command("rebuild")
def rebuild(store: StoreOption = None) -> None:
    """Index every record of the store again, from the records (kept check outcomes stay).

    Exit 74 when the index cannot be opened or written."""
    from auditor.index.compare import rebuild_index
    from auditor.store.runs import RunStore

    count, where = rebuild_index(RunStore.open(store_path(store)))
    print_notes()
    typer.echo(f"indexed {count} runs in {where}")


@index_app.command("check")
def check(store: StoreOption = None) -> None:
    """Compare the index with a full scan of the records (after bringing it up to the log).

    Each difference is one line. Exit 0 when they agree, 1 when they differ (`auditor index
    rebuild` makes them agree), 74 when the index cannot be opened."""
    from auditor.index.compare import differences
    from auditor.store.runs import RunStore
    from auditor.text import safe

    found = differences(RunStore.open(store_path(store)))
    print_notes()
    for line in found:
        typer.echo(safe(line))
    if found:
        count = f"{len(found)} difference{'s' if len(found) != 1 else ''}"
        typer.echo(f"auditor: the index differs from the records ({count}): `auditor index rebuild`", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)
    typer.echo("the index agrees with the records")


@index_app.command("status")
def status(store: StoreOption = None) -> None:
    """Where the index is, how many runs and kept checks it holds, and the log size it covers."""
    from auditor.index.compare import status as index_status
    from auditor.store.runs import RunStore
    from auditor.text import safe

    found = index_status(RunStore.open(store_path(store)))
    print_notes()
    typer.echo(f"index      {safe(found.where)}")
    typer.echo(f"runs       {found.runs} indexed, {found.pending} awaited (logged, folder not seen yet)")
    typer.echo(f"checks     {found.checks} kept outcomes")
    typer.echo(f"log        {found.log_size} of {found.log_head} entries covered")
