"""`auditor store migrate`: move a store an earlier auditor wrote onto the tamper-evident log.

Never done silently: every reader refuses an earlier store (exit 2) until this runs once.

- A store of the previous version keeps `STORE/index`, one `RUN_ID SHA256` line per committed run.
  Each indexed run's record.json is hashed again first; one whose bytes are not the ones the index
  gives (or that the index names twice, differently) is reported and left out of the log.
- An older store keeps neither: its folders cannot be told from ones a run planted, so they are
  adopted only with --adopt-unindexed, and only a real folder holding a regular record.json named
  by its own run id. Adopt only a store whose runs you trust.

The new log is written beside the store (`log.new/`), made durable, and renamed into place; only
then does store.json say version 2 and the index go. A crash before the rename leaves the earlier
store as it was (a leftover `log.new/` is removed by the next migrate).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import EXIT_UNVERIFIED, EXIT_USAGE, InvalidRecordError, StoreError, UsageError
from auditor.files import UntrustedFileError, fsync_dir, read_regular_file, write_atomic
from auditor.store.log import LOG_DIR, LogHead, build
from auditor.store.runs import (
    LEGACY_INDEX,
    RECORD_FILE,
    STORE_FORMAT,
    STORE_MARKER,
    STORE_VERSION,
    RunStore,
    check_named,
    marker_version,
    record_entry,
)

CONFLICT = "conflict"  # a run the index names twice with different digests: neither can be believed
INDEX_MAX_BYTES = 1 << 30
_INDEX_LINE = re.compile(r"^(\S+) ([0-9a-f]{64})$")


@dataclass
class Migration:
    head: LogHead
    migrated: list[str] = field(default_factory=list)
    left_out: list[tuple[str, int]] = field(default_factory=list)  # (one line naming the folder, exit code)


def read_legacy_index(root: Path) -> dict[str, str] | None:
    """Run id -> record SHA-256 (or CONFLICT) from an earlier store's index; None when it has none.
    A line that is not `RUN_ID SHA256` (a crash can tear the last one) vouches for nothing."""
    path = root / LEGACY_INDEX
    try:
        text = read_regular_file(path, INDEX_MAX_BYTES).decode("ascii", errors="replace")
    except FileNotFoundError:
        return None
    except UntrustedFileError as exc:
        raise StoreError(f"{path}: the store's index is {exc.why}: refused") from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store's index: {exc.strerror}") from exc
    found: dict[str, str] = {}
    for line in text.split("\n"):
        match = _INDEX_LINE.match(line)
        if match is None:
            continue
        run_id, digest = match.groups()
        if found.get(run_id, digest) != digest:
            digest = CONFLICT
        found[run_id] = digest
    return found


def migrate(store: RunStore, *, adopt_unindexed: bool = False) -> Migration:
    """Build the log of an earlier store's runs, under the store's lock."""
    root = store.root
    with store.locked():
        if (root / LOG_DIR).is_dir():
            raise UsageError(f"{root}: already keeps a log: nothing to migrate")
        if (marker_version(root / STORE_MARKER) or 0) >= STORE_VERSION:  # its log was removed: never rebuilt
            store.check_format()
        index = read_legacy_index(root)
        names = store.folder_names() if store.runs_dir.is_dir() else []
        if index is None and names and not adopt_unindexed:
            raise UsageError(
                f"{root}: a store of an older auditor (no index, no log): its folders cannot be told from planted "
                "ones; pass --adopt-unindexed to adopt them, once you trust its runs"
            )
        lines: list[bytes] = []
        result = Migration(head=LogHead(0, ""))
        for name in names:
            folder = store.runs_dir / name
            try:
                raw = store.read_folder(name)
                check_named(raw, name, folder / RECORD_FILE)
            except InvalidRecordError as exc:
                result.left_out.append((f"{exc.message}: left out", EXIT_USAGE))
                continue
            digest = hashlib.sha256(raw).hexdigest()
            expected = index.get(name) if index is not None else None
            if expected == CONFLICT:
                result.left_out.append(
                    (
                        f"{folder}: the store's index names this run twice, with different records: left out",
                        EXIT_UNVERIFIED,
                    )
                )
                continue
            if expected is not None and expected != digest:
                why = f"changed since auditor recorded it (its sha256 is {digest}; the store's index says {expected})"
                result.left_out.append((f"{folder / RECORD_FILE}: {why}: left out", EXIT_UNVERIFIED))
                continue
            if expected is None and not adopt_unindexed:
                why = "not in the store's index (not a run auditor recorded; --adopt-unindexed adopts it)"
                result.left_out.append((f"{folder}: {why}: left out", EXIT_USAGE))
                continue
            lines.append(record_entry(name, digest))
            result.migrated.append(name)
        staged = root / "log.new"
        if os.path.lexists(staged):  # a migration a crash stopped before its rename
            if not stat.S_ISDIR(os.lstat(staged).st_mode):
                raise StoreError(f"{staged}: not the folder an interrupted migration leaves: remove it, then migrate")
            shutil.rmtree(staged)
        result.head = build(staged, lines)
        fsync_dir(root)
        staged.rename(root / LOG_DIR)
        fsync_dir(root)
        write_atomic(root / STORE_MARKER, (json.dumps(STORE_FORMAT, sort_keys=True) + "\n").encode())
        (root / LEGACY_INDEX).unlink(missing_ok=True)
    return result
