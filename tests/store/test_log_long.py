"""A log longer than the 4 KiB tail `last_head` reads (about 60 heads) still takes appends."""

from __future__ import annotations

from pathlib import Path

from auditor.store.log import MerkleLog


def test_a_log_of_more_than_sixty_heads_takes_appends(tmp_path: Path) -> None:
    log = MerkleLog(tmp_path / "log")
    for n in range(100):  # found by ingesting 1,000 runs: every append after the 62nd was refused
        log.append(b'{"n": %d}' % n)
    assert log.last_head().size == 100 and log.head().size == 100
    assert (tmp_path / "log" / "heads").stat().st_size > 4096
