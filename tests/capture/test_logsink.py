"""The redacting log on a device that really refuses writes (/dev/full: ENOSPC on every write)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor.capture.logsink import RedactingLog
from auditor.capture.redact import TextRedactor

FULL = Path("/dev/full")


def test_a_failed_write_is_kept_never_raised_and_reported_once() -> None:
    reports: list[str] = []
    log = RedactingLog(FULL, TextRedactor([]), on_failure=reports.append)
    log.write(b"first line\n")  # the pump thread must survive this: it is the only reader of the pipe
    log.write(b"x" * (2 << 20))
    log.write(b"more\n")
    log.close()
    assert log.failure == "No space left on device"
    assert reports == ["full could not be written (No space left on device)"]
    assert log.bytes == 0
    assert log.sha256 == hashlib.sha256(b"").hexdigest()  # what is on disk, not what was meant to be
    assert log.lost == len(b"first line\n") + (2 << 20) + len(b"more\n")
    assert log.notes() == (
        f"full is incomplete: writing it failed after 0 bytes (No space left on device); {log.lost} more "
        "bytes of output were not kept",
    )


def test_bytes_and_hash_describe_exactly_what_reached_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stdout.log"
    log = RedactingLog(path, TextRedactor(["hunter2-secret-value"]))
    log.write(b"token hunter2-secret-value\npartial")
    log.close()
    stored = path.read_bytes()
    assert b"hunter2" not in stored and stored.endswith(b"partial")
    assert (log.bytes, log.sha256, log.failure, log.notes()) == (
        len(stored),
        hashlib.sha256(stored).hexdigest(),
        None,
        (),
    )
