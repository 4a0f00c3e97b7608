"""A heads file longer than the 4 KiB auditor reads from its end (about 60 appends) is read, not
refused as changed; garbage after its last head is still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import EvidenceError
from auditor.store.log import HEADS, MerkleLog, entry_line


def test_a_log_of_many_appends_keeps_its_last_head(tmp_path: Path) -> None:
    log = MerkleLog(tmp_path / "log")
    log.create()
    for i in range(100):
        _, head = log.append(entry_line({"v": 1, "kind": "record", "run_id": f"RUN{i:04d}", "sha256": f"{i:064x}"}))
    assert (tmp_path / "log" / HEADS).stat().st_size > 4096
    assert log.last_head() == head and head.size == 100
    heads = tmp_path / "log" / HEADS
    heads.write_bytes(heads.read_bytes() + b"x" * 200)
    with pytest.raises(EvidenceError, match="no log head"):
        log.last_head()
