"""The file-backed log: appends and proofs agree with the RFC maths, a crash's leftovers are
repaired by the next writer, and what no crash leaves is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.errors import EvidenceError, UsageError
from auditor.store import merkle
from auditor.store.audit import check_log
from auditor.store.log import (
    BATCH_MAX,
    ENTRIES,
    HEADS,
    OFFSETS,
    InclusionProof,
    LogHead,
    MerkleLog,
    build,
    entry_line,
    level_name,
)


def line(i: int) -> bytes:
    return entry_line({"v": 1, "kind": "record", "run_id": f"RUN{i:04d}", "sha256": f"{i:064x}"})


def filled(tmp_path: Path, n: int) -> MerkleLog:
    log = MerkleLog(tmp_path / "log")
    log.create()
    for i in range(n):
        log.append(line(i))
    return log


def root_of(n: int) -> str:
    return merkle.root([merkle.leaf_hash(line(i)) for i in range(n)]).hex()


def clean(log: MerkleLog) -> None:
    """Everything recomputed from the entries agrees with every stored file, and nothing is left over."""
    result = check_log(log)
    assert result.problems == [] and result.notes == []


def test_appends_give_the_rfc_heads_and_proofs(tmp_path: Path) -> None:
    log = MerkleLog(tmp_path / "log")
    log.create()
    assert log.last_head() == LogHead(0, merkle.EMPTY_ROOT.hex())
    for i in range(33):
        index, head = log.append(line(i))
        assert (index, head) == (i, LogHead(i + 1, root_of(i + 1)))
        assert log.head() == head and log.entry(i) == line(i)
    view = log.view()
    assert [h.size for h in view.heads] == list(range(1, 34))
    for i in range(33):
        assert log.prove(i).verify() and view.inclusion(i).verify()
        assert view.inclusion(i).proof == [
            p.hex() for p in merkle.inclusion_proof(i, [merkle.leaf_hash(x) for x in view.lines])
        ]
        assert view.covering_head(i) == LogHead(i + 1, root_of(i + 1))  # the head printed right after it
        assert view.consistency(view.heads[i]).verify()
    assert (tmp_path / "log" / HEADS).read_text().splitlines()[-1] == f"33 {root_of(33)}"
    clean(log)
    built = build(tmp_path / "built", [line(i) for i in range(33)])
    assert built == log.last_head()
    for name in (ENTRIES, OFFSETS, *(level_name(k) for k in range(6))):
        assert (tmp_path / "built" / name).read_bytes() == (tmp_path / "log" / name).read_bytes(), name


def test_the_inclusion_proof_json_round_trips_and_verifies(tmp_path: Path) -> None:
    proof = filled(tmp_path, 5).prove(3)
    data = json.loads(proof.to_json())
    assert data == {
        "log": "auditor-rfc6962-sha256",
        "leaf_index": 3,
        "tree_size": 5,
        "leaf": line(3).decode(),
        "proof": proof.proof,
        "root": root_of(5),
    }
    assert InclusionProof.from_json(proof.to_json()) == proof
    forged = InclusionProof.from_json(proof.to_json().replace(b"RUN0003", b"RUN0004"))
    assert not forged.verify()
    for bad, why in (
        (b"[]", "not an inclusion proof"),
        (b"{", "not JSON"),
        (proof.to_json().replace(b'"leaf_index":3', b'"leaf_index":true'), "integers"),
    ):
        with pytest.raises(ValueError, match=why):
            InclusionProof.from_json(bad)


def test_a_head_is_parsed_or_refused_in_one_line() -> None:
    assert LogHead.parse(f"12:{'AB' * 32}") == LogHead(12, "ab" * 32)
    for text in ("12", f"x:{'ab' * 32}", "3:abc", f"-1:{'ab' * 32}"):
        with pytest.raises(UsageError, match=r"--head: .* is not a log head \(SIZE:ROOT"):
            LogHead.parse(text)


# --- crashes: what a killed writer leaves, the next writer repairs -------------------------------------


def test_a_torn_entry_line_is_cut_by_the_next_writer(tmp_path: Path) -> None:
    log = filled(tmp_path, 5)
    with (log.folder / ENTRIES).open("ab") as handle:
        handle.write(line(99)[:20])  # killed inside its write: no newline, no head
    assert log.view().lines == [line(i) for i in range(5)]  # readers trust the head, never the tail
    assert log.append(line(5)) == (5, LogHead(6, root_of(6)))
    clean(log)


def test_an_entry_without_its_head_is_cut_by_the_next_writer(tmp_path: Path) -> None:
    """Killed after the entry, its offset and its level hashes, before its head (so before the run's
    rename): the entry names a run that never arrived, and the next writer takes its place."""
    log = filled(tmp_path, 7)
    heads = (log.folder / HEADS).read_bytes()
    log.append(line(99))
    (log.folder / HEADS).write_bytes(heads + b"8 " + b"0" * 20)  # and the head line itself torn
    assert log.last_head() == LogHead(7, root_of(7))
    assert log.view().lines == [line(i) for i in range(7)]
    assert log.append(line(7)) == (7, LogHead(8, root_of(8)))
    assert log.entry(7) == line(7)
    clean(log)


@pytest.mark.parametrize("lost", ["leaf hashes", "a level file", "offsets"])
def test_lost_hashes_are_recomputed_from_the_entries(tmp_path: Path, lost: str) -> None:
    """Files a crash (or a hand) lost below the head: readers recompute the tree in memory, and the
    next writer rewrites them from the entries, which must give the head's root."""
    log = filled(tmp_path, 11)
    if lost == "leaf hashes":
        os.truncate(log.folder / level_name(0), 32 * 8)
    elif lost == "a level file":
        (log.folder / level_name(1)).unlink()
    else:
        os.truncate(log.folder / OFFSETS, 8 * 3)
    view = log.view()
    assert all(view.inclusion(i).verify() for i in range(11))
    assert log.append(line(11)) == (11, LogHead(12, root_of(12)))
    clean(log)


# --- what no crash leaves --------------------------------------------------------------------------------


def test_a_batch_a_crash_left_beyond_the_head_is_cut(tmp_path: Path) -> None:
    """append_many makes the entries durable before their heads: a crash between leaves up to a
    batch of entries (the last one torn) beyond the last head, which the next writer cuts."""
    log = filled(tmp_path, 3)
    with (log.folder / ENTRIES).open("ab") as handle:
        handle.write(line(8) + b"\n" + line(9) + b"\n" + line(10)[:5])
    assert log.view().lines == [line(i) for i in range(3)]
    assert log.append(line(3)) == (3, LogHead(4, root_of(4)))
    clean(log)


def test_a_batch_commits_with_one_head_per_entry(tmp_path: Path) -> None:
    log = filled(tmp_path, 5)
    first, heads = log.append_many([line(i) for i in range(5, 5 + 20)])
    assert first == 5
    assert heads == [LogHead(size, root_of(size)) for size in range(6, 26)]
    assert log.view().heads[-20:] == heads
    clean(log)
    with pytest.raises(ValueError, match="a batch holds 1 to"):
        log.append_many([line(0)] * (BATCH_MAX + 1))


def test_more_than_a_batch_beyond_the_head_is_refused(tmp_path: Path) -> None:
    log = filled(tmp_path, 3)
    with (log.folder / ENTRIES).open("ab") as handle:
        handle.write(b"".join(line(i) + b"\n" for i in range(8, 8 + BATCH_MAX + 1)))
    with pytest.raises(
        EvidenceError, match=r"entries: holds more than one batch of entries beyond the log's last head \(3\)"
    ):
        log.append(line(3))
    assert log.last_head().size == 3


def test_a_truncated_or_changed_log_is_refused_by_readers_and_writers(tmp_path: Path) -> None:
    log = filled(tmp_path, 6)
    entries = log.folder / ENTRIES
    data = entries.read_bytes()
    entries.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 1])  # the last entry gone
    with pytest.raises(EvidenceError, match=r"entries: holds 5 entries, fewer than its last head counts \(6\)"):
        log.view()
    with pytest.raises(EvidenceError, match="the log was truncated"):
        log.append(line(6))
    entries.write_bytes(data)
    level = log.folder / level_name(1)
    level.write_bytes(b"\xff" * 32 + level.read_bytes()[32:])  # a hash off the root's path: proofs through it fail
    assert not log.view().inclusion(2).verify() and log.view().inclusion(4).verify()
    why = "hash 0 is not the one recomputed from the entries: the log was changed"
    assert check_log(log).problems == [f"{level}: {why}"]
    level = log.folder / level_name(2)
    level.write_bytes(b"\xff" * 32)  # a hash on the root's path
    for act in (log.head, log.view, lambda: log.append(line(6))):
        with pytest.raises(EvidenceError, match=r"heads: the log's tree is not the one its last head 6:"):
            act()


def test_a_log_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    log = filled(tmp_path, 2)
    target = tmp_path / "elsewhere"
    target.write_bytes((log.folder / ENTRIES).read_bytes())
    (log.folder / ENTRIES).unlink()
    (log.folder / ENTRIES).symlink_to(target)
    with pytest.raises(EvidenceError, match="entries: a symbolic link, not the store's log file: refused"):
        log.append(line(2))
    assert target.read_bytes().count(b"\n") == 2  # nothing written through it
