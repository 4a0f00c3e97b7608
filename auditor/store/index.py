"""Which run folders auditor wrote: an append-only index of each committed record's digest.

`STORE/index` holds one line per committed run, `RUN_ID SHA256` (the SHA-256 of its record.json),
appended under the store's lock just before the run's folder is renamed into runs/. A command run
under `auditor run` is the same user as auditor and can write into the store; a folder it plants
in runs/ is not named here, and a record it rewrites no longer has the digest named here, so
neither is ever read as a run (RunStore.verify is the one place that decides).

What this cannot stop: a command that targets auditor can append a line of its own, since the
file is as writable to it as to auditor. Issue #13 replaces this list by a tamper-evident log;
only this module and RunStore.verify change then.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from auditor.errors import StoreError
from auditor.files import UntrustedFileError, open_regular_file

INDEX_FILE = "index"
CONFLICT = "conflict"  # a run named twice with different digests: neither can be believed
_LINE = re.compile(r"^(\S+) ([0-9a-f]{64})$")


def read_index(root: Path) -> dict[str, str] | None:
    """Run id -> record SHA-256 (or CONFLICT); None when the store has no index at all.

    A line that is not `RUN_ID SHA256` vouches for nothing and is skipped (a crash can tear the
    last one); skipping it can only make a run unreadable, never make a folder readable."""
    path = root / INDEX_FILE
    try:
        with open_regular_file(path) as handle:
            text = handle.read().decode("ascii", errors="replace")
    except FileNotFoundError:
        return None
    except UntrustedFileError as exc:
        raise StoreError(f"{path}: the store's index is {exc.why}: refused") from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store's index: {exc.strerror}") from exc
    found: dict[str, str] = {}
    for line in text.split("\n"):
        match = _LINE.match(line)
        if match is None:
            continue
        run_id, digest = match.groups()
        if found.get(run_id, digest) != digest:
            digest = CONFLICT
        found[run_id] = digest
    return found


def append_index(root: Path, run_id: str, digest: str) -> None:
    """Add one run; the caller holds the store's lock. Durable before the run becomes visible."""
    if not _LINE.match(f"{run_id} {digest}"):
        raise StoreError(f"{run_id!r}: not a run id the store's index can hold")
    path = root / INDEX_FILE
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the store's index: {exc.strerror}") from exc
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"  # a line a crash cut short ends here
        os.write(fd, (b"\n" if torn else b"") + f"{run_id} {digest}\n".encode())
        os.fsync(fd)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the store's index: {exc.strerror}") from exc
    finally:
        os.close(fd)
