"""The run store: a folder of complete, immutable run records.

Layout (documented in the README):

    STORE/store.json             format marker and version
    STORE/salt                   fingerprint salt for redaction (mode 0600, never in a record)
    STORE/runs/<run_id>/         one complete run: record.json, stdout.log, stderr.log
    STORE/staging/<run_id>/      a run being captured; invisible to readers

A run is written entirely in staging and then moved into runs/ with one rename,
so a reader sees a run complete or not at all, even if auditor is killed. Run
ids are ULIDs (time-ordered, 80 random bits), so concurrent runs never collide.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InvalidRecordError, RunNotFoundError, StoreError, StoreWriteError
from auditor.files import fsync_dir, write_atomic
from auditor.record import RunRecord, dump_record, load_record

STORE_ENV = "AUDITOR_STORE"
DEFAULT_STORE = ".auditor"
STORE_FORMAT = {"format": "auditor-store", "version": 1}
RECORD_FILE = "record.json"


def default_store_path(cwd: Path, env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env[STORE_ENV]) if env.get(STORE_ENV) else cwd / DEFAULT_STORE


@dataclass(frozen=True)
class Staging:
    run_id: str
    path: Path


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @classmethod
    def create(cls, root: Path) -> RunStore:
        """Open a store for writing, creating it (idempotently, race-free) if needed."""
        try:
            for folder in (root, root / "runs", root / "staging"):
                folder.mkdir(parents=True, exist_ok=True)
            marker = root / "store.json"
            if not marker.exists():
                write_atomic(marker, (json.dumps(STORE_FORMAT, sort_keys=True) + "\n").encode())
            ignore = root / ".gitignore"
            if not ignore.exists():  # a store inside a repository must not make it dirty
                write_atomic(ignore, b"# auditor's run store; remove this file to commit runs\n*\n")
            _create_salt(root / "salt")
        except OSError as exc:
            raise StoreError(f"{root}: cannot create the run store: {exc.strerror or exc}") from exc
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> RunStore:
        """Open an existing store for reading."""
        if not (root / "runs").is_dir():
            raise StoreError(f"{root}: no run store here (run `auditor run` first, or pass --store)")
        return cls(root)

    def salt(self) -> bytes:
        return (self.root / "salt").read_bytes()

    def begin(self, run_id: str) -> Staging:
        path = self.root / "staging" / run_id
        try:
            path.mkdir()
        except OSError as exc:
            raise StoreError(f"{path}: cannot start a run: {exc.strerror or exc}") from exc
        return Staging(run_id, path)

    def commit(self, staging: Staging, record: RunRecord) -> Path:
        """Write the record and move the run into runs/ with one rename. Raises StoreWriteError
        when the store cannot take it (no space, an I/O error, read-only): nothing is then in
        runs/ (record.json is itself written atomically), and the staging folder is the caller's
        to discard; or, when only the final sync failed, the run is in runs/ and the message says
        it may not survive a crash."""
        final = self.runs_dir / staging.run_id
        try:
            write_atomic(staging.path / RECORD_FILE, dump_record(record))
            for item in staging.path.iterdir():
                with item.open("rb") as handle:
                    os.fsync(handle.fileno())
            staging.path.rename(final)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise StoreWriteError(f"{self.root}: run {staging.run_id} could not be recorded ({why})") from exc
        try:
            fsync_dir(self.runs_dir)
        except OSError as exc:
            raise StoreWriteError(
                f"{final}: the run is recorded, but the store could not be synced ({exc.strerror or exc}): "
                "it may be lost if this machine crashes"
            ) from exc
        return final

    def discard(self, staging: Staging) -> None:
        shutil.rmtree(staging.path, ignore_errors=True)

    def run_ids(self) -> list[str]:
        try:
            names = [p.name for p in self.runs_dir.iterdir()]
        except OSError as exc:
            raise StoreError(f"{self.runs_dir}: cannot list runs: {exc.strerror}") from exc
        return sorted(n for n in names if (self.runs_dir / n / RECORD_FILE).is_file())

    def record_path(self, run_id: str) -> Path:
        return self.runs_dir / run_id / RECORD_FILE

    def load(self, run_id: str) -> RunRecord:
        return load_record(self.record_path(run_id))

    def iter_records(self) -> Iterator[RunRecord | InvalidRecordError]:
        """Every run, oldest first; an unreadable record is yielded as its error."""
        for run_id in self.run_ids():
            try:
                yield self.load(run_id)
            except InvalidRecordError as exc:
                yield exc

    def reproductions_of(self, run_id: str) -> list[RunRecord]:
        """Runs that re-executed `run_id`, oldest first (records are immutable, so the link is on them)."""
        return [r for r in self.iter_records() if isinstance(r, RunRecord) and r.links.reproduces == run_id]

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one (case-insensitive), or `latest`."""
        ids = self.run_ids()
        if not ids:
            raise RunNotFoundError(f"{self.root}: the store has no runs yet")
        if ref == "latest":
            return ids[-1]
        wanted = ref.upper()
        matches = [i for i in ids if i.upper().startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            recent = ", ".join(ids[-5:][::-1])
            raise RunNotFoundError(f"no run matches {ref!r} in {self.root} (most recent: {recent})")
        listed = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
        raise RunNotFoundError(f"{ref!r} is ambiguous: {len(matches)} runs match ({listed})")


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
