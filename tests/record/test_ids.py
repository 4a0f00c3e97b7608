from __future__ import annotations

from auditor.record.ids import ULID_PATTERN, new_ulid, ulid_time_ms


def test_ulids_are_well_formed_unique_and_time_ordered() -> None:
    ids = [new_ulid(now_ms=1_700_000_000_000 + i) for i in range(200)]
    assert all(ULID_PATTERN.match(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(new_ulid(now_ms=5) for _ in range(1000))) == 1000
    assert ulid_time_ms(ids[7]) == 1_700_000_000_007


def test_known_encoding() -> None:
    # The spec's example timestamp: 01ARYZ6S41 encodes 1469918176385 ms.
    assert ulid_time_ms("01ARYZ6S41TSV4RRFFQ69G5FAV") == 1469918176385
    assert new_ulid(now_ms=1469918176385)[:10] == "01ARYZ6S41"
