"""When the pipeline ran, as far as git can tell: the commit that last changed each stage's entry.

DVC records no run times. What dates a run is the commit that recorded its result: `dvc repro`
rewrites a stage's entry in dvc.lock (a `.dvc` file for `dvc add` / `dvc import`), and the
commit that last changed that entry is when the result was kept. So, for every lock file, its
history is walked newest first (`git log -- FILE`, at most MAX_COMMITS commits), each version
read with `git cat-file` (never a filter or textconv the repository's config names) and parsed
with the safe YAML loader, until every stage's entry is found to differ from the one read now:
the last commit where it was still the same is the stage's commit. The run's start is the
earliest stage commit and its end the latest; neither is the run's own clock, and the record
says so. An entry that differs from the committed file (an uncommitted `dvc repro`) has no
commit: the note says so. Only when nothing is committed are file times used, labelled as such.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.dvc.files import MAX_PIPELINE_BYTES, read_bytes
from auditor.ingest.dvc.git import run_git
from auditor.ingest.dvc.lineage import is_local, location
from auditor.ingest.dvc.pipeline import Pipeline
from auditor.ingest.safe_yaml import load_yaml
from auditor.record.models import TimeBasis

MAX_COMMITS = 500
MAX_SHOWN = 8
SEP = "\x1f"


@dataclass(frozen=True)
class Commit:
    sha: str
    when: datetime  # the author date: when the change was made (a rebase keeps it)

    def words(self) -> str:
        return f"{self.sha[:7]} on {self.when.strftime('%Y-%m-%d %H:%M UTC')}"


@dataclass(frozen=True)
class LockFile:
    """A file that records stages' results: dvc.lock (many stages) or a `.dvc` file (one)."""

    label: str  # repo-relative
    stages: dict[str, str]  # the stage's key in the file ("" for a .dvc file's one stage) -> its name


@dataclass
class Dated:
    """When each stage's result was committed, and what could not be dated."""

    stages: dict[str, Commit] = field(default_factory=dict)  # stage name -> the commit that last changed it
    uncommitted: list[str] = field(default_factory=list)  # stages whose entry differs from the committed file
    notes: list[str] = field(default_factory=list)
    why_not: str | None = None  # why git could not date anything


def date_stages(repo: Path, files: list[LockFile]) -> Dated:
    dated = Dated()
    if shutil.which("git") is None:
        dated.why_not = "no git program found to read the history"
        return dated
    if run_git(repo, "rev-parse", "--verify", "-q", "HEAD") is None:
        dated.why_not = "not a git repository, or no commit yet"
        return dated
    top = run_git(repo, "rev-parse", "--show-prefix")  # the repository may sit inside a bigger git work tree
    prefix = top or ""
    for lock in files:
        _date_file(repo, prefix, lock, dated)
    if run_git(repo, "rev-parse", "--is-shallow-repository") == "true":
        dated.notes.append("times: the git clone is shallow: a stage may have been committed earlier than shown")
    return dated


def _date_file(repo: Path, prefix: str, lock: LockFile, dated: Dated) -> None:
    try:
        now = _entries(load_yaml(read_bytes(repo / lock.label, lock.label, MAX_PIPELINE_BYTES), lock.label), lock)
    except IngestError:
        return  # the reader reports an unreadable lock itself
    listed = run_git(
        repo,
        "log",
        f"-n{MAX_COMMITS}",
        f"--format=%H{SEP}%at",
        "--no-renames",
        "--",
        f":(literal){lock.label}",  # a pathspec is relative to the folder git runs in
        limit=MAX_COMMITS * 64,
    )
    commits = [_commit(line) for line in (listed or "").splitlines()]
    history = [c for c in commits if c is not None]
    if not history or run_git(repo, "cat-file", "-e", f"HEAD:{prefix}{lock.label}") is None:
        dated.uncommitted += list(lock.stages.values())
        dated.notes.append(f"times: {lock.label} is not committed to git: its stages' times are not known")
        return
    pending = dict(now)
    found: dict[str, Commit] = {}
    for commit in history:
        blob = run_git(repo, "cat-file", "blob", f"{commit.sha}:{prefix}{lock.label}", limit=MAX_PIPELINE_BYTES)
        try:
            then = _entries(load_yaml(blob, lock.label), lock) if blob is not None else {}
        except IngestError:
            then = {}
        for key in list(pending):
            if key in then and then[key] == pending[key]:
                found[key] = commit  # still the same here: changed at this commit or an older one
            else:
                if key not in found:
                    dated.uncommitted.append(lock.stages[key])
                pending.pop(key)
        if not pending:
            break
    else:
        if pending and len(history) >= MAX_COMMITS:
            dated.notes.append(
                f"times: {lock.label}: only the last {MAX_COMMITS} commits were read: "
                f"stages {', '.join(sorted(lock.stages[k] for k in pending))} may have been committed earlier"
            )
    for key, commit in found.items():
        dated.stages[lock.stages[key]] = commit


def _commit(line: str) -> Commit | None:
    sha, _, seconds = line.partition(SEP)
    try:
        return Commit(sha, datetime.fromtimestamp(int(seconds), UTC))
    except (ValueError, OverflowError, OSError):
        return None


def _entries(data: Any, lock: LockFile) -> dict[str, Any]:
    """Each stage's entry, as parsed: dvc.lock's `stages.NAME` (or DVC 1's top-level NAME); a
    `.dvc` file is one entry, the whole file."""
    if not isinstance(data, dict):
        return {}
    if "" in lock.stages:
        return {"": data}
    stages = data.get("stages") if "schema" in data else data
    if not isinstance(stages, dict):
        return {}
    return {key: stages[key] for key in lock.stages if key in stages}


@dataclass(frozen=True)
class Times:
    started: datetime
    ended: datetime
    basis: TimeBasis  # "git_commit", or "file_mtime" when git dates nothing
    note: str  # the evidence: which commits, or which files and why
    notes: tuple[str, ...]
    stages: dict[str, str]  # stage name -> when its result was committed, in words


def pipeline_times(repo: Path, pipelines: list[Pipeline]) -> Times:
    files = [
        LockFile(p.lock.label, {s.key: s.name for s in p.stages if s.key in p.lock.stages})
        for p in pipelines
        if p.lock is not None
    ]
    dated = date_stages(repo, [f for f in files if f.stages])
    stages = {name: f"committed in {commit.words()}" for name, commit in dated.stages.items()}
    for name in dated.uncommitted:
        stages[name] = "not committed: its result changed after the last commit of its lock file"
    labels = {name: f.label for f in files for name in f.stages.values()}
    if dated.stages:
        groups: dict[tuple[str, Commit], list[str]] = {}
        for name, commit in sorted(dated.stages.items(), key=lambda item: (item[1].when, item[0])):
            groups.setdefault((labels[name], commit), []).append(name)
        parts = [
            f"{label} last changed by {commit.words()} ({_stages(names)})"
            for (label, commit), names in list(groups.items())[:MAX_SHOWN]
        ]
        if len(groups) > MAX_SHOWN:
            parts.append(f"{len(groups) - MAX_SHOWN} more commits")
        note = "; ".join(parts)
        if dated.uncommitted:
            note += (
                f"; uncommitted changes: {_stages(sorted(dated.uncommitted))} ran after the last commit, "
                "at a time git does not record"
            )
        moments = [c.when for c in dated.stages.values()]
        return Times(min(moments), max(moments), "git_commit", note, tuple(dated.notes), stages)
    started, ended = _file_times(pipelines, repo)
    why = dated.why_not or "no stage's result is committed to git"
    note = (
        f"file modification times only ({why}): the end is dvc.lock's, the start the oldest locked "
        "output's; a checkout or clone sets them, so they are not the run's"
    )
    return Times(started, ended, "file_mtime", note, tuple(dated.notes), stages)


def _stages(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_SHOWN]) + (f" and {len(names) - MAX_SHOWN} more" if len(names) > MAX_SHOWN else "")
    return f"stage{'s' if len(names) > 1 else ''} {shown}"


def _file_times(pipelines: list[Pipeline], repo: Path) -> tuple[datetime, datetime]:
    locks = [p.lock.path for p in pipelines if p.lock is not None]
    marks = [mtime(path) for path in locks] or [mtime(repo / p.label) for p in pipelines]
    ended = max((mark for mark in marks if mark is not None), default=None) or datetime.now(UTC)
    outs = [
        mtime(repo / location(stage.wdir, entry.path))
        for p in pipelines
        if p.lock is not None
        for stage in p.stages
        if (locked := p.lock.stages.get(stage.key)) is not None
        for entry in locked.outs
        if is_local(location(stage.wdir, entry.path))
    ]
    started = min((mark for mark in outs if mark is not None and mark <= ended), default=ended)
    return started, ended


def mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except (OSError, ValueError, OverflowError):
        return None
