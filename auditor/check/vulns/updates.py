"""`auditor advisories update`: fetch, verify and install an advisory database; which one is installed.

The installed databases live in one folder (`advisories_home`): each in its own `db-<time>-<random>/`
folder, and `CURRENT` names the one in use. An update downloads (or copies) the archive, checks it
(archive.read_advisories), writes every advisory into a new folder, indexes it (every record must
parse: a single bad one rejects the whole update), writes the folder's `auditor-advisories.json`
(covers the ecosystem, the advisory count and the digest of the file list, so a later loss of a file
is seen on every check) and `.auditor-source.json` (where it came from, when, the archive's sha256),
keeps the index beside them (`.auditor-index`, keyed by the content of every advisory: a check whose
cache is cold uses it), and only then replaces `CURRENT` (a rename). Whatever fails before that leaves
the database in use untouched and the new folder removed. The previous database is kept beside the new one (a check that
started on it can finish); older ones are removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.check.vulns.archive import ArchiveError, read_advisories
from auditor.check.vulns.installed import FOLDER_NAME, POINTER, advisories_home, installed_folder
from auditor.check.vulns.osv_coverage import MANIFEST, files_digest
from auditor.check.vulns.osv_index import advisory_files, is_date, load_index, write_prebuilt
from auditor.errors import UsageError
from auditor.files import write_atomic

DEFAULT_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
MAX_ARCHIVE_BYTES = 1 << 30  # the OSV PyPI export is a few tens of MiB
SOURCE_FILE = ".auditor-source.json"  # hidden, so the index never takes it for an advisory
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class AdvisoryUpdateError(UsageError):
    """The update could not be done; the database in use (if any) is unchanged. Exit 2."""


@dataclass(frozen=True)
class Installed:
    """The database `check` uses by default, as its `.auditor-source.json` describes it."""

    folder: Path
    source: str
    layout: str
    date: str | None
    fetched_at: str
    advisories: int
    archive_sha256: str
    checksum: str | None  # the published checksum that was verified, if the source published one

    def age_days(self, today: dt.date) -> int | None:
        return None if self.date is None else (today - dt.date.fromisoformat(self.date)).days

    def as_json(self, today: dt.date) -> dict[str, Any]:
        return {
            "database": str(self.folder),
            "source": self.source,
            "layout": self.layout,
            "date": self.date,
            "age_days": self.age_days(today),
            "fetched_at": self.fetched_at,
            "advisories": self.advisories,
            "archive_sha256": self.archive_sha256,
            "checksum": self.checksum,
        }


def cache_dir(env: dict[str, str]) -> Path:
    """auditor's cache (the advisory index lives here): $AUDITOR_CACHE_DIR, else ~/.cache/auditor."""
    return Path(env.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor")


def installed(home: Path) -> Installed | None:
    """What is installed, from its .auditor-source.json; None when nothing is."""
    folder = installed_folder(home)
    if folder is None:
        return None
    where = folder / SOURCE_FILE
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
        return Installed(
            folder=folder,
            source=str(data["source"]),
            layout=str(data["layout"]),
            date=data["date"] if isinstance(data["date"], str) and is_date(data["date"]) else None,
            fetched_at=str(data["fetched_at"]),
            advisories=int(data["advisories"]),
            archive_sha256=str(data["archive_sha256"]),
            checksum=None if data.get("checksum") is None else str(data["checksum"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{where}: cannot be read ({' '.join(str(exc).split())[:200]})") from None


def update(source: str, env: dict[str, str], *, sha256: str | None = None, timeout_s: float = 300) -> Installed:
    """Fetch `source` (a URL, a file, or `-` for stdin), verify it, install it, and return what is in use."""
    home = advisories_home(env)
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AdvisoryUpdateError(f"{home}: cannot be created ({exc.strerror or exc})") from None
    previous = installed_folder(home)
    shown = _shown(source)
    incoming = home / f".incoming-{secrets.token_hex(4)}"
    folder = home / f"db-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    switched = False
    try:
        checksum = _fetch(source, incoming, timeout_s)
        digest = _sha256(incoming)
        if sha256 is not None:
            if digest != sha256.lower():
                raise ArchiveError(f"its sha256 is {digest}, not the {sha256.lower()} given with --sha256")
            checksum = checksum or f"sha256 {digest} (given with --sha256)"
        result = _install(incoming, folder, shown, digest, checksum, env)
        write_atomic(home / POINTER, folder.name.encode() + b"\n")
        switched = True
    except UsageError as exc:  # AdvisoryUpdateError and ArchiveError
        raise AdvisoryUpdateError(f"{shown}: {exc.message}; {_unchanged(previous)}") from None
    except OSError as exc:
        raise AdvisoryUpdateError(f"{shown}: {exc.strerror or exc}; {_unchanged(previous)}") from None
    finally:  # whatever went wrong (an interrupt too), nothing half-installed stays
        incoming.unlink(missing_ok=True)
        if not switched:
            shutil.rmtree(folder, ignore_errors=True)
    if previous is not None:
        _prune(home, older_than=previous.name)
    return result


def _unchanged(previous: Path | None) -> str:
    return f"the database in use is unchanged ({previous})" if previous else "no database is installed"


def _shown(source: str) -> str:
    """The source as it may be printed: a URL without its credentials."""
    if not _URL.match(source):
        return source
    import urllib.parse

    parts = urllib.parse.urlsplit(source)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _fetch(source: str, target: Path, timeout_s: float) -> str | None:
    """Copy the archive to `target` (at most MAX_ARCHIVE_BYTES); the published checksum verified, if any."""
    import http.client  # here, not at the top: every check imports this module's neighbours
    import urllib.error
    import urllib.parse
    import urllib.request

    if source == "-":
        _copy(sys.stdin.buffer, target, None)
        return None
    if not _URL.match(source):
        try:
            with Path(source).open("rb") as handle:
                _copy(handle, target, None)
        except FileNotFoundError:
            raise AdvisoryUpdateError("no such file") from None
        except IsADirectoryError:
            raise AdvisoryUpdateError("a folder, not an archive file") from None
        return None
    if urllib.parse.urlsplit(source).scheme not in ("http", "https"):
        raise AdvisoryUpdateError("only http and https URLs (or a file) can be fetched")
    try:
        with urllib.request.urlopen(source, timeout=timeout_s) as reply:  # noqa: S310 - http(s) only, checked above
            length = reply.headers.get("Content-Length")
            _copy(reply, target, int(length) if length and length.isdigit() else None)
            return _published_md5(reply.headers.get_all("x-goog-hash") or [], target)
    except urllib.error.HTTPError as exc:
        raise AdvisoryUpdateError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise AdvisoryUpdateError(f"cannot be fetched ({exc.reason})") from None
    except http.client.IncompleteRead as exc:
        raise ArchiveError(f"truncated: the server sent {len(exc.partial):,} bytes and closed") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise AdvisoryUpdateError(f"cannot be fetched ({type(exc).__name__}: {exc})") from None


def _copy(reader: Any, target: Path, expected: int | None) -> None:
    size = 0
    with target.open("xb") as out:
        while chunk := reader.read(1 << 20):
            size += len(chunk)
            if size > MAX_ARCHIVE_BYTES:
                raise ArchiveError(f"larger than {MAX_ARCHIVE_BYTES:,} bytes")
            out.write(chunk)
    if expected is not None and size != expected:
        raise ArchiveError(f"truncated: {size:,} bytes of the {expected:,} announced")


def _published_md5(hashes: list[str], target: Path) -> str | None:
    """Google Cloud Storage (where OSV publishes) sends `x-goog-hash: crc32c=..., md5=...`: check the md5."""
    import base64

    for header in hashes:
        for part in header.split(","):
            kind, _, value = part.strip().partition("=")
            if kind == "md5":
                with target.open("rb") as handle:
                    got = base64.b64encode(hashlib.file_digest(handle, "md5").digest()).decode()
                if got != value.strip():
                    raise ArchiveError(f"its md5 {got} is not the {value.strip()} the server published (x-goog-hash)")
                return f"md5 {value.strip()} (x-goog-hash)"
    return None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _install(
    archive: Path, folder: Path, source: str, digest: str, checksum: str | None, env: dict[str, str]
) -> Installed:
    layout, advisories = read_advisories(archive)
    folder.mkdir()
    count = 0
    for rel, data in advisories:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as out:  # a name twice, or one a folder already took, fails here
            out.write(data)
        count += 1
    if count == 0:
        raise ArchiveError("holds no advisory files")
    files = advisory_files(folder)
    index = load_index(folder, files, cache_dir(env))  # cached: the first check after an update is warm
    if index["problems"]:
        first = index["problems"][0]
        more = f" (and {len(index['problems']) - 1:,} more)" if len(index["problems"]) > 1 else ""
        raise ArchiveError(f"advisory {first}{more}")
    if not index["packages"]:
        raise ArchiveError("names no PyPI package in any advisory")
    write_prebuilt(folder, files, index)  # a check with a cold cache reads it, once it is checked against the files
    manifest = {
        "version": 1,
        "ecosystem": "PyPI",
        "source": f"{source} ({layout}, fetched by auditor advisories update)",
        "date": index["newest"],
        "covers": "ecosystem",
        "advisories": len(files),
        "files_sha256": files_digest(files),
    }
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
    result = Installed(
        folder=folder,
        source=source,
        layout=layout,
        date=index["newest"],
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
        advisories=len(files),
        archive_sha256=digest,
        checksum=checksum,
    )
    meta = {k: v for k, v in result.as_json(dt.date.today()).items() if k not in ("database", "age_days")}
    write_atomic(folder / SOURCE_FILE, json.dumps(meta, indent=2).encode() + b"\n")
    return result


def _prune(home: Path, older_than: str) -> None:
    """Remove the databases installed before the previous one; best effort. The previous one stays (a
    check that started on it can finish), and so does a newer one (an update running beside this one)."""
    with contextlib.suppress(OSError):
        for entry in home.iterdir():
            if FOLDER_NAME.fullmatch(entry.name) and entry.name < older_than and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
