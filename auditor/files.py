"""Files at the edge: reading what untrusted parties wrote, and writing complete-or-absent files.

Reading.
In a container run the command is an untrusted party: it writes into folders auditor later
reads on the host (the probe's output folder, the observation session). A name there may be
a symbolic link to a host file (whose content would land in the record) or a FIFO (which
would hang auditor), and a path the command logs may name any host file (whose hash would
be an oracle on it). Everything here refuses rather than follows, so a hostile command costs
a note in the record, never a crash, a hang or a leak. Local runs take the same path: there
it costs nothing.

User input. The files a user names or keeps in the project (auditor.yaml, rule packs, waivers,
requirements files, record files, ingest sources) go through `read_input`: a symbolic link is fine
there (the user made it), but what it leads to must be a regular file of bounded size. A FIFO would
hang auditor and /dev/zero would fill its memory; both are one line naming the file, exit 2.

Writing. Every file auditor writes (records, caches, the dossier, a report named with `-o`) goes
through `write_atomic`: a temporary file in the same folder, fsynced, then one rename, so a
reader never sees half a file, even if auditor is killed. Files for the user get the usual
permissions (0666 less the umask); private ones (the store's salt) ask for their own mode.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from auditor.errors import UsageError

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class UntrustedFileError(OSError):
    """A file the command's side wrote that auditor refuses to read; `why` says why, briefly."""

    def __init__(self, path: str | os.PathLike[str], why: str) -> None:
        super().__init__(errno.EPERM, why, os.fspath(path))
        self.why = why

    def __str__(self) -> str:
        return f"{self.filename}: {self.why}"


@contextmanager
def open_regular_file(path: str | os.PathLike[str], dir_fd: int | None = None) -> Iterator[BinaryIO]:
    """`path` opened for reading, only if it is a regular file itself (not a link to one).

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; fstat on
    the open descriptor then refuses it, so nothing can be swapped in between check and read.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UntrustedFileError(path, "a symbolic link") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UntrustedFileError(path, "not a regular file")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, dir_fd: int | None = None) -> bytes:
    """The bytes of a regular file (never through a final symbolic link), at most max_bytes."""
    with open_regular_file(path, dir_fd=dir_fd) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UntrustedFileError(path, f"larger than {max_bytes} bytes")
    return data


@contextmanager
def open_folder(path: str | os.PathLike[str], dir_fd: int | None = None) -> Iterator[int]:
    """A descriptor of the folder `path` (not a link to one), for opening names inside it."""
    try:
        fd = os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UntrustedFileError(path, "not a folder") from exc
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def within(path: str | os.PathLike[str], roots: Sequence[Path], hidden: Sequence[Path] = ()) -> bool:
    """Whether the real path of `path` (every link resolved) lies in a real root and no hidden folder."""
    real = Path(os.path.realpath(path))

    def under(folder: Path) -> bool:
        top = Path(os.path.realpath(folder))
        return real == top or top in real.parents

    return any(under(r) for r in roots) and not any(under(h) for h in hidden)


class InputFileError(UsageError):
    """A file the user gave that auditor will not read: one line naming the file and why (exit 2)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_input(path: str | os.PathLike[str], what: str, max_bytes: int) -> bytes:
    """The bytes of `what` (e.g. "a rule pack"), a file the user named: links followed, but the
    file reached must be a regular file of at most max_bytes; anything else is an InputFileError.

    The kind is checked before opening (opening some devices has effects of its own) and again on
    the open descriptor (the name may have been swapped in between); O_NONBLOCK makes even that
    open of a FIFO return at once, so nothing here can wait for a writer."""
    try:
        _check_kind(path, what, Path(path).stat().st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputFileError(path, os_problem(exc)) from exc
    try:
        info = os.fstat(fd)
        _check_kind(path, what, info.st_mode)
        if info.st_size > max_bytes:
            raise InputFileError(path, f"{info.st_size:,} bytes: {what} may be at most {size_text(max_bytes)}")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    chunks: list[bytes] = []
    total = 0
    try:
        with handle:  # in chunks, not read(max_bytes + 1), which allocates the whole cap up front
            while total <= max_bytes and (chunk := handle.read(min(1 << 20, max_bytes + 1 - total))):
                chunks.append(chunk)
                total += len(chunk)
    except OSError as exc:
        raise InputFileError(path, os_problem(exc)) from exc
    data = b"".join(chunks)
    if len(data) > max_bytes:  # the file grew after fstat
        raise InputFileError(path, f"more than {size_text(max_bytes)}: {what} may be at most {size_text(max_bytes)}")
    return data


def read_input_text(path: str | os.PathLike[str], what: str, max_bytes: int) -> str:
    """`read_input` decoded as UTF-8, exactly (so `.encode()` gives back the bytes read, and their
    hash); bytes that are not UTF-8 are an InputFileError."""
    data = read_input(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text (byte {exc.start})") from exc


def _check_kind(path: str | os.PathLike[str], what: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise InputFileError(path, f"{kind}: {what} is read only from a regular file")


def os_problem(exc: OSError) -> str:
    """An OSError as a few words; a name too long for the file system is the user's input, not a bug."""
    words = {errno.ENAMETOOLONG: "file name too long", errno.ENOENT: "no such file"}
    return f"cannot read: {words.get(exc.errno or 0) or exc.strerror or exc}"


def size_text(size: int) -> str:
    """1048576 -> '1 MiB', the way the README's table of caps writes them."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,} bytes"


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether anything is at `path` (a dangling link counts); a name too long for the file system
    is a usage error naming it, not an internal error, as `Path.is_file()` would make it."""
    try:
        os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise InputFileError(path, "file name too long") from exc
        return False
    return True


def write_atomic(path: Path, data: bytes, *, mode: int = 0o666, durable: bool = True) -> None:
    """Write via a temporary file in the same folder and rename: complete or absent.

    `mode` is filtered by the umask as for any new file. `durable` fsyncs the file and its folder
    (records, reports); a cache that is only a speed-up may skip that."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync_dir(path.parent)


def write_output(path: Path, data: bytes) -> None:
    """A file the user named (`-o`): atomically when it is (or will be) a regular file, straight
    into it when it is a device, a pipe or a terminal (renaming over /dev/null would replace it)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from exc
    try:
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"{path}: is a folder, not a file")
        if mode is not None and not stat.S_ISREG(mode):
            with path.open("wb") as handle:
                handle.write(data)
            return
        write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def write_synced(fd: int, data: bytes) -> None:
    """All of `data` written at `fd`'s position (os.write may write less than asked), then fsynced."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
