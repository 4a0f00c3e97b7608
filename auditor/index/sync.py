"""Keeping the run index equal to the records: incremental catch-up from the log, rebuilds, and the
cheap check that an indexed record is still the one that was verified.

Readers call `sync` before answering: the log entries after the covered size are indexed, each
new record verified through `RunStore.load_with_bytes` and summarised. The index is rebuilt when
its covered head is no longer a prefix of the log (the tree's root at the covered size differs),
when its format or SUMMARY_VERSION is not this auditor's, or when it covers more than the log
holds. A record is indexed with the stat of its folder and record.json (inode, size, mtime_ns,
ctime_ns): a reader about to answer with a run compares them and verifies again any that differ
(an edit, a replaced folder), so a changed record is refused as `runs` always refused it.
A run this process committed (`reproduce`, an ingest of one run, `run` with a shared index) is
verified the same way but summarised from the record `commit` wrote its bytes from, not parsed from
them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import EvidenceError, InvalidRecordError, StoreError
from auditor.index import schema as t
from auditor.index.db import IndexUnavailable, engine, index_url, shrink_wal, unavailable, writing
from auditor.index.summary import SUMMARY_VERSION, RunSummary, summarize
from auditor.store.log import ENTRIES, OFFSETS
from auditor.store.runs import RECORD_FILE, Refused, RunStore

STAT_COLUMNS = ("folder_ino", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
# a file's times must be older than a reading by this much before its stat stands for its content:
# coarser than any file system's timestamp granularity (FAT: 2 s), so a change made after the
# reading, even within the same clock tick, gives the file another stat
SETTLED_NS = 3 * 10**9


@dataclass(frozen=True)
class RunRows:
    run: dict[str, Any]
    packages: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    ingests: list[dict[str, Any]]  # one row for an ingested run, none for an executed one


@dataclass
class Index:
    store: RunStore
    engine: Engine
    url: str
    store_id: str

    def where(self, table: Any) -> Any:
        return table.c.store_id == self.store_id


def open_index(store: RunStore, env: dict[str, str] | None = None) -> Index | None:
    """The index of `store`, or None when its log is empty (nothing to index yet).
    IndexUnavailable when the index cannot be opened."""
    head = store.head()
    if head.size == 0:
        return None
    store_id = hashlib.sha256(store.log.entry(0)).hexdigest()
    url = index_url(store.root, dict(os.environ) if env is None else env)
    return Index(store, engine(url), url, store_id)


def stat_of(store: RunStore, run_id: str) -> dict[str, int] | None:
    folder = f"{store.runs_dir}/{run_id}"  # strings, not Paths: this runs once per listed run
    try:
        fst = os.lstat(folder)
        st = os.lstat(f"{folder}/{RECORD_FILE}")
    except OSError:
        return None
    return {
        "folder_ino": fst.st_ino,
        "st_ino": st.st_ino,
        "st_size": st.st_size,
        "st_mtime_ns": st.st_mtime_ns,
        "st_ctime_ns": st.st_ctime_ns,
    }


def rows_of(ix: Index, run_id: str, seq: int, *, fresh: bool = False) -> RunRows | Refused | None:
    """The rows of one verified run; the error that refuses it; None when its folder is not there.

    `fresh`: the run may be one this process just committed (`RunStore.written`). Its bytes are
    verified as any run's are (the log's entry, its SHA-256, the tree), but not parsed and
    validated again: when they are the bytes `commit` wrote from the record it holds, that
    record is summarised (parsing an 8 MB record of 20k files took a quarter of a re-capture)."""
    stat = stat_of(ix.store, run_id)  # before reading: a change after it shows in the next stat
    if stat is None:
        return None
    written = ix.store.written.get(run_id) if fresh else None
    try:
        if written is not None:
            raw = ix.store.verify(run_id)
            sha256 = hashlib.sha256(raw).hexdigest()
            if sha256 == written[1]:
                return rows_for(ix.store_id, summarize(written[0], sha256), seq, stat)
        record, raw = ix.store.load_with_bytes(run_id)
    except (InvalidRecordError, EvidenceError) as exc:
        return exc
    return rows_for(ix.store_id, summarize(record, hashlib.sha256(raw).hexdigest()), seq, stat)


@overload
def db_text(value: str) -> str: ...
@overload
def db_text(value: None) -> None: ...
def db_text(value: str | None) -> str | None:
    """Text a database column can hold: a record may carry lone surrogates (a hostile or broken
    name), which UTF-8 cannot encode, and NUL, which PostgreSQL refuses; each becomes U+FFFD. The
    summary's JSON keeps the original (escaped by json.dumps)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value.replace("\0", "\ufffd")


def rows_for(store_id: str, s: RunSummary, seq: int, stat: dict[str, int]) -> RunRows:
    run = {
        "store_id": store_id,
        "run_id": s.run_id,
        "seq": seq,
        "record_sha256": s.record_sha256,
        "project": db_text(s.project),
        "owner": db_text(s.owner),
        "status": s.status,
        "started_ts": s.started_at.timestamp(),
        "reproduces": s.reproduces,
        "summary": s.to_json(),
        **stat,
    }
    packages = [
        {"store_id": store_id, "run_id": s.run_id, "name": db_text(n), "version": db_text(v)}
        for n, v in set(s.packages)
    ]
    keys = {db_text(k) for d in s.datasets for k in (d.before, d.after) if k}
    datasets = [{"store_id": store_id, "run_id": s.run_id, "key": k} for k in sorted(keys)]
    ingests: list[dict[str, Any]] = []
    if s.origin == "ingested":
        origin = {"tool": s.tool, "source_uri": s.source_uri, "source_run_id": s.source_run_id}
        row = {k: db_text(v) for k, v in {**origin, "reingests": s.reingests}.items()}
        ingests.append({"store_id": store_id, "run_id": s.run_id, **row})
    return RunRows(run, packages, datasets, ingests)


def _record_entries(lines: Iterable[tuple[int, bytes]]) -> list[tuple[int, str]]:
    """(index, run id) of each record entry, in log order."""
    found: list[tuple[int, str]] = []
    for index, line in lines:
        try:
            fields = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(fields, dict) and fields.get("kind") == "record" and isinstance(fields.get("run_id"), str):
            found.append((index, fields["run_id"]))
    return found


def entries_digest(store: RunStore, size: int, end: int | None = None) -> tuple[int, str]:
    """(end, SHA-256) of the first `size` lines of log/entries: their end from log/offsets, or
    `end` as recorded earlier (then a shorter or edited file gives another digest). ~20 ms for
    100,000 entries."""
    end, digest, _ = _digest_and_stat(store, size, end)
    return end, digest


def _digest_and_stat(store: RunStore, size: int, end: int | None) -> tuple[int, str, dict[str, int] | None]:
    """entries_digest, and the stat of the file it read, taken before reading it."""
    folder = store.log.folder
    seen: dict[str, int] | None = None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if end is None:
            end = 0
            if size:
                fd = os.open(folder / OFFSETS, flags)
                try:
                    raw = os.pread(fd, 8, (size - 1) * 8)
                finally:
                    os.close(fd)
                end = int.from_bytes(raw, "big") if len(raw) == 8 else -1
        digest = hashlib.sha256()
        fd = os.open(folder / ENTRIES, flags)
        try:
            seen = _stat_key(os.fstat(fd))
            left, at = max(end, 0), 0
            while left:
                chunk = os.pread(fd, min(left, 1 << 22), at)
                if not chunk:
                    break
                digest.update(chunk)
                left, at = left - len(chunk), at + len(chunk)
            if left:
                digest.update(b"short")  # the file ends before `end`: never the recorded digest
        finally:
            os.close(fd)
    except OSError:
        return -1, "", None
    return end, digest.hexdigest(), seen


def _stat_key(st: os.stat_result) -> dict[str, int]:
    return {"st_ino": st.st_ino, "st_size": st.st_size, "st_mtime_ns": st.st_mtime_ns, "st_ctime_ns": st.st_ctime_ns}


def prefix_intact(ix: Index, meta: Row[Any]) -> bool:
    """Whether log/entries' first meta.log_size lines are still the ones indexed: its stat is the
    one kept when they last gave the meta's digest (see schema.entries_seen), or they give it now.
    A match with a settled file keeps its stat for the next reader."""
    expected = {"entries_end": meta.entries_end, "entries_sha256": meta.entries_sha256}
    try:
        now = _stat_key(os.lstat(ix.store.log.folder / ENTRIES))
    except OSError:
        now = None
    with ix.engine.connect() as conn:
        kept = conn.execute(select(t.entries_seen).where(ix.where(t.entries_seen))).first()
    if now is not None and kept is not None and dict(kept._mapping) == {"store_id": ix.store_id, **expected, **now}:
        return True
    began = time.time_ns()
    end, digest, seen = _digest_and_stat(ix.store, meta.log_size, meta.entries_end)
    if (end, digest) != (meta.entries_end, meta.entries_sha256):
        return False
    if seen is not None and max(seen["st_mtime_ns"], seen["st_ctime_ns"]) < began - SETTLED_NS:
        try:
            with writing(ix.engine, ix.store_id) as conn:  # true whatever meta says by now
                conn.execute(delete(t.entries_seen).where(ix.where(t.entries_seen)))
                conn.execute(insert(t.entries_seen).values(store_id=ix.store_id, **expected, **seen))
        except SQLAlchemyError:
            pass  # a cache: the next reader hashes the file again
    return True


SHRINK_AFTER_ROWS = 1000  # a catch-up this large leaves a WAL worth cutting back before the command ends


def sync(ix: Index) -> None:
    """Bring the index up to the store's log (see the module's docstring)."""
    try:
        for _ in range(5):  # another process may sync at the same time: start again from what it did
            if _sync_once(ix):
                return
    except SQLAlchemyError as exc:
        raise unavailable(exc, ix.url) from exc


def _meta(ix: Index, conn: Any) -> Row[Any] | None:
    return conn.execute(select(t.meta).where(ix.where(t.meta))).first()  # type: ignore[no-any-return]


def _sync_once(ix: Index) -> bool:
    store = ix.store
    head = store.head()
    with ix.engine.connect() as conn:
        meta = _meta(ix, conn)
    if (
        meta is None
        or meta.format_version != t.FORMAT_VERSION
        or meta.summary_version != SUMMARY_VERSION
        or meta.log_size > head.size
        or store.log.root_at(meta.log_size) != meta.log_root
        or not prefix_intact(ix, meta)
    ):
        rebuild(ix)
        return True
    covered = int(meta.log_size)
    new = _record_entries((i, store.log.entry(i)) for i in range(covered, head.size))
    with ix.engine.connect() as conn:
        waiting = [(r.seq, r.run_id) for r in conn.execute(select(t.pending).where(ix.where(t.pending)))]
    arrived = [(seq, run_id) for seq, run_id in waiting if stat_of(store, run_id) is not None]
    if not new and not arrived and covered == head.size:
        return True
    computed = _compute(ix, [*arrived, *new])
    with writing(ix.engine, ix.store_id) as conn:
        now = _meta(ix, conn)
        if now is None or now.log_size != covered or now.log_root != meta.log_root:
            return False
        for _, run_id in arrived:
            conn.execute(delete(t.pending).where(ix.where(t.pending), t.pending.c.run_id == run_id))
        _store_rows(ix, conn, computed, replace=True)
        end, digest = entries_digest(store, head.size)
        conn.execute(
            update(t.meta)
            .where(ix.where(t.meta))
            .values(
                log_size=head.size, log_root=head.root, root=str(store.root), entries_end=end, entries_sha256=digest
            )
        )
    if len(computed.rows) >= SHRINK_AFTER_ROWS:
        shrink_wal(ix.engine)
    return True


@dataclass
class Computed:
    rows: list[RunRows]
    pending: list[tuple[int, str]]
    dropped: list[str]  # runs whose log entries no longer give one record: never answered from the index


def _compute(ix: Index, entries: Sequence[tuple[int, str]]) -> Computed:
    computed = Computed([], [], [])
    seen: dict[str, int] = {}
    for seq, run_id in entries:
        if run_id in seen:
            computed.dropped.append(run_id)
            continue
        seen[run_id] = seq
        rows = rows_of(ix, run_id, seq, fresh=True)
        if rows is None:
            computed.pending.append((seq, run_id))
        elif isinstance(rows, RunRows):
            computed.rows.append(rows)
        else:
            computed.dropped.append(run_id)  # refused: `runs` verifies its folder again and says why
    return computed


def _store_rows(ix: Index, conn: Any, computed: Computed, *, replace: bool) -> None:
    ids = [r.run["run_id"] for r in computed.rows] + computed.dropped
    if replace and ids:
        for table in (t.runs, t.packages, t.datasets, t.ingests, t.pending):
            for chunk in chunks(ids, 500):
                conn.execute(delete(table).where(ix.where(table), table.c.run_id.in_(chunk)))
    for table, rows in (
        (t.runs, [r.run for r in computed.rows]),
        (t.packages, [p for r in computed.rows for p in r.packages]),
        (t.datasets, [d for r in computed.rows for d in r.datasets]),
        (t.ingests, [i for r in computed.rows for i in r.ingests]),
        (t.pending, [{"store_id": ix.store_id, "run_id": i, "seq": s} for s, i in computed.pending]),
    ):
        for chunk in chunks(rows, 5000):
            conn.execute(insert(table), chunk)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rebuild(ix: Index) -> int:
    """Index every record the log holds again (checks are kept); the number of runs indexed."""
    store = ix.store
    head = store.head()
    entries = _record_entries((e.index, e.line) for e in store.entries("record"))
    computed = _compute(ix, entries)
    end, digest = entries_digest(store, head.size)
    try:
        with writing(ix.engine, ix.store_id) as conn:
            for table in t.DERIVED:
                conn.execute(delete(table).where(ix.where(table)))
            _store_rows(ix, conn, computed, replace=False)
            conn.execute(delete(t.meta).where(ix.where(t.meta)))
            conn.execute(
                insert(t.meta).values(
                    store_id=ix.store_id,
                    format_version=t.FORMAT_VERSION,
                    summary_version=SUMMARY_VERSION,
                    log_size=head.size,
                    log_root=head.root,
                    root=str(store.root),
                    entries_end=end,
                    entries_sha256=digest,
                )
            )
        shrink_wal(ix.engine)
    except SQLAlchemyError as exc:
        raise unavailable(exc, ix.url) from exc
    return len(computed.rows)


def refresh(ix: Index, run_id: str, stat: dict[str, int] | None) -> RunRows | Refused | None:
    """Verify a run whose stat differs from its row's, and keep the new stat when it still verifies."""
    with ix.engine.connect() as conn:
        seq = conn.execute(select(t.runs.c.seq).where(ix.where(t.runs), t.runs.c.run_id == run_id)).scalar_one_or_none()
    rows = rows_of(ix, run_id, int(seq) if seq is not None else -1)
    if isinstance(rows, RunRows) and seq is not None:
        try:
            with writing(ix.engine, ix.store_id) as conn:
                conn.execute(
                    update(t.runs)
                    .where(ix.where(t.runs), t.runs.c.run_id == run_id)
                    .values({c: rows.run[c] for c in STAT_COLUMNS})
                )
        except SQLAlchemyError:
            pass  # a cache: the next reader verifies it again
    return rows


def strays(ix: Index) -> tuple[list[str], set[str] | None]:
    """The folders of runs/ the index does not hold, sorted, and the names in runs/ (None when
    runs/ is as it was at the last listing: then no indexed run's folder went away). runs/ is
    listed only when its stat (inode, mtime_ns, ctime_ns) changed since, and the stat is taken
    before the listing, so a folder added meanwhile makes the next reader list it again."""
    store = ix.store
    try:
        st = os.lstat(store.runs_dir)
    except OSError as exc:
        raise StoreError(f"{store.runs_dir}: cannot list runs: {exc.strerror}") from exc
    key = {"dir_ino": st.st_ino, "dir_mtime_ns": st.st_mtime_ns, "dir_ctime_ns": st.st_ctime_ns}
    with ix.engine.connect() as conn:
        meta = _meta(ix, conn)
        if meta is not None and all(meta._mapping[k] == v for k, v in key.items()):
            kept = list(conn.execute(select(t.strays.c.name).where(ix.where(t.strays))).scalars())
            indexed = (
                set(conn.execute(select(t.runs.c.run_id).where(ix.where(t.runs), t.runs.c.run_id.in_(kept))).scalars())
                if kept
                else set()
            )
            return sorted(n for n in kept if n not in indexed), None
        indexed = set(conn.execute(select(t.runs.c.run_id).where(ix.where(t.runs))).scalars())
    names = store.folder_names()
    found = [n for n in names if n not in indexed]
    try:
        with writing(ix.engine, ix.store_id) as conn:
            conn.execute(delete(t.strays).where(ix.where(t.strays)))
            for chunk in chunks([{"store_id": ix.store_id, "name": n} for n in found], 5000):
                conn.execute(insert(t.strays), chunk)
            conn.execute(update(t.meta).where(ix.where(t.meta)).values(key))
    except SQLAlchemyError:
        pass  # a cache: the next reader lists runs/ again
    return found, set(names)


__all__ = ["Index", "IndexUnavailable", "open_index", "rebuild", "sync"]
