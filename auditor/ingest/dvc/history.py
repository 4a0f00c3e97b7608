"""When the pipeline ran, as far as git can tell: the commit that last changed each stage's entry.

DVC records no run times. What dates a run is the commit that recorded its result: `dvc repro`
rewrites a stage's entry in dvc.lock (a `.dvc` file for `dvc add` / `dvc import`), and the
commit that last changed that entry is when the result was kept. So, for every lock file, its
history is walked newest first (`git log -- FILE`, at most MAX_COMMITS commits), the versions
read in batches with `git cat-file --batch` (never a filter or textconv the repository's config
names: measured, one process per commit took 10 s for 500 commits on a busy machine) and parsed
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
from auditor.ingest.dvc.git import git_bytes, git_refusal, run_git
from auditor.ingest.dvc.lineage import is_local, location
from auditor.ingest.dvc.pipeline import Pipeline
from auditor.ingest.safe_yaml import load_yaml
from auditor.record.models import TimeBasis

MAX_COMMITS = 500
BATCH = 32  # versions read by one git process
BATCH_BYTES = 16 << 20  # fewer at a time when the lock file is large
MAX_SHOWN = 8
MAX_FILES = 200  # lock and .dvc files dated, dvc.lock files first
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
        refused = git_refusal(repo)
        dated.why_not = f"git refused it: {refused}" if refused else "not a git repository, or no commit yet"
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
        text = read_bytes(repo / lock.label, lock.label, MAX_PIPELINE_BYTES)
        now = _entries(load_yaml(text, lock.label), lock)
    except IngestError:
        return  # the reader reports an unreadable lock itself
    now_blocks = _blocks(text, lock)
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
    size = max(1, (repo / lock.label).stat().st_size if (repo / lock.label).is_file() else 1)
    batch = max(1, min(BATCH, BATCH_BYTES // size))
    for start in range(0, len(history), batch):
        chunk = history[start : start + batch]
        blobs = _blobs(repo, [f"{c.sha}:{prefix}{lock.label}" for c in chunk])
        for commit, blob in zip(chunk, blobs, strict=True):
            version = _Version(blob, lock, now_blocks)
            for key in list(pending):
                if version.same(key, pending[key]):
                    found[key] = commit  # still the same here: changed at this commit or an older one
                else:
                    if key not in found:
                        dated.uncommitted.append(lock.stages[key])
                    pending.pop(key)
            if not pending:
                break
        if not pending:
            break
    if pending and len(history) >= MAX_COMMITS:
        dated.notes.append(
            f"times: {lock.label}: only the last {MAX_COMMITS} commits were read: "
            f"stages {', '.join(sorted(lock.stages[k] for k in pending))} may have been committed earlier"
        )
    for key, commit in found.items():
        dated.stages[lock.stages[key]] = commit


class _Version:
    """One committed version of a lock file, parsed only when its text cannot settle a comparison:
    DVC writes each stage as a block of lines, and a block with the same text as now is the same
    entry (parsing every version took 6 s of 7 for 500 commits)."""

    def __init__(self, blob: bytes | None, lock: LockFile, now_blocks: dict[str, bytes] | None) -> None:
        self.blob, self.lock, self.now_blocks = blob, lock, now_blocks
        self.blocks = _blocks(blob, lock) if blob is not None and now_blocks is not None else None
        self.parsed: dict[str, Any] | None = None

    def same(self, key: str, entry: Any) -> bool:
        if self.blob is None:
            return False
        known = self.blocks is not None and self.now_blocks is not None and key in self.now_blocks
        if known and self.blocks and self.now_blocks and self.blocks.get(key) == self.now_blocks[key]:
            return True
        if self.parsed is None:
            try:
                self.parsed = _entries(load_yaml(self.blob, self.lock.label), self.lock)
            except IngestError:
                self.parsed = {}
        return key in self.parsed and bool(self.parsed[key] == entry)


def _blocks(text: bytes, lock: LockFile) -> dict[str, bytes] | None:
    """Each stage's lines as DVC writes dvc.lock (`stages:`, then `  NAME:` and its indented
    lines); a `.dvc` file is one block. None when the text is not laid out that way."""
    if "" in lock.stages:
        return {"": text}
    blocks: dict[str, list[bytes]] = {}
    current: list[bytes] | None = None
    inside = False
    for line in text.split(b"\n"):
        if not line.startswith(b" "):
            inside = line.rstrip() == b"stages:"
            current = None
            continue
        if not inside:
            continue
        if line.startswith(b"  ") and not line.startswith(b"   ") and line.rstrip().endswith(b":"):
            name = line.strip()[:-1]
            if not name or name[:1] in b"'\"-?!&*[{":
                return None  # quoted or unusual keys: let the parser compare
            current = blocks.setdefault(name.decode("utf-8", "replace"), [])
        elif current is None:
            return None
        else:
            current.append(line)
    return {key: b"\n".join(lines) for key, lines in blocks.items()}


def _blobs(repo: Path, names: list[str]) -> list[bytes | None]:
    """The files `REV:PATH` names, from one `git cat-file --batch` (one process, not one per commit);
    None for one git does not have."""
    out = git_bytes(repo, "cat-file", "--batch", given="".join(f"{name}\n" for name in names).encode())
    found: list[bytes | None] = []
    at = 0
    for _ in names:
        if out is None or at >= len(out):
            found.append(None)
            continue
        end = out.index(b"\n", at) if b"\n" in out[at:] else len(out)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob" and header[2].isdigit():
            length = int(header[2])
            found.append(out[at : at + length])
            at += length + 1  # the content, then a newline
        else:
            found.append(None)  # "<name> missing", or another kind of object
    return found


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
    files = [f for f in files if f.stages]
    dated = date_stages(repo, files[:MAX_FILES])
    if len(files) > MAX_FILES and not dated.why_not:
        dated.notes.append(
            f"times: only the first {MAX_FILES} of {len(files)} lock and .dvc files were dated from git "
            "(each takes its own history walk); the others' stages are not"
        )
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
