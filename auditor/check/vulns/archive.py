"""Reading an advisory archive safely: the OSV PyPI export (`all.zip`) or a PyPA advisory-database archive.

An archive is untrusted input. Before anything is written, every member is checked: no absolute path,
no `..`, no backslash or drive, no link or device, no duplicate, no encrypted member, at most
MAX_MEMBERS of them; each advisory read is bounded (MAX_MEMBER_BYTES, a compression ratio a real
advisory never reaches) and so is the total (MAX_TOTAL_BYTES), so a zip bomb stops early. A member
whose bytes do not match its CRC (zip) or a stream that ends early (a truncated tar.gz) is an error.

Two layouts are recognised: advisories under a `vulns/` folder (GitHub's zip or tarball of
pypa/advisory-database, `advisory-database-main/vulns/<package>/<ID>.yaml`), or `*.json` at the top
of the archive (the OSV export). Other members (README, LICENSE, CI files) are checked but not read.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from auditor.check.vulns.osv_index import is_advisory_path
from auditor.errors import UsageError

MAX_MEMBERS = 500_000  # the OSV PyPI export holds about 17,000; the PyPA archive about 5,000 files
MAX_MEMBER_BYTES = 32 << 20  # one advisory; the largest real ones are a few hundred KiB
MAX_TOTAL_BYTES = 4 << 30  # every advisory together, uncompressed
MAX_RATIO = 1000  # uncompressed / compressed of one member above 1 MiB: beyond this it is a bomb
Layout = Literal["osv-export", "pypa-advisory-database"]


class ArchiveError(UsageError):
    """An archive that is unsafe, damaged or holds no advisories: nothing of it is installed. Exit 2."""


@dataclass(frozen=True)
class Member:
    name: str  # as the archive spells it
    size: int  # uncompressed, as declared
    packed: int  # compressed size (zip), or the declared size (tar)


def read_advisories(archive: Path) -> tuple[Layout, Iterator[tuple[str, bytes]]]:
    """The layout, and (relative path under the database, bytes) of every advisory member, checked."""
    if zipfile.is_zipfile(archive):
        return _read(_ZipSource(archive))
    try:
        source = _TarSource(archive)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"not a zip or tar archive, or damaged ({_why(exc)})") from None
    return _read(source)


def _read(source: _ZipSource | _TarSource) -> tuple[Layout, Iterator[tuple[str, bytes]]]:
    members = source.members()
    if len(members) > MAX_MEMBERS:
        raise ArchiveError(f"{len(members):,} members, more than the {MAX_MEMBERS:,} an advisory archive may hold")
    seen: set[str] = set()
    for member in members:
        _check_name(member.name)
        if member.name in seen:
            raise ArchiveError(f"member {member.name!r} appears twice")
        seen.add(member.name)
    layout, chosen = _advisory_members(members)
    return layout, _contents(source, chosen)


def _check_name(name: str) -> None:
    parts = name.rstrip("/").split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or ":" in parts[0]
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ArchiveError(f"member {name!r} has an unsafe path (absolute, '..', a backslash or a drive)")


def _advisory_members(members: list[Member]) -> tuple[Layout, list[tuple[Member, str]]]:
    """The members that are advisories, with the path each takes under the database folder."""
    files = [m for m in members if not m.name.endswith("/")]
    under_vulns: list[tuple[Member, str]] = []
    prefixes: set[str] = set()
    for member in files:
        parts = member.name.split("/")
        if "vulns" in parts[:-1]:
            at = parts.index("vulns")
            rel = "/".join(parts[at:])
            if is_advisory_path(rel):
                prefixes.add("/".join(parts[:at]))
                under_vulns.append((member, rel))
    if under_vulns:
        if len(prefixes) > 1:
            raise ArchiveError(f"advisories under more than one vulns/ folder ({', '.join(sorted(prefixes)[:3])})")
        return "pypa-advisory-database", under_vulns
    top = [(m, f"vulns/{m.name}") for m in files if "/" not in m.name and m.name.endswith(".json")]
    if top:
        return "osv-export", [(m, rel) for m, rel in top if is_advisory_path(rel)]
    raise ArchiveError("holds no OSV advisories (neither *.json at its top, as the OSV export, nor a vulns/ folder)")


def _contents(source: _ZipSource | _TarSource, chosen: list[tuple[Member, str]]) -> Iterator[tuple[str, bytes]]:
    total = 0
    for member, rel in chosen:
        if member.size > MAX_MEMBER_BYTES:
            raise ArchiveError(f"member {member.name!r} is {member.size:,} bytes, more than {MAX_MEMBER_BYTES:,}")
        if member.size > 1 << 20 and member.size > MAX_RATIO * max(member.packed, 1):
            raise ArchiveError(f"member {member.name!r} expands {member.size // max(member.packed, 1):,} times: a bomb")
        data = source.read(member)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise ArchiveError(f"the advisories expand to more than {MAX_TOTAL_BYTES:,} bytes")
        yield rel, data


def _bounded(handle: IO[bytes], member: Member) -> bytes:
    data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ArchiveError(f"member {member.name!r} expands beyond {MAX_MEMBER_BYTES:,} bytes")
    if len(data) != member.size:
        raise ArchiveError(f"member {member.name!r} holds {len(data):,} bytes, not the {member.size:,} declared")
    return data


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


class _ZipSource:
    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ArchiveError(f"a damaged zip archive ({_why(exc)})") from None

    def members(self) -> list[Member]:
        found = []
        for info in self._zip.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(f"member {info.filename!r} is a link or a special file")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"member {info.filename!r} is encrypted")
            found.append(Member(info.filename, info.file_size, info.compress_size))
        return found

    def read(self, member: Member) -> bytes:
        try:
            with self._zip.open(member.name) as handle:
                return _bounded(handle, member)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, NotImplementedError) as exc:
            raise ArchiveError(f"member {member.name!r} is damaged ({_why(exc)})") from None


class _TarSource:
    def __init__(self, path: Path) -> None:
        self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 - kept open while the members are read
        self._infos: dict[str, tarfile.TarInfo] = {}

    def members(self) -> list[Member]:
        found: list[Member] = []
        total = 0
        try:
            for info in self._tar:  # lazily: a bomb of members or sizes stops here, before the rest is inflated
                total += info.size
                if len(found) >= MAX_MEMBERS or total > MAX_TOTAL_BYTES:
                    raise ArchiveError(f"more than {MAX_MEMBERS:,} members or {MAX_TOTAL_BYTES:,} bytes")
                found.append(self._member(info))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"a damaged or truncated tar archive ({_why(exc)})") from None
        return [m for m in found if m.name]

    def _member(self, info: tarfile.TarInfo) -> Member:
        if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):  # pax headers (GitHub adds a comment)
            return Member("", 0, 0)
        if not (info.isreg() or info.isdir()):
            raise ArchiveError(f"member {info.name!r} is a link or a special file")
        name = info.name + ("/" if info.isdir() and not info.name.endswith("/") else "")
        self._infos[name] = info
        return Member(name, info.size, info.size)

    def read(self, member: Member) -> bytes:
        try:
            handle = self._tar.extractfile(self._infos[member.name])
            if handle is None:
                raise ArchiveError(f"member {member.name!r} is not a file")
            with handle:
                return _bounded(handle, member)
        except (tarfile.TarError, OSError, EOFError, zlib.error, KeyError) as exc:
            raise ArchiveError(f"member {member.name!r} is damaged or truncated ({_why(exc)})") from None
