"""The bundle container: deterministic ustar written, and a reader that survives hostile archives.

Every hostile archive is built here byte by byte (or with tarfile / GNU tar where they make the
thing in question), read under a watch that fails the test on any write to disk, and must be
refused with one line naming the archive and the member, exit 4."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.errors import EXIT_UNVERIFIED, EvidenceError, UsageError
from auditor.evidence import archive
from auditor.evidence.archive import (
    BLOCK,
    RECORD,
    archive_bytes,
    archive_cap,
    name_problem,
    read_archive,
    write_archive,
)
from auditor.files import InputFileError
from tests.fuzz.mutate import budget, deadline

MAGIC = b"ustar\x0000"
LONG = "signoffs/" + "s" * 90 + "/" + "a" * 95 + ".json"  # over 100 bytes: split into prefix and name
FIVE = {
    "record.json": b'{"run_id": "01JGZ0000000000000000000AA"}\n' * 16,
    "report/check.json": bytes(range(256)) * 2,  # exactly one block
    "logs/stdout.log": b"x",
    "dossier/dossier.pdf": b"%PDF-1.7\n" + bytes(1291),
    LONG: b'{"decision": "approve"}',
}


# Watching for writes: an audit hook (it cannot be removed, so it does nothing unless a watch is on)

_WRITES: list[str] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WRITE_EVENTS = frozenset(
    {"os.rename", "os.replace", "os.remove", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate"}
    | {"os.chmod", "os.chown", "os.utime", "os.mkfifo", "os.mknod", "shutil.copyfile", "shutil.move"}
    | {"tempfile.mkstemp", "tempfile.mkdtemp", "shutil.rmtree", "os.fwalk"}
)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WRITES is None:
        return
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            _WRITES.append(f"open {args!r}")
    elif event in _WRITE_EVENTS:
        _WRITES.append(f"{event} {args!r}")


sys.addaudithook(_audit)


@contextmanager
def no_writes() -> Iterator[None]:
    """Fails (AssertionError) when anything in the block opens a file for writing or changes the disk."""
    global _WRITES
    _WRITES = []
    try:
        yield
    finally:
        seen, _WRITES = _WRITES, None
    assert not seen, f"wrote to disk: {seen[:3]}"


def test_the_watch_sees_a_write(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="wrote to disk"), no_writes():
        write_archive(tmp_path / "b.tar", {"a": b"1"})
    with pytest.raises(AssertionError, match="wrote to disk"), no_writes():
        (tmp_path / "c").write_bytes(b"")


# Building archives by hand


def header(
    name: bytes = b"member",
    *,
    size: int | bytes = 0,
    kind: bytes = b"0",
    mode: bytes = b"0000644\x00",
    uid: bytes = b"0000000\x00",
    mtime: bytes = b"00000000000\x00",
    linkname: bytes = b"",
    magic: bytes = MAGIC,
    uname: bytes = b"",
    devmajor: bytes = b"",
    prefix: bytes = b"",
    tail: bytes = b"",
    checksum: bytes | None = None,
) -> bytes:
    """One 512-byte header, its checksum right unless `checksum` is given."""
    buf = bytearray(BLOCK)
    size_field = size if isinstance(size, bytes) else b"%011o\x00" % size
    fields = [
        (0, 100, name),
        (100, 108, mode),
        (108, 116, uid),
        (116, 124, uid),
        (124, 136, size_field),
        (136, 148, mtime),
        (156, 157, kind),
        (157, 257, linkname),
        (257, 265, magic),
        (265, 297, uname),
        (329, 337, devmajor),
        (345, 500, prefix),
        (500, 512, tail),
    ]
    for start, end, value in fields:
        assert len(value) <= end - start, (start, value)
        buf[start : start + len(value)] = value
    buf[148:156] = b" " * 8
    buf[148:156] = checksum if checksum is not None else b"%06o\x00 " % sum(buf)
    return bytes(buf)


def entry(name: bytes = b"member", data: bytes = b"", **fields: bytes | int) -> bytes:
    """A header (its size the data's unless given) with its data and zero padding."""
    fields.setdefault("size", len(data))
    return header(name, **fields) + data + bytes(-len(data) % BLOCK)  # type: ignore[arg-type]


def tar(*entries: bytes) -> bytes:
    """The entries, the end-of-archive marker and zeros to the end of the record, as tar writes it."""
    body = b"".join(entries) + bytes(2 * BLOCK)
    return body + bytes(-len(body) % RECORD)


def tarfile_bytes(*infos: tuple[tarfile.TarInfo, bytes], format: int = tarfile.USTAR_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=format) as tf:
        for info, data in infos:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def info(name: str, kind: bytes = tarfile.REGTYPE, **attributes: object) -> tarfile.TarInfo:
    made = tarfile.TarInfo(name)
    made.type = kind
    for key, value in attributes.items():
        setattr(made, key, value)
    return made


def read(path: Path, **limits: int) -> dict[str, bytes]:
    with deadline(20), no_writes():
        return read_archive(path, **limits)


def refuse(tmp_path: Path, data: bytes, *words: str, **limits: int) -> str:
    """`data` as an archive is refused: EvidenceError, exit 4, one line `ARCHIVE: ...` holding `words`."""
    path = tmp_path / "bundle.tar"
    path.write_bytes(data)
    with pytest.raises(EvidenceError) as caught:
        read(path, **limits)
    message = caught.value.message
    assert caught.value.exit_code == EXIT_UNVERIFIED == 4
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


# Writing


def test_round_trip_with_every_reader(tmp_path: Path) -> None:
    members = {**FIVE, "empty": b"", "edge/511": bytes(511), "edge/513": b"\xff" * 513}
    path = tmp_path / "bundle.tar"
    write_archive(path, members)
    assert read(path) == members
    assert path.stat().st_size % RECORD == 0
    with tarfile.open(path) as tf:  # a second implementation
        assert {m.name: tf.extractfile(m).read() for m in tf} == members  # type: ignore[union-attr]
        assert {(m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime, m.type) for m in tf} == {
            (0o644, 0, 0, "", "", 0, tarfile.REGTYPE)
        }
    out = tmp_path / "out"
    out.mkdir()
    listing = subprocess.run(["tar", "-tvf", path], capture_output=True, text=True, timeout=60, check=True)
    assert sorted(line.split()[-1] for line in listing.stdout.splitlines()) == sorted(members)
    assert all(line.startswith("-rw-r--r-- 0/0 ") for line in listing.stdout.splitlines())
    subprocess.run(["tar", "-xf", path, "-C", out], capture_output=True, timeout=60, check=True)
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == members


def test_an_archive_gnu_tar_writes_as_ustar_is_read(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "logs").mkdir(parents=True)
    (source / "record.json").write_bytes(b"{}")
    (source / "logs" / "stdout.log").write_bytes(b"line\n" * 300)
    path = tmp_path / "gnu.tar"
    subprocess.run(
        ["tar", "--format=ustar", "-cf", path, "-C", source, "record.json", "logs/stdout.log"], timeout=60, check=True
    )
    assert read(path) == {"record.json": b"{}", "logs/stdout.log": b"line\n" * 300}


def test_same_members_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "1.tar", tmp_path / "2.tar"
    write_archive(first, FIVE)
    write_archive(second, dict(reversed(FIVE.items())))  # another insertion order, another time
    assert first.read_bytes() == second.read_bytes() == archive_bytes(FIVE)
    # Pinned: a change to these bytes changes every bundle's hash, so it must be deliberate.
    assert hashlib.sha256(archive_bytes({"a": b"1", "b/c": b""})).hexdigest() == (
        "0e5a3c1690a0b0a21c05385c93d88bf9c1cb59fe257935995f9b71d9dee1a5cf"
    )
    stamped = archive_bytes(FIVE, mtime=1_790_000_000)
    assert stamped != archive_bytes(FIVE)
    with tarfile.open(fileobj=io.BytesIO(stamped)) as tf:
        assert {m.mtime for m in tf} == {1_790_000_000}


def test_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "bundle.tar"
    path.write_bytes(b"an older bundle")
    write_archive(path, {"a": b"1"})
    assert read(path) == {"a": b"1"}
    with pytest.raises(ValueError, match="path traversal"):
        write_archive(path, {"../a": b"1"})
    assert read(path) == {"a": b"1"}  # untouched by the failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar"]  # no temporary file left


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ({"../x": b""}, "path traversal"),
        ({"/etc/passwd": b""}, "an absolute path"),
        ({"a\\b": b""}, "backslash"),
        ({"C:x": b""}, "a drive letter"),
        ({"a\x00b": b""}, "NUL"),
        ({"": b""}, "an empty name"),
        ({"a//b": b""}, "an empty segment"),
        ({"./a": b""}, "a '.' segment"),
        ({".hidden": b""}, "starts or ends with a dot"),
        ({"caf\u00e9": b""}, "the character"),
        ({"a\x1b[31m": b""}, "the character"),
        ({"logs/NUL.txt": b""}, "Windows device name"),
        ({"Record.json": b"", "record.json": b""}, "once case and Unicode form are ignored"),
        ({"a": b"", "a/b": b""}, "which is a file"),
        ({"x/" * 130 + "y": b""}, "too long for a POSIX tar header"),
        ({"y" * 101: b""}, "too long for a POSIX tar header"),
    ],
)
def test_writer_refuses_names_it_cannot_write_safely(tmp_path: Path, members: dict[str, bytes], problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("\\", "\\\\")):
        write_archive(tmp_path / "b.tar", members)
    assert not list(tmp_path.iterdir())


def test_writer_refuses_what_verify_would_refuse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mtime"):
        archive_bytes({"a": b""}, mtime=-1)
    with pytest.raises(ValueError, match="mtime"):
        archive_bytes({"a": b""}, mtime=8**11)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 10)
    with pytest.raises(UsageError, match="a file in a bundle may be at most 10 bytes"):
        archive_bytes({"big": bytes(11)})
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 15)
    with pytest.raises(UsageError, match="may hold at most 15 bytes"):
        archive_bytes({"a": bytes(8), "b": bytes(8)})
    monkeypatch.setattr(archive, "MAX_MEMBERS", 2)
    with pytest.raises(UsageError, match="at most 2"):
        archive_bytes({"a": b"", "b": b"", "c": b""})


# Reading: refusals, one per way in


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (b"../../etc/passwd", "a '..' segment (path traversal)"),
        (b"a/../../x", "a '..' segment (path traversal)"),
        (b"/etc/passwd", "an absolute path"),
        (b"a\\..\\..\\x", "a backslash"),
        (b"C:/Windows/x", "a drive letter"),
        (b"c:x", "a drive letter"),
        (b"a/b/", "an empty segment"),
        (b"a//b", "an empty segment"),
        (b"./a", "a '.' segment"),
        (b".bashrc", "starts or ends with a dot"),
        (b"a/evil.", "starts or ends with a dot"),
        (b"a\x1b[2Jb", "the character '\\x1b'"),
        (b"a\xe2\x80\xaeb", "the character '\\u202e'"),  # a bidi override
        (b"CON", "Windows device name"),
        (b"\xff\xfe", "the name is not UTF-8"),
        (b"caf\xc3\xa9", "the character '\\xe9'"),
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, name: bytes, reason: str) -> None:
    message = refuse(tmp_path, tar(entry(b"ok", b"1"), entry(name, b"payload")), reason)
    assert "\x1b" not in message and "\u202e" not in message  # escaped, never passed to a terminal


def test_a_nul_inside_a_name_is_refused(tmp_path: Path) -> None:
    refuse(tmp_path, tar(entry(b"record.json\x00../../x")), "header at byte 0: bytes after the NUL that ends the name")
    refuse(tmp_path, tar(entry(b"ok", prefix=b"a\x00b")), "bytes after the NUL that ends the name")


def test_a_long_name_is_prefix_and_name(tmp_path: Path) -> None:
    refuse(tmp_path, tar(entry(b"passwd", prefix=b"../../etc")), "../../etc/passwd: a '..' segment")
    refuse(tmp_path, tar(entry(b"", prefix=b"logs")), "logs/: an empty segment")
    path = tmp_path / "ok.tar"
    path.write_bytes(tar(entry(b"b" * 100, b"1", prefix=b"a" * 155)))
    assert read(path) == {"a" * 155 + "/" + "b" * 100: b"1"}


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (b"1", "a hard link"),
        (b"2", "a symbolic link"),
        (b"3", "a character device"),
        (b"4", "a block device"),
        (b"5", "a folder entry"),
        (b"6", "a FIFO"),
        (b"7", "a contiguous file"),
        (b"\x00", "an old (pre-POSIX) file entry"),
        (b"x", "a pax extended header"),
        (b"g", "a pax global header"),
        (b"L", "a GNU long name"),
        (b"K", "a GNU long link name"),
        (b"S", "a GNU sparse file"),
        (b"Z", "an entry of type 'Z'"),
    ],
)
def test_only_regular_files(tmp_path: Path, kind: bytes, what: str) -> None:
    hostile = entry(b"logs", kind=kind, linkname=b"/etc/passwd" if kind in b"12" else b"")
    message = refuse(tmp_path, tar(entry(b"record.json", b"{}"), hostile), f"bundle.tar: logs: {what}")
    assert message.endswith(": a bundle holds only regular files")


def test_links_and_devices_made_by_tarfile_are_refused(tmp_path: Path) -> None:
    cases = [
        (info("record.json", tarfile.SYMTYPE, linkname="/etc/passwd"), "a symbolic link"),
        (info("record.json", tarfile.LNKTYPE, linkname="../../x"), "a hard link"),
        (info("tty", tarfile.CHRTYPE, devmajor=4, devminor=1), "a character device"),
        (info("pipe", tarfile.FIFOTYPE), "a FIFO"),
        (info("logs", tarfile.DIRTYPE, mode=0o755), "a folder entry"),
    ]
    for made, what in cases:
        refuse(tmp_path, tarfile_bytes((made, b"")), what)


def test_pax_and_gnu_extensions_cannot_change_a_name_or_size(tmp_path: Path) -> None:
    # pax: a "path" or "size" record overrides the ustar header that tar -t would not show
    pax = tarfile_bytes(
        (info("record.json", pax_headers={"path": "../../x", "size": "3"}), b"abc"), format=tarfile.PAX_FORMAT
    )
    refuse(tmp_path, pax, "a pax extended header")
    gnu_long = tarfile_bytes((info("a/" + "b" * 120), b"1"), format=tarfile.GNU_FORMAT)
    refuse(tmp_path, gnu_long, "header at byte 0: a GNU tar header")
    refuse(tmp_path, tarfile_bytes((info("a"), b"1"), format=tarfile.GNU_FORMAT), "a GNU tar header")
    sparse = tar(entry(b"big", b"", kind=b"S", size=b"77777777777\x00"))
    refuse(tmp_path, sparse, "a GNU sparse file")


def test_duplicates_also_after_case_folding(tmp_path: Path) -> None:
    refuse(tmp_path, tar(entry(b"record.json", b"{}"), entry(b"record.json", b"[]")), "record.json: a second member")
    refuse(
        tmp_path,
        tar(entry(b"Record.json", b"{}"), entry(b"record.JSON", b"[]")),
        "bundle.tar: record.JSON: the same name as Record.json once case and Unicode form are ignored",
    )
    refuse(tmp_path, tar(entry(b"logs/a", b""), entry(b"LOGS", b"")), "LOGS: a file where logs/a needs a folder")
    refuse(tmp_path, tar(entry(b"logs", b""), entry(b"Logs/a", b"")), "Logs/a: inside logs, which is a file")
    # Decomposed and composed forms of one name (NFD "cafe\u0301", NFC "caf\u00e9"): refused as
    # non-ASCII already; the duplicate check folds them too, should the character set ever widen.
    refuse(tmp_path, tar(entry("cafe\u0301".encode())), "the character '\\u0301'")
    names = archive._Names()
    assert names.add("caf\u00e9") is None
    assert names.add("cafe\u0301") == "the same name as caf\u00e9 once case and Unicode form are ignored"
    assert names.add("\uff23AF\u00c9") is not None  # fullwidth C: NFKC


def test_member_size_is_checked_from_the_header_before_reading(tmp_path: Path) -> None:
    # The header claims 8 GiB and the file is 10 KiB: refused for the size, not for truncation.
    lying = tar(entry(b"record.json", b"", size=b"77777777777\x00"))
    refuse(tmp_path, lying, "record.json: 8,589,934,591 bytes: a member may be at most 256 MiB")
    refuse(
        tmp_path, tar(entry(b"a", bytes(101))), "a: 101 bytes: a member may be at most 100 bytes", max_member_bytes=100
    )
    path = tmp_path / "ok.tar"
    path.write_bytes(tar(entry(b"a", bytes(100))))
    assert read(path, max_member_bytes=100) == {"a": bytes(100)}


def test_a_header_that_lies_about_the_size_is_refused(tmp_path: Path) -> None:
    data = b"A" * 2000
    claims_less = header(b"record.json", size=10) + data + bytes(-len(data) % BLOCK)
    refuse(tmp_path, tar(claims_less), "record.json: bytes other than zeros in the padding after its data")
    claims_less = header(b"record.json", size=10) + bytes(BLOCK) + data + bytes(-len(data) % BLOCK)
    refuse(tmp_path, tar(claims_less), "header at byte 1,024: not a POSIX ustar header")
    claims_more = header(b"record.json", size=20_000) + data
    refuse(tmp_path, claims_more + bytes(-len(claims_more) % RECORD), "record.json: truncated: 9,728 of 20,000 bytes")


def test_total_and_count_caps(tmp_path: Path) -> None:
    three = tar(*(entry(name, bytes(40)) for name in (b"a", b"b", b"c")))
    refuse(tmp_path, three, "bundle.tar: c: the members add up to more than 100 bytes", max_total_bytes=100)
    refuse(tmp_path, three, "bundle.tar: c: more than 2 members", max_members=2)
    path = tmp_path / "ok.tar"
    path.write_bytes(three)
    assert len(read(path, max_total_bytes=120, max_members=3)) == 3


def test_an_archive_over_its_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    cap = archive_cap(max_members=1, max_total_bytes=10)
    assert cap == 10 + 1024 + 1024 + RECORD
    path = tmp_path / "huge.tar"
    with path.open("wb") as handle:
        handle.truncate(20 << 30)  # sparse: 20 GiB that take no disk
    with pytest.raises(
        EvidenceError, match=r"huge.tar: 21,474,836,480 bytes: an archive within these limits is at most"
    ):
        read(path)
    message = refuse(tmp_path, bytes(2 * RECORD), f"at most {cap:,}", max_members=1, max_total_bytes=10)
    assert "at byte" not in message


def test_truncated_and_empty(tmp_path: Path) -> None:
    whole = archive_bytes(FIVE)
    refuse(tmp_path, b"", "bundle.tar: an empty file, not a tar archive")
    assert [at for at, _, _ in _layout(FIVE)] == [0, 2048, 3072, 4608, 5632]  # ends at 6,656
    refuse(tmp_path, whole[:100], "header at byte 0: truncated (100 of 512 bytes)")
    refuse(tmp_path, whole[:1000], "bundle.tar: dossier/dossier.pdf: truncated: 488 of 1,300 bytes")
    refuse(tmp_path, whole[:1900], "dossier/dossier.pdf: truncated in the padding after its data")
    refuse(tmp_path, whole[:2148], "header at byte 2,048: truncated (100 of 512 bytes)")
    refuse(tmp_path, whole[:6656], "truncated at byte 6,656: no end-of-archive marker")
    refuse(tmp_path, whole[:7400], "truncated in the end-of-archive marker at byte 6,656")
    refuse(tmp_path, whole[:-1], "truncated: 10,239 bytes, not a whole number of 10,240-byte tar records")
    path = tmp_path / "empty.tar"
    path.write_bytes(bytes(RECORD))  # an archive of nothing, as `tar -cf x.tar -T /dev/null` writes
    assert read(path) == {}


def test_header_checksum(tmp_path: Path) -> None:
    good = header(b"record.json", size=2)
    bad = good[:148] + b"%06o\x00 " % (int(good[148:154], 8) + 1) + good[156:]
    refuse(tmp_path, tar(bad + b"{}" + bytes(510)), "header at byte 0: the header checksum does not match")
    for field in (b"      \x00 ", b"0001234\x00", b"00\x80123\x00 ", b"\x00" * 8):
        refuse(tmp_path, tar(entry(b"a", checksum=field)), "header at byte 0: the checksum field is malformed")
    # Sun tar summed signed bytes; tarfile accepts either sum. POSIX says unsigned, and so do we.
    name = "ü".encode() * 10
    signed = sum(b - 256 if b > 127 else b for b in header(name, checksum=b" " * 8))
    refuse(tmp_path, tar(header(name, checksum=b"%06o\x00 " % signed)), "the header checksum does not match")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", b"\x80" + bytes(10) + b"\x05"),  # GNU base-256
        ("size", b"-0000000001\x00"),
        ("size", b"0o17\x00"),
        ("size", b"1_0\x00"),
        ("size", b"     12\x00"),
        ("size", b"\x00" * 12),
        ("size", b"12\x0034\x00"),
        ("mode", b"0000648\x00"),
        ("uid", b"root\x00"),
        ("mtime", b"\xff" * 12),
        ("devmajor", b"x\x00"),
    ],
)
def test_numbers_only_as_posix_writes_them(tmp_path: Path, field: str, value: bytes) -> None:
    refuse(
        tmp_path, tar(entry(b"a", b"", **{field: value})), f"bundle.tar: a: the {field} field is not an octal number"
    )


def test_bytes_nobody_checks_are_refused(tmp_path: Path) -> None:
    refuse(tmp_path, tar(entry(b"a", b"1", linkname=b"b")), "a: a link name on a regular file")
    refuse(tmp_path, tar(entry(b"a", b"1", uname=b"root\x00hidden")), "a: bytes after the NUL that ends the user")
    refuse(tmp_path, tar(entry(b"a", b"1", tail=b"hidden")), "a: bytes other than zeros at the end of its header")
    padded = header(b"a", size=1) + b"1" + b"hidden" + bytes(505)
    refuse(tmp_path, tar(padded), "bundle.tar: a: bytes other than zeros in the padding after its data")


def test_trailing_garbage_after_the_end_marker(tmp_path: Path) -> None:
    whole = archive_bytes({"a": b"1"})
    refuse(tmp_path, whole[:-1] + b"!", "bytes after the end-of-archive marker, at byte 10,239")
    refuse(
        tmp_path, whole + b"#!/bin/sh\n" + bytes(RECORD - 10), "bytes after the end-of-archive marker, at byte 10,240"
    )
    refuse(tmp_path, whole + bytes(RECORD), "more than a record's zero padding")
    refuse(tmp_path, whole + archive_bytes({"b": b"2"}), "bytes after the end-of-archive marker")
    # A single zero block, then more members: tar's --ignore-zeros (tarfile's ignore_zeros) reads on.
    hidden = entry(b"a", b"1") + bytes(BLOCK) + entry(b"b", b"2")
    refuse(tmp_path, tar(hidden), "a lone zero block at byte 1,024")


def test_compressed_and_other_formats(tmp_path: Path) -> None:
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros in 64 KiB
    started = time.monotonic()
    refuse(tmp_path, bomb, "gzip-compressed: a bundle is an uncompressed POSIX tar archive")
    assert time.monotonic() - started < 2  # never inflated
    valid = archive_bytes(FIVE)
    refuse(tmp_path, gzip.compress(valid), "gzip-compressed")
    refuse(tmp_path, bz2.compress(valid), "bzip2-compressed")
    refuse(tmp_path, lzma.compress(valid), "xz-compressed")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("record.json", "{}")
    refuse(tmp_path, out.getvalue(), "a zip file")
    refuse(tmp_path, b"%PDF-1.7\n" + bytes(RECORD), "header at byte 0: not a POSIX ustar header")
    refuse(tmp_path, tar(entry(b"a", magic=b"ustar\x00\x00\x00")), "not a POSIX ustar header")


def test_the_archive_must_be_a_regular_file(tmp_path: Path) -> None:
    real = tmp_path / "real.tar"
    write_archive(real, {"a": b"1"})
    link = tmp_path / "link.tar"
    link.symlink_to(real)
    with pytest.raises(EvidenceError, match=r"link.tar: a symbolic link: an archive is read only from a regular file"):
        read(link)
    fifo = tmp_path / "fifo.tar"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError, match=r"fifo.tar: not a regular file"):
        read(fifo)  # at once: no writer is waited for
    with pytest.raises(EvidenceError, match=r"not a regular file"):
        read(tmp_path)
    with pytest.raises(EvidenceError, match=r"/dev/zero: not a regular file"):
        read(Path("/dev/zero"))
    with pytest.raises(InputFileError, match=r"missing.tar: cannot read: no such file") as caught:
        read(tmp_path / "missing.tar")
    assert caught.value.exit_code == 2


def test_tarfile_would_have_read_a_corrupt_archive(tmp_path: Path) -> None:
    """Why the reader is not tarfile: a corrupt third header ends tarfile's listing without an error."""
    whole = bytearray(archive_bytes(FIVE))
    third = _layout(FIVE)[2][0]
    whole[third + 10] ^= 0xFF
    with tarfile.open(fileobj=io.BytesIO(bytes(whole))) as tf:
        assert len(tf.getmembers()) == 2
    refuse(tmp_path, bytes(whole), f"header at byte {third:,}: the header checksum does not match")


# Every byte of a five-member archive: flipped, and cut


def _layout(members: dict[str, bytes]) -> list[tuple[int, int, str]]:
    """(header offset, data offset, name) of each member in `archive_bytes(members)`."""
    found, at = [], 0
    for name in sorted(members):
        found.append((at, at + BLOCK, name))
        at += BLOCK + len(members[name]) + -len(members[name]) % BLOCK
    return found


def test_every_byte_flipped(tmp_path: Path) -> None:
    """Changed anywhere but in a member's data: refused; in its data: that member's bytes differ and
    nothing else does (the statement's hashes catch it). Never a crash, never a short member."""
    whole = archive_bytes(FIVE)
    data_of = {}
    for _, start, name in _layout(FIVE):
        data_of.update({at: name for at in range(start, start + len(FIVE[name]))})
    path = tmp_path / "bundle.tar"
    refused = returned = 0
    for at in range(len(whole)):
        for mask in (0x01, 0xFF) if at not in data_of else (0x01,):
            changed = bytearray(whole)
            changed[at] ^= mask
            path.write_bytes(changed)
            try:
                got = read_archive(path)
            except EvidenceError as exc:
                assert at not in data_of, f"byte {at}: {exc.message}"
                assert exc.message.startswith(f"{path}: ") and "\n" not in exc.message
                refused += 1
                continue
            assert at in data_of, f"byte {at} ^ {mask:#x} was accepted"
            name = data_of[at]
            assert got.keys() == FIVE.keys() and got[name] != FIVE[name] and len(got[name]) == len(FIVE[name])
            assert {k: v for k, v in got.items() if k != name} == {k: v for k, v in FIVE.items() if k != name}
            returned += 1
    assert returned == sum(map(len, FIVE.values()))
    assert refused == 2 * (len(whole) - returned)


def test_every_truncation_is_refused(tmp_path: Path) -> None:
    whole = archive_bytes(FIVE)
    path = tmp_path / "bundle.tar"
    for length in range(len(whole)):
        path.write_bytes(whole[:length])
        with pytest.raises(EvidenceError) as caught:
            read_archive(path)
        assert "\n" not in caught.value.message


# Fuzzing: valid archives, mutated

POOL = ["record.json", "report/check.json", "logs/stdout.log", "logs/stderr.log", "dossier/dossier.pdf", LONG]
FIELDS = {
    "name": (0, 100),
    "mode": (100, 108),
    "size": (124, 136),
    "mtime": (136, 148),
    "checksum": (148, 156),
    "type": (156, 157),
    "linkname": (157, 257),
    "magic": (257, 265),
    "uname": (265, 297),
    "devmajor": (329, 337),
    "prefix": (345, 500),
    "tail": (500, 512),
}
ODD = {
    "name": [
        b"../x",
        b"/etc/passwd",
        b"a\\b",
        b"C:x",
        b"\xff",
        b"a\x00b",
        b"record.json",
        b"RECORD.JSON",
        b"",
        b"logs",
    ],
    "size": [
        *(b"%011o\x00" % n for n in (0, 1, 511, 512, 513, 1 << 20, 1 << 30, 8**11 - 1)),
        b"\x80" + bytes(10) + b"\x01",
        b"-0000000001\x00",
        b"777777777777",
        b"",
    ],
    "type": [b"0", b"1", b"2", b"3", b"5", b"6", b"7", b"x", b"g", b"L", b"K", b"S", b"\x00", b"V"],
    "magic": [b"ustar  \x00", b"", b"ustar\x0000"],
    "linkname": [b"/etc/passwd", b"../../x"],
    "prefix": [b"..", b"a", b"/", b"logs", b"\xc3"],
}


def _fixed(data: bytearray, at: int) -> None:
    """Give the header at `at` a right checksum, so a mutation gets past that first check."""
    block = data[at : at + BLOCK]
    if len(block) == BLOCK:
        block[148:156] = b" " * 8
        data[at + 148 : at + 156] = b"%06o\x00 " % sum(block)


@st.composite
def hostile(draw: st.DrawFn) -> tuple[bytes, dict[str, int]]:
    names = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=5))
    members = {name: draw(st.binary(max_size=1100)) for name in names}
    data = bytearray(archive_bytes(members))
    headers = [at for at, _, _ in _layout(members)] or [0]
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "field", "field", "truncate", "append", "insert", "copy", "zeros"]))
        if action == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        elif action == "field":
            at = draw(st.sampled_from(headers))
            field = draw(st.sampled_from(sorted(FIELDS)))
            start, end = FIELDS[field]
            value = draw(st.sampled_from(ODD[field]) | st.binary(max_size=end - start)) if field in ODD else None
            value = value if value is not None else draw(st.binary(max_size=end - start))
            data[at + start : at + end] = value[: end - start].ljust(end - start, b"\x00")
            if draw(st.booleans()):
                _fixed(data, at)
        elif action == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif action == "append":
            data += draw(
                st.binary(max_size=600) | st.sampled_from([bytes(BLOCK), bytes(RECORD), archive_bytes({"z": b"1"})])
            )
        elif action == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=BLOCK))
        elif action == "copy" and len(headers) > 1:  # a member's blocks again: a duplicate, or a reorder
            first, second = sorted(draw(st.lists(st.sampled_from(headers), min_size=2, max_size=2, unique=True)))
            data[second:second] = data[first:second]
        elif action == "zeros":
            at = draw(st.sampled_from(headers))
            data[at:at] = bytes(BLOCK * draw(st.integers(1, 2)))
    if draw(st.integers(0, 9)) == 9:  # a tenth, compressed (Hypothesis draws 0 more often than a tenth)
        data = bytearray(gzip.compress(bytes(data)))
    limits = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "max_members": st.integers(1, 6),
                "max_member_bytes": st.integers(0, 1200),
                "max_total_bytes": st.integers(0, 4000),
            },
        )
    )
    return bytes(data), limits


@budget(300)
@given(case=hostile())
def test_fuzz_reader_returns_or_refuses(tmp_path: Path, case: tuple[bytes, dict[str, int]]) -> None:
    data, limits = case
    folder = tmp_path  # one per test, shared by its cases: each overwrites the file
    path = folder / "bundle.tar"
    path.write_bytes(data)
    try:
        got = read(path, **limits)
    except EvidenceError as exc:
        assert exc.exit_code == EXIT_UNVERIFIED
        assert exc.message.startswith(f"{path}: ") and "\n" not in exc.message and len(exc.message) < 2000
        return
    finally:
        assert sorted(folder.iterdir()) == [path]
    # Accepted: within the limits, every name safe, and tarfile (another reader) sees the very same.
    assert len(got) <= limits.get("max_members", archive.MAX_MEMBERS)
    assert all(len(v) <= limits.get("max_member_bytes", archive.MAX_MEMBER_BYTES) for v in got.values())
    assert sum(map(len, got.values())) <= limits.get("max_total_bytes", archive.MAX_TOTAL_BYTES)
    assert all(name_problem(name) is None for name in got)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert {m.name: tf.extractfile(m).read() for m in tf} == got  # type: ignore[union-attr]
