"""The container of an evidence bundle: a POSIX ustar archive, uncompressed, the same bytes for the
same members, read back by a strict reader that never writes to disk.

Why ustar (POSIX.1-1988, kept in POSIX.1-2001 as the base of pax). Every tar since 1988 reads it
(GNU tar, bsdtar and so the tar of Windows 10+ and macOS, 7-Zip, Python's `tarfile`), so a regulator
can list and extract a bundle with standard tools decades from now, without auditor. It is a plain
sequence of 512-byte headers and data: written and read in one pass (streaming), with no central
directory that could disagree with the entries, as a zip's can (the source of zip parser confusions,
such as Android's "Master Key" bug). Plain ustar, no pax or GNU extensions: nothing varies between
writers, and there is exactly one place each fact (name, size) can come from.

Why uncompressed. A bundle's bulk (the PDF, images in the dossier) is compressed already; gzip would
add a decompression bomb to defend against, tie the bytes to a zlib version and level (the same
members could give other bytes next year), and put a time and an OS byte in its own header. Without
it, the size on disk bounds what the reader holds in memory.

Why not `tarfile` to read. It is built to get what it can out of a damaged archive: a corrupt header
after the first is taken as the end of the archive (the members after it vanish without an error), a
truncated header likewise, bytes after the end marker are ignored, `ignore_zeros` skips whole blocks,
numbers may be base-256, negative or written as `0o17`, a pax header may replace the size and the name
the ustar header shows, and GNU long names and sparse maps change what a member is. Each of these is
a way for two readers to disagree about a bundle, so the reader below parses the few fields a ustar
header has itself and refuses all of it. The writer writes its headers itself too, so the bytes do not
change with the Python version (tarfile stopped writing device numbers for regular files in 3.9). The
tests read every archive written here with `tarfile` and GNU tar, and check that whenever this reader
accepts an archive, tarfile reads the same members.

What the reader accepts: exactly what `write_archive` writes and what `tar --format=ustar` writes from
a list of files: regular files only, each name a relative POSIX path of portable characters, the
archive a whole number of 10,240-byte tar records (tar's default blocking), ending with the two zero
blocks of the end-of-archive marker and nothing but zero padding up to the end of that record. Its
decisions, each refused with one line `ARCHIVE: MEMBER: reason` (EvidenceError, exit 4):
- folder entries: refused. Folders are implied by the names; an entry of its own could carry a mode or
  clash with a file. A file whose name is another member's folder ("a" and "a/b") is refused too.
- names: ASCII letters, digits and `. _ + -` in each `/`-separated segment; no empty, `.` or `..`
  segment, no segment that starts or ends with a dot (hidden or altered once extracted), no Windows
  device name (`CON`, `NUL`, `COM1` ...). So no absolute path, backslash, drive letter, NUL, control or
  bidi character, and no two names that Unicode normalisation could make equal; names equal when case
  is ignored are refused as duplicates (they are one file on macOS and Windows).
- bytes not checked are bytes not allowed: anything after the end marker other than the last record's
  zero padding (data hidden there is invisible to `tar -t`), non-zero padding after a member's data,
  bytes after the NUL that ends a name, a link name on a file.
- the archive file itself must be a regular file, not a symbolic link (it is opened with O_NOFOLLOW),
  and at most `archive_cap(...)` bytes; a file that cannot be opened at all is a usage error (exit 2).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from auditor.errors import EvidenceError, UsageError
from auditor.files import InputFileError, UntrustedFileError, open_regular_file, os_problem, size_text, write_atomic
from auditor.text import safe

BLOCK = 512
RECORD = 20 * BLOCK  # tar's default blocking factor: tar, bsdtar and tarfile all pad to it
MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 256 << 20  # twice the cap of a run record, the largest member a bundle carries
MAX_TOTAL_BYTES = 1 << 30
_MAX_NUMBER = 8**11 - 1  # what 11 octal digits hold: the largest size and mtime ustar can write
_CHUNK = 1 << 20
_ZERO = bytes(BLOCK)
_MAGIC = b"ustar\x0000"
_GNU_MAGIC = b"ustar  \x00"
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_TYPES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a folder entry (folders are implied by the names)",
    b"6": "a FIFO",
    b"7": "a contiguous file",
    b"\x00": "an old (pre-POSIX) file entry",
    b"x": "a pax extended header",
    b"g": "a pax global header",
    b"L": "a GNU long name",
    b"K": "a GNU long link name",
    b"S": "a GNU sparse file",
    b"D": "a GNU folder listing",
    b"M": "a GNU multi-volume part",
    b"V": "a GNU volume label",
}
_SEGMENT = re.compile(r"[A-Za-z0-9_+-]([A-Za-z0-9._+-]*[A-Za-z0-9_+-])?")
_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL"} | {f"{kind}{n}" for kind in ("COM", "LPT") for n in range(10)})
_NUMBER = re.compile(rb"[0-7]+[ \x00]*")
_CHECKSUM = re.compile(rb"[0-7]{6}\x00 ")


def archive_cap(max_members: int = MAX_MEMBERS, max_total_bytes: int = MAX_TOTAL_BYTES) -> int:
    """The largest archive these limits allow: the members' data, each one's header and padding (under
    two blocks), the end marker and the last record's padding."""
    return max_total_bytes + max_members * 2 * BLOCK + 2 * BLOCK + RECORD


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a member's name, or None: see the module's docstring for the rules."""
    if not name:
        return "an empty name"
    if "\x00" in name:
        return "a NUL byte in the name"
    if "\\" in name:
        return "a backslash in the name (a Windows path separator)"
    if name.startswith("/"):
        return "an absolute path"
    if re.match(r"[A-Za-z]:", name):
        return "a drive letter"
    segments = name.split("/")
    if ".." in segments:
        return "a '..' segment (path traversal)"
    if "" in segments:
        return "an empty segment in the name ('//' or a '/' at its end)"
    for segment in segments:
        if segment == ".":
            return "a '.' segment"
        if not _SEGMENT.fullmatch(segment):
            odd = next((c for c in segment if not (c.isascii() and (c.isalnum() or c in "._+-"))), None)
            if odd is not None:
                return f"the character {safe(ascii(odd))}: names are ASCII letters, digits and . _ + -"
            return f"the segment {segment!r} starts or ends with a dot (hidden or renamed once extracted)"
        if segment.split(".")[0].upper() in _DEVICES:
            return f"the segment {segment!r} is a Windows device name"
    return None


def _fold(name: str) -> str:
    """The key under which two names are the same file somewhere: case and Unicode form ignored."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class _Names:
    """The names seen so far, to refuse one that clashes with an earlier one on some file system."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.folders: dict[str, str] = {}  # folded folder -> the first name that needs it

    def add(self, name: str) -> str | None:
        key = _fold(name)
        if key in self.files:
            other = self.files[key]
            if other == name:
                return "a second member with this name"
            return f"the same name as {safe(other)} once case and Unicode form are ignored"
        if key in self.folders:
            return f"a file where {safe(self.folders[key])} needs a folder"
        parts = key.split("/")
        for end in range(1, len(parts)):
            folder = "/".join(parts[:end])
            if folder in self.files:
                return f"inside {safe(self.files[folder])}, which is a file"
            self.folders.setdefault(folder, name)
        self.files[key] = name
        return None


# Writing


def _split(name: bytes) -> tuple[bytes, bytes]:
    """(prefix, name) fields for a ustar header: the name in 100 bytes, or split at a '/' into 155 + 100."""
    if len(name) <= 100:
        return b"", name
    for at in range(len(name) - 1, -1, -1):
        if name[at : at + 1] == b"/" and at <= 155 and len(name) - at - 1 <= 100:
            return name[:at], name[at + 1 :]
    raise ValueError(f"{name.decode()}: too long for a POSIX tar header (100 bytes, or 155 + 100 split at a '/')")


def _header(name: str, size: int, mtime: int) -> bytes:
    prefix, base = _split(name.encode("ascii"))
    head = bytearray(BLOCK)
    head[0 : len(base)] = base
    head[100:108] = b"0000644\x00"  # rw-r--r--
    head[108:116] = b"0000000\x00"  # uid 0
    head[116:124] = b"0000000\x00"  # gid 0
    head[124:136] = b"%011o\x00" % size
    head[136:148] = b"%011o\x00" % mtime
    head[148:156] = b" " * 8  # the checksum is summed with its own field as spaces
    head[156:157] = b"0"  # a regular file
    head[257:265] = _MAGIC  # user and group names, device numbers: left empty (all NUL)
    head[345 : 345 + len(prefix)] = prefix
    head[148:156] = b"%06o\x00 " % sum(head)
    return bytes(head)


def archive_bytes(members: Mapping[str, bytes], *, mtime: int = 0) -> bytes:
    """The archive of `members` (name -> bytes), in name order, every header the same but for name and
    size: mode 0644, uid and gid 0, no user or group name, modification time `mtime` (seconds since
    1970; 0 unless given), so the same members always give the same bytes.

    A name `name_problem` refuses, or two that clash, is a ValueError (the bundle names its files);
    members over what `read_archive` accepts by default are a UsageError (exit 2): auditor never writes
    a bundle its own verify would refuse."""
    if not 0 <= mtime <= _MAX_NUMBER:
        raise ValueError(f"mtime {mtime}: not a time a POSIX tar header can hold")
    names = _Names()
    for name in sorted(members):
        problem = name_problem(name) or names.add(name)
        if problem:
            raise ValueError(f"{name!r}: {problem}")
    if len(members) > MAX_MEMBERS:
        raise UsageError(f"{len(members):,} files: a bundle may hold at most {MAX_MEMBERS:,}")
    total = 0
    for name, data in members.items():
        total += len(data)
        if len(data) > MAX_MEMBER_BYTES:
            cap = size_text(MAX_MEMBER_BYTES)
            raise UsageError(f"{name}: {len(data):,} bytes: a file in a bundle may be at most {cap}")
    if total > MAX_TOTAL_BYTES:
        raise UsageError(f"{total:,} bytes in all: a bundle may hold at most {size_text(MAX_TOTAL_BYTES)}")
    parts: list[bytes] = []
    for name in sorted(members):
        data = members[name]
        parts += [_header(name, len(data), mtime), data, bytes(-len(data) % BLOCK)]
    length = sum(map(len, parts)) + 2 * BLOCK
    parts.append(bytes(2 * BLOCK + -length % RECORD))  # the end marker, then zeros to the record's end
    return b"".join(parts)


def write_archive(path: Path, members: Mapping[str, bytes], *, mtime: int = 0) -> None:
    """`archive_bytes(members)` written to `path` atomically (complete or absent, never half a bundle)."""
    write_atomic(path, archive_bytes(members, mtime=mtime))


# Reading


def read_archive(
    path: Path,
    *,
    max_members: int = MAX_MEMBERS,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> dict[str, bytes]:
    """The members (name -> bytes) of the archive at `path`, read into memory and never onto disk.

    Anything but a well-formed archive within the limits is an EvidenceError naming the archive and the
    member (see the module's docstring); a file that cannot be opened is an InputFileError (exit 2)."""
    where = safe(os.fspath(path))
    cap = archive_cap(max_members, max_total_bytes)
    try:
        with open_regular_file(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > cap:
                raise EvidenceError(f"{where}: {size:,} bytes: an archive within these limits is at most {cap:,}")
            return _Reader(handle, where, max_members, max_member_bytes, max_total_bytes).members()
    except UntrustedFileError as exc:
        raise EvidenceError(f"{where}: {exc.why}: an archive is read only from a regular file") from exc
    except OSError as exc:
        raise InputFileError(path, os_problem(exc)) from exc


class _Reader:
    def __init__(self, stream: BinaryIO, where: str, max_members: int, max_member: int, max_total: int) -> None:
        self.stream = stream
        self.where = where
        self.max_members = max_members
        self.max_member = max_member
        self.max_total = max_total
        self.offset = 0

    def refuse(self, what: str) -> EvidenceError:
        return EvidenceError(f"{self.where}: {what}")

    def read(self, size: int) -> bytes:
        """`size` bytes, or fewer at the end of the file; in chunks, so that a size a header claims is
        never allocated before the bytes are there."""
        parts: list[bytes] = []
        got = 0
        while got < size and (chunk := self.stream.read(min(size - got, _CHUNK))):
            parts.append(chunk)
            got += len(chunk)
        self.offset += got
        return b"".join(parts)

    def members(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        names = _Names()
        total = 0
        while True:
            at = self.offset
            header = self.read(BLOCK)
            if not header:
                if at == 0:
                    raise self.refuse("an empty file, not a tar archive")
                raise self.refuse(f"truncated at byte {at:,}: no end-of-archive marker")
            if at == 0:
                self.sniff(header)
            if len(header) < BLOCK:
                raise self.refuse(f"header at byte {at:,}: truncated ({len(header)} of {BLOCK} bytes)")
            if header == _ZERO:
                self.end(at)
                return found
            name, size = self.header(header, at)
            label = f"{self.where}: {safe(name)}"
            if len(found) == self.max_members:
                raise EvidenceError(f"{label}: more than {self.max_members:,} members")
            problem = names.add(name)
            if problem:
                raise EvidenceError(f"{label}: {problem}")
            if size > self.max_member:
                raise EvidenceError(f"{label}: {size:,} bytes: a member may be at most {size_text(self.max_member)}")
            if total + size > self.max_total:
                raise EvidenceError(f"{label}: the members add up to more than {size_text(self.max_total)}")
            data = self.read(size)
            if len(data) < size:
                raise EvidenceError(f"{label}: truncated: {len(data):,} of {size:,} bytes")
            padding = self.read(-size % BLOCK)
            if len(padding) < -size % BLOCK:
                raise EvidenceError(f"{label}: truncated in the padding after its data")
            if padding.count(0) != len(padding):
                raise EvidenceError(f"{label}: bytes other than zeros in the padding after its data")
            total += len(data)
            found[name] = data

    def sniff(self, start: bytes) -> None:
        """A compressed tar or a zip, named as such rather than as a header that is not one."""
        for signature, compression in _COMPRESSED:
            if start.startswith(signature):
                raise self.refuse(f"{compression}-compressed: a bundle is an uncompressed POSIX tar archive")
        if start.startswith(b"PK\x03\x04"):
            raise self.refuse("a zip file: a bundle is a POSIX tar archive")

    def end(self, at: int) -> None:
        """After the first zero block: the second, then only the zeros that fill the last record."""
        second = self.read(BLOCK)
        if len(second) < BLOCK:
            raise self.refuse(f"truncated in the end-of-archive marker at byte {at:,}")
        if second != _ZERO:
            raise self.refuse(f"a lone zero block at byte {at:,} (the end-of-archive marker is two)")
        rest = self.read(RECORD)
        if rest.count(0) != len(rest):
            first = next(i for i, b in enumerate(rest) if b)
            raise self.refuse(f"bytes after the end-of-archive marker, at byte {at + 2 * BLOCK + first:,}")
        if len(rest) == RECORD:
            raise self.refuse(f"more than a record's zero padding after the end-of-archive marker at byte {at:,}")
        if self.offset % RECORD:
            raise self.refuse(f"truncated: {self.offset:,} bytes, not a whole number of {RECORD:,}-byte tar records")

    def header(self, header: bytes, at: int) -> tuple[str, int]:
        """(name, size) of a header that is a ustar header of a regular file, else refused."""
        here = f"header at byte {at:,}"
        magic = header[257:265]
        if magic != _MAGIC:
            if magic == _GNU_MAGIC:
                raise self.refuse(f"{here}: a GNU tar header: a bundle is POSIX ustar (tar --format=ustar)")
            raise self.refuse(f"{here}: not a POSIX ustar header")
        if not _CHECKSUM.fullmatch(header[148:156]):
            raise self.refuse(f"{here}: the checksum field is malformed")
        if int(header[148:154], 8) != sum(header[:148]) + sum(header[156:]) + 8 * ord(" "):
            raise self.refuse(f"{here}: the header checksum does not match (a corrupt header)")
        prefix, base = _text(header[345:500]), _text(header[0:100])
        if prefix is None or base is None:
            raise self.refuse(f"{here}: bytes after the NUL that ends the name")
        raw_name = prefix + b"/" + base if prefix else base
        shown = f"{self.where}: {safe(raw_name.decode('utf-8', 'backslashreplace'))}"
        kind = header[156:157]
        if kind != b"0":
            what = _TYPES.get(kind, f"an entry of type {safe(ascii(kind))[1:]}")
            raise EvidenceError(f"{shown}: {what}: a bundle holds only regular files")
        numbers = {field: _number(header[start:end]) for field, (start, end) in _NUMBERS.items()}
        for field, (start, end) in _DEVICE_NUMBERS.items():  # empty (all NUL) when not a device
            numbers[field] = _number(header[start:end]) if any(header[start:end]) else 0
        bad = next((field for field, value in numbers.items() if value is None), None)
        if bad:
            raise EvidenceError(f"{shown}: the {bad} field is not an octal number")
        if any(header[157:257]):
            raise EvidenceError(f"{shown}: a link name on a regular file")
        if _text(header[265:297]) is None or _text(header[297:329]) is None:
            raise EvidenceError(f"{shown}: bytes after the NUL that ends the user or group name")
        if any(header[500:512]):
            raise EvidenceError(f"{shown}: bytes other than zeros at the end of its header")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise EvidenceError(f"{shown}: the name is not UTF-8") from None
        problem = name_problem(name)
        if problem:
            raise EvidenceError(f"{shown}: {problem}")
        return name, numbers["size"] or 0


_NUMBERS = {"mode": (100, 108), "uid": (108, 116), "gid": (116, 124), "size": (124, 136), "mtime": (136, 148)}
_DEVICE_NUMBERS = {"devmajor": (329, 337), "devminor": (337, 345)}


def _text(field: bytes) -> bytes | None:
    """A string field up to its first NUL; None when bytes follow that NUL (some readers would see them)."""
    end = field.find(0)
    if end == -1:
        return field
    return None if any(field[end:]) else field[:end]


def _number(field: bytes) -> int | None:
    """An octal number field as POSIX writes it (digits, then NULs or spaces), else None."""
    if not _NUMBER.fullmatch(field):
        return None
    return int(field.rstrip(b" \x00"), 8)
