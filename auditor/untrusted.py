"""Reading what the command's side wrote, and sharing folders with the container's user.

In a container run the command is an untrusted party: it writes into folders auditor later
reads on the host (the probe's output folder, the observation session). A name there may be
a symbolic link to a host file (whose content would land in the record) or a FIFO (which
would hang auditor), and a path the command logs may name any host file (whose hash would
be an oracle on it). Everything here refuses rather than follows, so a hostile command costs
a note in the record, never a crash, a hang or a leak. Local runs take the same path: there
it costs nothing.
"""

from __future__ import annotations

import errno
import os
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


def container_owner(user: str | None) -> tuple[int, int] | None:
    """The uid and gid (-1: unchanged) that files shared with the container must belong to.

    None when the container runs as auditor's own uid (and gid): nothing to change. A user
    name is refused: only the image knows which uid it stands for.
    """
    if not user:
        return None
    uid_text, _, gid_text = user.partition(":")
    if not uid_text.isdigit() or (gid_text and not gid_text.isdigit()):
        raise UsageError(
            f"--user {user}: give a numeric uid:gid (e.g. 1000:1000); auditor must give that uid "
            "access to its observation folder and cannot tell which uid a name stands for in the image"
        )
    uid, gid = int(uid_text), int(gid_text) if gid_text else -1
    if uid == os.getuid() and gid in (-1, os.getgid()):
        return None
    return uid, gid


def give_tree(root: Path, owner: tuple[int, int]) -> None:
    """Make `root` and everything under it belong to `owner` (links themselves, never their targets)."""
    uid, gid = owner
    os.chown(root, uid, gid, follow_symlinks=False)
    for folder, folders, files in os.walk(root):
        for name in (*folders, *files):
            os.chown(Path(folder, name), uid, gid, follow_symlinks=False)
