"""Where the run index lives and how it is opened: SQLite in the store by default, or the database
`AUDITOR_INDEX_URL` names (postgresql://... for an index shared by several stores and machines).

The index is a cache: when it cannot be opened or written, readers answer from the records (slower,
the same answers) and say so in a note; a corrupt SQLite file is removed and rebuilt.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, SQLAlchemyError

from auditor.errors import EXIT_NOT_RECORDED, AuditorError
from auditor.extras import need
from auditor.index import BUSY_TIMEOUT_S, INDEX_ENV, INDEX_FILE, SQLITE_PRAGMAS
from auditor.index.schema import metadata

_engines: dict[str, Engine] = {}
_notes: list[str] = []


class IndexUnavailable(AuditorError):
    """The index could not be opened or written (the message says why): readers answer from the
    records; `auditor index` commands exit 74, as for a store that cannot be written."""

    exit_code = EXIT_NOT_RECORDED


def note(text: str) -> None:
    if text not in _notes:
        _notes.append(text)


def take_notes() -> list[str]:
    """What the index layer has to tell the user (printed by the CLI as notes), once."""
    taken = list(_notes)
    _notes.clear()
    return taken


def index_url(store_root: Path, env: dict[str, str]) -> str:
    url = env.get(INDEX_ENV, "").strip()
    if not url:
        return f"sqlite:///{store_root / INDEX_FILE}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse: shown as the variable
        return f"${INDEX_ENV}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def engine(url: str) -> Engine:
    """The engine for `url`, its tables created on first use; IndexUnavailable when it cannot be."""
    if url in _engines:
        return _engines[url]
    try:
        made = _make(url)
        _create_tables(made)
    except IndexUnavailable:
        raise
    except (SQLAlchemyError, OSError, ImportError, ValueError) as exc:
        corrupt = _corrupt_sqlite(url, exc)
        if corrupt is None:
            raise IndexUnavailable(f"{shown(url)}: {why(exc)}") from exc
        note(f"{corrupt}: not a usable index ({why(exc)}): rebuilt from the records")
        made = _make(url)
        try:
            _create_tables(made)
        except SQLAlchemyError as again:
            raise IndexUnavailable(f"{shown(url)}: {why(again)}") from again
    _engines[url] = made
    return made


def _make(url: str) -> Engine:
    if url.startswith("sqlite:"):
        made = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(made, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return made
    if "psycopg" in url:
        need("psycopg")
    return create_engine(url, connect_args={"connect_timeout": 10} if "psycopg" in url else {})


def shrink_wal(made: Engine) -> None:
    """After a large write (a rebuild): the SQLite WAL copied into the database and cut to nothing.

    auditor leaves without closing its connections (cli._exit), so SQLite's checkpoint-on-close
    never runs; a rebuild of 100,000 runs left a 600 MB WAL that every later command's first read
    of the index scanned (0.1 s per command). A reader holding the WAL open only makes this a
    partial checkpoint; journal_size_limit cuts the file at the next write then."""
    if is_sqlite(made):
        with made.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _create_tables(made: Engine) -> None:
    with writing(made, "auditor-index-tables") as conn:
        metadata.create_all(conn)


def _corrupt_sqlite(url: str, exc: BaseException) -> Path | None:
    """The SQLite file, removed, when `exc` says it is not a database (never for a lock or a
    permission: those leave the file alone)."""
    if not url.startswith("sqlite:///") or not isinstance(exc, DatabaseError):
        return None
    orig = exc.orig
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.OperationalError):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()
    return path


def why(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextmanager
def writing(made: Engine, store_id: str) -> Iterator[Connection]:
    """A transaction that holds the index's write lock for `store_id`: SQLite's BEGIN IMMEDIATE
    (one writer per file), PostgreSQL's transaction-scoped advisory lock (one writer per store)."""
    with made.connect() as conn:
        if is_sqlite(made):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        else:
            with conn.begin():
                key = zlib.crc32(store_id.encode()) - (1 << 31)
                conn.execute(select(func.pg_advisory_xact_lock(key)))
                yield conn


def unavailable(exc: BaseException, url: str) -> IndexUnavailable:
    return IndexUnavailable(f"{shown(url)}: {why(exc)}")
