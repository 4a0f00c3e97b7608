"""Log files that mask secrets on the way to disk, line by line."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import BinaryIO

from auditor.capture.redact import TextRedactor

# A line longer than this is redacted in pieces; a secret split across the cut may survive,
# so the cut is made at whitespace when there is any.
MAX_PENDING = 1 << 20


class RedactingLog:
    """Accepts raw chunks, writes redacted complete lines, counts bytes and redactions."""

    def __init__(self, path: Path, redactor: TextRedactor) -> None:
        self.path = path
        self._redactor = redactor
        self._file: BinaryIO = path.open("wb")
        self._pending = b""
        self._sha = hashlib.sha256()
        self._lock = threading.Lock()  # the pump thread writes while the capturing thread may close
        self.closed = False
        self.dropped = 0  # bytes that arrived after close (a background process still writing)
        self.bytes = 0
        self.redactions = 0

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self.closed:
                self.dropped += len(chunk)
                return
            self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        self._pending += chunk
        cut = self._pending.rfind(b"\n")
        if cut < 0 and len(self._pending) > MAX_PENDING:
            cut = max(self._pending.rfind(b" "), MAX_PENDING // 2)
        if cut >= 0:
            ready, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._emit(ready)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            if self._pending:
                self._emit(self._pending)
                self._pending = b""
            self._file.flush()
            self._file.close()
            self.closed = True

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def _emit(self, data: bytes) -> None:
        text, count = self._redactor(data.decode("utf-8", "surrogateescape"))
        out = text.encode("utf-8", "surrogateescape")
        self.redactions += count
        self.bytes += len(out)
        self._sha.update(out)
        self._file.write(out)
