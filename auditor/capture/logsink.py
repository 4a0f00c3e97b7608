"""Log files that mask secrets on the way to disk, line by line.

Writing a log must never stop the command's output from being read: a pump that died on a
full disk would leave the command blocked on a full pipe, and auditor waiting for it forever.
So `write` never raises. The first failure (no space, an I/O error, a read-only store) is kept
as `failure`; nothing more is written, since a log with a hole in it would read as complete;
later output is only counted (`lost`); and `on_failure` is called once, so that capture can
stop the command and record why (see capture/run.py). The file is written unbuffered, so
`bytes` and `sha256` describe exactly what is on disk, however the writing ended.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from auditor.capture.redact import TextRedactor

# A line longer than this is redacted in pieces; a secret split across the cut may survive,
# so the cut is made at whitespace when there is any.
MAX_PENDING = 1 << 20


class RedactingLog:
    """Accepts raw chunks, writes redacted complete lines, counts bytes and redactions.

    Opening may raise OSError (the store cannot take a new file): before the command runs."""

    def __init__(self, path: Path, redactor: TextRedactor, on_failure: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._redactor = redactor
        self._on_failure = on_failure
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        self._pending = b""
        self._sha = hashlib.sha256()
        self._lock = threading.Lock()  # the pump thread writes while the capturing thread may close
        self.closed = False
        self.dropped = 0  # bytes that arrived after close (a background process still writing)
        self.failure: str | None = None  # why writing stopped, if it did
        self.lost = 0  # bytes of output not in the file because writing had failed
        self.bytes = 0
        self.redactions = 0

    def write(self, chunk: bytes) -> None:
        """Never raises (see the module docstring)."""
        with self._lock:
            if self.closed:
                self.dropped += len(chunk)
                return
            if self.failure is not None:
                self.lost += len(chunk)
                return
            self._pending += chunk
            cut = self._pending.rfind(b"\n")
            if cut < 0 and len(self._pending) > MAX_PENDING:
                cut = max(self._pending.rfind(b" "), MAX_PENDING // 2)
            if cut < 0:
                return
            ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            failed = self._emit(ready)
        if failed:
            self._report()

    def close(self) -> None:
        """Writes what is left of the last line and closes the file; never raises."""
        with self._lock:
            if self.closed:
                return
            failed = False
            if self._pending and self.failure is None:
                pending, self._pending = self._pending, b""
                failed = self._emit(pending)
            try:
                os.close(self._fd)
            except OSError as exc:  # NFS and FUSE report a failed write-back here
                if self.failure is None:
                    self.failure, failed = _why(exc), True
            self.closed = True
        if failed:
            self._report()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def notes(self) -> tuple[str, ...]:
        """For the record's outputs.notes: why this log does not hold all the output (bytes that
        came after close are noted by assemble.py)."""
        if self.failure is None:
            return ()
        return (
            f"{self.path.name} is incomplete: writing it failed after {self.bytes} bytes ({self.failure}); "
            f"{self.lost} more bytes of output were not kept",
        )

    def _emit(self, data: bytes) -> bool:
        """Redact and write `data`; False, or True when this write failed (the failure is kept)."""
        out, done = b"", 0
        try:
            text, count = self._redactor(data.decode("utf-8", "surrogateescape"))
            out = text.encode("utf-8", "surrogateescape")
            self.redactions += count
            view = memoryview(out)
            while done < len(out):
                written = os.write(self._fd, view[done:])
                if written <= 0:  # pragma: no cover - a regular file reports why instead
                    raise OSError(0, "the file took no more bytes")
                self._sha.update(view[done : done + written])
                self.bytes += written
                done += written
        except Exception as exc:  # a full disk, or a bug in redaction: the pump must keep reading
            self.failure = _why(exc)
            self.lost += (len(out) - done if out else len(data)) + len(self._pending)
            self._pending = b""
            return True
        return False

    def _report(self) -> None:
        if self._on_failure is not None and self.failure is not None:
            self._on_failure(f"{self.path.name} could not be written ({self.failure})")


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"internal error {type(exc).__name__}: {exc}"
