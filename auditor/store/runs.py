"""The run store: a folder of complete, immutable run records, and the log of which auditor wrote.

Layout (documented in the README):

    STORE/store.json             format marker and version
    STORE/salt                   fingerprint salt for redaction (mode 0600, never in a record)
    STORE/log/                   the tamper-evident log of every committed record (log.py)
    STORE/lock                   taken while a run is committed, and by an ingest while it checks and commits
    STORE/runs/<run_id>/         one complete run: record.json, stdout.log, stderr.log
    STORE/staging/<run_id>/      a run being captured; invisible to readers

A run is written entirely in staging and then moved into runs/ with one rename,
so a reader sees a run complete or not at all, even if auditor is killed. Run
ids are ULIDs (time-ordered, 80 random bits), so concurrent runs never collide.

The commands auditor runs can write here too (they are the same user). So a folder in runs/ is
a run only when `verify` says so: a real folder (not a link) named by its record's run id,
holding a regular record.json whose SHA-256 is the one the log's entry for that id holds, the
entry being in the tree of the log's last head, which extends the head first printed with it.
Everything else is refused with one line naming it, and never chosen as `latest`.
"""

from __future__ import annotations

import fcntl
import hashlib
import heapq
import json
import os
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import EvidenceError, InvalidRecordError, RunNotFoundError, StoreError, StoreWriteError
from auditor.files import UntrustedFileError, fsync_dir, open_folder, read_regular_file, write_atomic, write_synced
from auditor.record import RunRecord, dump_record
from auditor.record.io import parse_record
from auditor.store.log import (
    EMPTY_HEAD,
    ENTRIES,
    HEADS,
    LOG_DIR,
    ConsistencyProof,
    InclusionProof,
    LogEntry,
    LogHead,
    LogView,
    MerkleLog,
    entry_line,
)

STORE_ENV = "AUDITOR_STORE"
DEFAULT_STORE = ".auditor"
STORE_VERSION = 2  # 2: the tamper-evident log (1 kept an index of digests; before it, nothing)
STORE_FORMAT = {"format": "auditor-store", "version": STORE_VERSION}
STORE_MARKER = "store.json"
LEGACY_INDEX = "index"
RECORD_FILE = "record.json"
RUN_ID_LENGTH = 26  # a ULID
LOCK_FILE = "lock"
LATEST_CANDIDATES = 8  # newest folders `latest` asks the log about before listing every run
RECORD_MAX_BYTES = 256 * 1024 * 1024  # far above any record auditor writes; a bigger file is not one
MARKER_MAX_BYTES = 64 * 1024

Refused = InvalidRecordError | EvidenceError  # why a folder in runs/ is not a run


def default_store_path(cwd: Path, env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env[STORE_ENV]) if env.get(STORE_ENV) else cwd / DEFAULT_STORE


@dataclass(frozen=True)
class Staging:
    run_id: str
    path: Path


@dataclass(frozen=True)
class RunProofs:
    """A run's record bytes and the log's proofs about it, all under one head (`record.head`)."""

    record_bytes: bytes
    record: InclusionProof
    since: ConsistencyProof  # from the head printed with the run to `record.head`
    signoffs: Mapping[str, InclusionProof]


class RunStore:
    def __init__(self, root: Path, *, deferred: bool = False) -> None:
        self.root = root
        self._deferred = deferred  # not created on disk yet: the first write creates it
        self._guard = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0
        self._view_cache: tuple[tuple[int, ...], LogView] | None = None
        self.committed: LogHead | None = None  # the log's head after this process's last commit
        # The run `commit` (or `commit_many`) wrote last in this process: run id -> (the record, the
        # SHA-256 of its bytes), for the index to summarise without parsing and validating it again
        # (index/sync.py). Only the last: a process that commits many runs keeps no more than one.
        self.written: dict[str, tuple[RunRecord, str]] = {}

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def log(self) -> MerkleLog:
        return MerkleLog(self.root / LOG_DIR)

    @classmethod
    def create(cls, root: Path) -> RunStore:
        """Open a store for writing, creating it (idempotently, race-free) if needed."""
        store = cls(root, deferred=True)
        store._materialize()
        return store

    @classmethod
    def deferred(cls, root: Path) -> RunStore:
        """A store for writing, created on disk by its first write (`salt`, `begin`, `locked`):
        a command refused for bad input (exit 2) before that leaves no empty store behind."""
        return cls(root, deferred=True)

    @classmethod
    def open(cls, root: Path) -> RunStore:
        """Open an existing store for reading."""
        if not (root / "runs").is_dir():
            raise StoreError(f"{root}: no run store here (run `auditor run` first, or pass --store)")
        return cls(root)

    def _materialize(self) -> None:
        if not self._deferred:
            return
        root = self.root
        if (root / STORE_MARKER).exists() or (root / "runs").is_dir():
            self.check_format()  # an earlier auditor's store is migrated by `auditor store migrate`, never here
        try:
            for folder in (root, root / "runs", root / "staging"):
                folder.mkdir(parents=True, exist_ok=True)
            self.log.create()  # before the marker: a store whose marker says it keeps a log has one
            marker = root / STORE_MARKER
            if not marker.exists() or marker_version(marker) != STORE_VERSION:
                write_atomic(marker, (json.dumps(STORE_FORMAT, sort_keys=True) + "\n").encode())
            ignore = root / ".gitignore"
            if not ignore.exists():  # a store inside a repository must not make it dirty
                write_atomic(ignore, b"# auditor's run store; remove this file to commit runs\n*\n")
            _create_salt(root / "salt")
        except OSError as exc:
            raise StoreError(f"{root}: cannot create the run store: {exc.strerror or exc}") from exc
        self._deferred = False

    def salt(self) -> bytes:
        self._materialize()
        return (self.root / "salt").read_bytes()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The store's lock, between processes (flock on STORE/lock) and reentrant within this one:
        held while a run is committed, and by an ingest while it looks for earlier ingests and
        commits, so two ingests of one source cannot both find it new."""
        with self._guard:
            if self._depth == 0:
                self._materialize()
                path = self.root / LOCK_FILE
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
                except OSError as exc:
                    raise StoreError(f"{path}: cannot lock the run store: {exc.strerror}") from exc
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    os.close(self._lock_fd)  # releases the flock
                    self._lock_fd = None

    def begin(self, run_id: str) -> Staging:
        """Start a run; refused before anything runs when the store is an earlier auditor's or its
        log no longer matches its head (a run appended to a changed log would vouch for it)."""
        self._materialize()
        self.check_format()
        self.log.preflight()
        path = self.root / "staging" / run_id
        try:
            path.mkdir()
        except OSError as exc:
            raise StoreError(f"{path}: cannot start a run: {exc.strerror or exc}") from exc
        return Staging(run_id, path)

    def commit(self, staging: Staging, record: RunRecord) -> Path:
        """Write the record, append its entry to the log, and make the run visible with one rename
        (`commit_many` of one run).

        The log entry and the new head come first, durable: a reader never sees a folder in runs/
        that auditor committed and the log does not hold (an entry whose folder never arrived
        names nothing). `committed` is then the head that holds the run. Raises
        StoreWriteError when the store cannot take the run (no space, an I/O error, read-only):
        nothing is then in runs/, and the staging folder is the caller's to discard; or, when
        only the final sync failed, the run is in runs/ and the message says it may not survive
        a crash."""
        return self.commit_many([(staging, record)])[0]

    def begin_batch(self) -> None:
        """`begin`'s checks, once for a batch of runs (`stage` each, then `commit_many`)."""
        self._materialize()
        self.check_format()
        self.log.preflight()

    def stage(self, run_id: str) -> Staging:
        """Start a run of a batch (`commit_many`): `begin` without its checks of the log, which the
        batch makes once."""
        path = self.root / "staging" / run_id
        try:
            path.mkdir()
        except OSError as exc:
            raise StoreError(f"{path}: cannot start a run: {exc.strerror or exc}") from exc
        return Staging(run_id, path)

    def commit_many(self, runs: Sequence[tuple[Staging, RunRecord]]) -> list[Path]:
        """Commit a batch of runs (at most BATCH_MAX) with the syncs made once per batch, not once
        per run: each record is written into its staging folder and made durable with that
        folder's other files and the folder itself (many runs at once, `_write_runs`), then the
        batch's log entries and heads are appended (one fdatasync per log file), then each run is
        renamed into runs/ and runs/ is synced once. An interrupted batch leaves every run either
        in runs/ with its entry in the log, or absent (an entry whose run never arrived names
        nothing; a folder left in staging/ is invisible). Errors as `commit`; the staging
        folders are the caller's to discard."""
        if not runs:
            return []
        for staging, record in runs:
            if record.identity.run_id != staging.run_id:
                raise StoreError(f"{staging.path}: the record is run {record.identity.run_id}, not this run")
        which = f"run {runs[0][0].run_id}" if len(runs) == 1 else f"runs {runs[0][0].run_id}..."
        try:
            data = [dump_record(record) for _, record in runs]
            digests = [hashlib.sha256(d).hexdigest() for d in data]
            lines = [record_entry(staging.run_id, digest) for (staging, _), digest in zip(runs, digests, strict=True)]
            _write_runs([staging.path for staging, _ in runs], data)
            with self.locked():
                _, heads = self.log.append_many(lines)
                for staging, _ in runs:
                    staging.path.rename(self.runs_dir / staging.run_id)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise StoreWriteError(f"{self.root}: {which} could not be recorded ({why})") from exc
        finals = [self.runs_dir / staging.run_id for staging, _ in runs]
        try:
            fsync_dir(self.runs_dir)
        except OSError as exc:
            where, what = (finals[0], "the run is") if len(runs) == 1 else (self.runs_dir, "the runs are")
            raise StoreWriteError(
                f"{where}: {what} recorded, but the store could not be synced ({exc.strerror or exc}): "
                f"{'it' if len(runs) == 1 else 'they'} may be lost if this machine crashes"
            ) from exc
        self.committed = heads[-1]
        self.written = {runs[-1][0].run_id: (runs[-1][1], digests[-1])}
        return finals

    def append_entry(self, entry: Mapping[str, Any]) -> tuple[int, LogHead]:
        """Append one entry (a sign-off's, say: `{"v": 1, "kind": "signoff", ...}`) under the
        store's lock; its index in the log and the new head."""
        line = entry_line(entry)
        with self.locked():
            self.check_format()
            try:
                index, head = self.log.append(line)
            except OSError as exc:
                raise StoreWriteError(
                    f"{self.log.folder}: the entry could not be appended ({exc.strerror or exc})"
                ) from exc
        self.committed = head
        return index, head

    # --- the log, read --------------------------------------------------------------------------------

    def head(self) -> LogHead:
        """The log's last head, checked against its tree (O(log n))."""
        self.check_format()
        if not self.log.exists():
            return EMPTY_HEAD
        try:
            return self.log.head()
        except OSError as exc:
            raise StoreError(f"{self.log.folder}: cannot read the store's log: {exc.strerror or exc}") from exc

    def entries(self, kind: str | None = None) -> Iterator[LogEntry]:
        """The log's entries below its last head, oldest first (only those of `kind` if given)."""
        view = self._view()
        if view is not None:
            yield from view.entries(kind)

    def proven_entries(self, kind: str, run_id: str | None = None) -> Iterator[tuple[LogEntry, InclusionProof | None]]:
        """Each entry of `kind` (of run `run_id` only, if given) with its inclusion proof under the
        last head, or None when the line is not the leaf the tree holds (an entry edited in place):
        only a proven entry vouches. For one run, only the lines that can name it are parsed
        (`LogView.naming`: parsing every line of a long log costs far more than searching it)."""
        view = self._view()
        if view is None:
            return
        for entry in view.entries(kind) if run_id is None else view.entries_naming(run_id, kind):
            if run_id is not None and entry.fields.get("run_id") != run_id:
                continue  # a proof costs log(n) reads: only for the entries asked about
            proof = view.inclusion(entry.index)
            yield entry, (proof if proof.entry == entry.line and proof.verify() else None)

    def inclusion(self, run_id: str) -> InclusionProof:
        """The proof that run_id's record entry is in the log under its last head (the record is
        verified first: there is no proof for a record the log does not vouch for)."""
        _, view, entry = self._verified(run_id)
        return view.inclusion(entry.index)

    def proofs(self, run_id: str) -> RunProofs:
        """Everything a bundle carries about run_id from one reading of the log (so all of it is
        under one head): the record's verified bytes and inclusion proof, the consistency proof from
        the head first printed with the run to the last head, and an inclusion proof for each
        `signoff` entry of the run, by sign-off id (the first entry of an id, as readers take it)."""
        raw, view, entry = self._verified(run_id)
        signoffs: dict[str, InclusionProof] = {}
        for logged in view.entries("signoff"):
            signoff_id = logged.fields.get("signoff_id")
            if logged.fields.get("run_id") == run_id and isinstance(signoff_id, str) and signoff_id not in signoffs:
                signoffs[signoff_id] = view.inclusion(logged.index)
        since = view.consistency(view.covering_head(entry.index))
        return RunProofs(raw, view.inclusion(entry.index), since, signoffs)

    def consistency(self, old: LogHead) -> ConsistencyProof:
        """The proof that the log only grew since `old` (a head printed or published earlier);
        EvidenceError when it did not."""
        view = self._view()
        if view is None:
            raise EvidenceError(f"{self.log.folder}: missing: the store keeps no log, so it holds no head {old.text()}")
        return view.consistency(old)

    def check_format(self) -> None:
        """Refuse a store an earlier auditor wrote (exit 2: `auditor store migrate` moves it to the
        log) or a newer one, and a store whose log was removed (exit 4)."""
        root = self.root
        version = marker_version(root / STORE_MARKER)
        if version is not None and version > STORE_VERSION:
            raise StoreError(f"{root}: a run store of a newer auditor (format version {version}): upgrade auditor")
        if (root / LOG_DIR).is_dir():
            return
        if (root / LEGACY_INDEX).exists():
            raise StoreError(
                f"{root}: a run store of an earlier auditor (an index of digests, no log): run "
                "`auditor store migrate` to move it to the tamper-evident log"
            )
        if version == STORE_VERSION:
            raise EvidenceError(
                f"{root / LOG_DIR}: missing: the store's log was removed (store.json says it keeps one)"
            )
        if self.runs_dir.is_dir() and self.folder_names():
            raise StoreError(
                f"{root}: a run store of an older auditor (no index, no log): its folders cannot be told from "
                "planted ones; run `auditor store migrate --adopt-unindexed` once you trust its runs"
            )

    def _view(self) -> LogView | None:
        """The log as of its last head, re-read only when its files changed; None for a store
        that has no log yet (and no runs: check_format refuses one with runs)."""
        self.check_format()
        folder = self.log.folder
        if not folder.is_dir():
            return None
        try:
            key = tuple(
                v
                for name in (HEADS, ENTRIES)
                for st in (os.lstat(folder / name),)
                for v in (st.st_ino, st.st_size, st.st_mtime_ns)
            )
        except FileNotFoundError as exc:
            raise EvidenceError(f"{exc.filename}: missing: the store's log was changed") from exc
        except OSError as exc:
            raise StoreError(f"{folder}: cannot read the store's log: {exc.strerror}") from exc
        if self._view_cache is not None and self._view_cache[0] == key:
            return self._view_cache[1]
        began = time.time_ns()
        settled = _settled_key(folder, began)
        shared = _SHARED_VIEW.get(str(folder))
        if settled is not None and shared is not None and shared[0] == settled:
            self._view_cache = (key, shared[1])
            return shared[1]
        try:
            view = self.log.view()
        except OSError as exc:
            raise StoreError(f"{folder}: cannot read the store's log: {exc.strerror or exc}") from exc
        self._view_cache = (key, view)
        _SHARED_VIEW.clear()  # one log's view at most, whatever the process reads
        if settled is not None:
            _SHARED_VIEW[str(folder)] = (settled, view)
        return view

    def discard(self, staging: Staging) -> None:
        shutil.rmtree(staging.path, ignore_errors=True)

    # --- reading: only what verify() accepts is a run ------------------------------------------------

    def run_ids(self) -> list[str]:
        """The runs auditor committed here, oldest first: folders in runs/ the log holds a record of
        (each is verified when it is read). A folder it does not name is never one of them."""
        view = self._view()
        records = view.records() if view is not None else {}
        names = self.folder_names()
        return [n for n in names if len({e.fields["sha256"] for e in records.get(n, ())}) == 1]

    def record_path(self, run_id: str) -> Path:
        return self.runs_dir / run_id / RECORD_FILE

    def run_folder(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def verify(self, run_id: str) -> bytes:
        """The bytes of run_id's record, only if runs/<run_id> is the run auditor committed: a real
        folder (not a link) holding a regular record.json (else InvalidRecordError, exit 2) whose
        SHA-256 is the one the log's record entry for run_id holds, that entry being in the tree of
        the log's last head, and that head extending the first head that held the entry (the one
        printed after the run). Anything else is an EvidenceError naming the file (exit 4)."""
        return self._verified(run_id)[0]

    def _verified(self, run_id: str) -> tuple[bytes, LogView, LogEntry]:
        folder = self.runs_dir / run_id
        view = self._view()
        raw = self.read_folder(run_id)
        found = view.record_entries(run_id) if view is not None else []
        if view is None or not found:
            check_named(raw, run_id, folder / RECORD_FILE)  # the more telling reason first: another run's record
            raise EvidenceError(
                f"{folder}: not a run auditor recorded in this store: the store's log holds no record of it"
            )
        entries_path = self.log.path(ENTRIES)
        if len({e.fields["sha256"] for e in found}) > 1:
            at = ", ".join(str(e.index) for e in found)
            raise EvidenceError(
                f"{entries_path}: run {run_id} is recorded more than once, with different records "
                f"(entries {at}): the log was changed"
            )
        entry = found[0]
        expected, actual = str(entry.fields["sha256"]), hashlib.sha256(raw).hexdigest()
        if actual != expected:
            raise EvidenceError(
                f"{folder / RECORD_FILE}: changed since auditor recorded it: its sha256 is {actual}, the store's "
                f"log holds {expected} (entry {entry.index})"
            )
        if not view.inclusion(entry.index).verify():
            raise EvidenceError(
                f"{entries_path}: entry {entry.index} (run {run_id}) is not in the tree of the log head "
                f"{view.head.text()}: the log was changed"
            )
        view.consistency(view.covering_head(entry.index))
        return raw, view, entry

    def load(self, run_id: str) -> RunRecord:
        return self.load_with_bytes(run_id)[0]

    def load_with_bytes(self, run_id: str) -> tuple[RunRecord, bytes]:
        """The verified record and the bytes it was read from (what a check report's digest quotes)."""
        raw, _, entry = self._verified(run_id)
        path = self.record_path(run_id)
        record = parse_record(raw, str(path), sha256=str(entry.fields["sha256"]))  # the bytes' sha256, verified
        if record.identity.run_id != run_id:
            raise InvalidRecordError(
                str(path), "identity.run_id", f"refused: {record.identity.run_id!r} is not its run folder's name"
            )
        return record, raw

    def iter_records(self) -> Iterator[RunRecord | Refused]:
        """Every folder in runs/, oldest first: its run, or the error that refuses it."""
        self._view()  # an earlier auditor's store, or a log that does not match its head: one error
        for name in self.folder_names():
            try:
                yield self.load(name)
            except (InvalidRecordError, EvidenceError) as exc:
                yield exc

    def reproductions_of(self, run_id: str) -> list[RunRecord]:
        """Runs that re-executed `run_id`, oldest first (records are immutable, so the link is on them)."""
        return [r for r in self.iter_records() if isinstance(r, RunRecord) and r.links.reproduces == run_id]

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one (case-insensitive), or `latest`. Only runs
        auditor committed here count: a folder it did not write is never chosen, and when only
        such a folder fits, the error says why it is not a run.

        A whole run id naming a real folder is that folder's run without listing the log (no other
        id can start with it): `load` then verifies it as fully as the listing would have, so a
        question about one run costs the same in a store of 10 runs or 100,000."""
        wanted = ref.upper()
        if len(ref) == RUN_ID_LENGTH and wanted.isalnum() and ref != "latest":
            self.check_format()
            try:
                if stat.S_ISDIR(os.lstat(self.runs_dir / wanted).st_mode):
                    return wanted
            except OSError:
                pass
        if ref == "latest":
            found = self._latest()
            if found is not None:
                return found
        ids = self.run_ids()
        if ref == "latest":
            if ids:
                return ids[-1]
            others = self.folder_names()[-1:]
        else:
            matches = [i for i in ids if i.upper().startswith(wanted)]
            if len(matches) == 1:
                return matches[0]
            if matches:
                listed = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
                raise RunNotFoundError(f"{ref!r} is ambiguous: {len(matches)} runs match ({listed})")
            others = [n for n in self.folder_names() if n.upper().startswith(wanted) and n not in ids]
        if others:
            self.verify(others[-1])  # raises: the one line that says why that folder is not a run
        if not ids:
            raise RunNotFoundError(f"{self.root}: the store has no runs yet")
        recent = ", ".join(ids[-5:][::-1])
        raise RunNotFoundError(f"no run matches {ref!r} in {self.root} (most recent: {recent})")

    def _latest(self) -> str | None:
        """The last of `run_ids()` without parsing the whole log: folders newest first, each asked
        of the log by a byte search, until one the log holds exactly one record of (the same test
        `run_ids` applies to every folder). None when none is found among the newest few: then
        the full listing answers (and names why the newest folder is not a run)."""
        view = self._view()
        if view is None:
            return None
        for name in self.newest_folder_names(LATEST_CANDIDATES):
            if len({e.fields["sha256"] for e in view.record_entries(name)}) == 1:
                return name
        return None

    def folder_names(self) -> list[str]:
        """Every name in runs/, sorted: readers report the ones that are not runs, never skip them."""
        return sorted(self._listing())

    def newest_folder_names(self, count: int) -> list[str]:
        """The last `count` of `folder_names()`, newest first, without sorting every name."""
        return heapq.nlargest(count, self._listing())

    def _listing(self) -> list[str]:
        try:
            return os.listdir(self.runs_dir)  # noqa: PTH208 (names only: a Path per name took 4x as long at 100,000 runs)
        except OSError as exc:
            raise StoreError(f"{self.runs_dir}: cannot list runs: {exc.strerror}") from exc

    def read_folder(self, name: str) -> bytes:
        """record.json of runs/<name>, through no link: the folder and the file must be real."""
        folder = self.runs_dir / name
        if not name or "/" in name or name in (".", "..") or name != name.strip() or " " in name:
            raise _refused(folder, "not a run id")
        try:
            mode = os.lstat(folder).st_mode
        except OSError as exc:
            raise _refused(folder, f"cannot read: {exc.strerror}") from exc
        if stat.S_ISLNK(mode):
            raise _refused(folder, "a symbolic link, not a run folder")
        if not stat.S_ISDIR(mode):
            raise _refused(folder, "not a folder")
        try:
            with open_folder(self.runs_dir) as runs_fd, open_folder(name, dir_fd=runs_fd) as fd:
                return read_regular_file(RECORD_FILE, RECORD_MAX_BYTES, dir_fd=fd)
        except UntrustedFileError as exc:
            raise _refused(folder / RECORD_FILE, exc.why) from exc
        except FileNotFoundError as exc:
            raise _refused(folder, f"it holds no {RECORD_FILE}") from exc
        except OSError as exc:
            raise _refused(folder / RECORD_FILE, f"cannot read: {exc.strerror}") from exc


# A log's view read by one RunStore serves the others of this process (`report` opens the store
# for the record, its re-runs, sign-offs and notes: four readings of the whole log) while every
# file of the log has the stat it had before the reading, and only when those files had settled
# by then: their times older than the reading by SETTLED_NS, coarser than any file system's
# timestamp granularity, so a change made after the reading, even within the same clock tick,
# gives the file another stat (the run index relies on the same rule).
SETTLED_NS = 3 * 10**9
_SHARED_VIEW: dict[str, tuple[tuple[tuple[str, int, int, int, int, int, int], ...], LogView]] = {}


def _settled_key(folder: Path, began: int) -> tuple[tuple[str, int, int, int, int, int, int], ...] | None:
    """The stat of every file in the log's folder (and the folder's), or None when one of them
    changed less than SETTLED_NS before `began` or cannot be read."""
    try:
        stats = [(".", os.lstat(folder))]
        with os.scandir(folder) as listing:
            stats.extend((item.name, item.stat(follow_symlinks=False)) for item in listing)
    except OSError:
        return None
    if any(max(st.st_mtime_ns, st.st_ctime_ns) >= began - SETTLED_NS for _, st in stats):
        return None
    return tuple(
        sorted(
            (name, st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for name, st in stats
        )
    )


def _refused(path: Path, why: str) -> InvalidRecordError:
    return InvalidRecordError(str(path), None, f"refused: {why}")


def record_entry(run_id: str, digest: str) -> bytes:
    """The log line that vouches for a committed record.json: its run id and its bytes' SHA-256."""
    return entry_line({"v": 1, "kind": "record", "run_id": run_id, "sha256": digest})


def marker_version(path: Path) -> int | None:
    """store.json's version (None: no marker; 0: one that does not say)."""
    try:
        data = json.loads(read_regular_file(path, MARKER_MAX_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError):
        return 0
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else 0


def check_named(raw: bytes, name: str, path: Path) -> None:
    """The record's own run id is its folder's name (read as plain JSON: a record this auditor
    cannot read, from a newer one, is still told apart from a planted copy)."""
    try:
        run_id = json.loads(raw.decode("utf-8", errors="replace"))["identity"]["run_id"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise _refused(path, "not a run record (no identity.run_id)") from exc
    if run_id != name:
        raise InvalidRecordError(str(path), "identity.run_id", f"refused: {run_id!r} is not its run folder's name")


SYNC_THREADS = 16  # runs written at once: the filesystem's journal commits their syncs together
# (128 runs: 1.7 s one by one, 0.09 s), and their file creations overlap


def _write_runs(folders: Sequence[Path], data: Sequence[bytes]) -> None:
    """Write each record into its staging folder, durably (`_write_run`), many runs at once: each
    call still waits for its own syncs, so durability is the same as one by one."""
    if len(folders) == 1:
        _write_run(folders[0], data[0])
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(SYNC_THREADS, len(folders))) as pool:
        list(pool.map(_write_run, folders, data))  # list(): an OSError of any one is raised here


def _write_run(folder: Path, data: bytes) -> None:
    """record.json written into a staged run's folder, then fsynced with the folder's other
    regular files (a captured run's logs) and the folder itself, all through one descriptor of
    the folder. A record.json already there (the observed command can write here) is replaced,
    as a rename over it would."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _fsync_files(dir_fd)
        try:
            fd = os.open(RECORD_FILE, _NEW_FILE, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            os.unlink(RECORD_FILE, dir_fd=dir_fd)
            fd = os.open(RECORD_FILE, _NEW_FILE, 0o666, dir_fd=dir_fd)
        try:
            write_synced(fd, data)
        finally:
            os.close(fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _fsync_files(dir_fd: int) -> None:
    """fsync each regular file of a staged run's folder; never open anything else (the command
    could have left a FIFO there, and opening it would wait for a writer)."""
    with os.scandir(dir_fd) as listing:
        names = [entry.name for entry in listing]
    for name in names:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fsync(fd)
        finally:
            os.close(fd)


def _create_salt(path: Path) -> None:
    """Create the salt once; a concurrent creator never sees a half-written salt."""
    if path.exists():
        return
    tmp = path.with_name(f".salt.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # atomic, and fails if another run got there first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
