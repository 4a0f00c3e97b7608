"""`auditor log verify`: the whole log recomputed from its entries and compared with every file
the store keeps (heads, level hashes, offsets, run folders), and with the heads the user gives.

Problems (exit 4) are what no crash leaves; notes are a crash's leftovers, which the next write
repairs (an entry beyond the last head, hashes a crash lost, a run whose commit was cut short).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.errors import EvidenceError, InvalidRecordError
from auditor.store import merkle
from auditor.store.log import ENTRIES, HEADS, OFFSET, OFFSETS, MerkleLog, level_name, parse_heads, read_file
from auditor.store.proofs import EMPTY_HEAD, LogHead
from auditor.store.runs import RECORD_FILE, RunStore


@dataclass
class LogCheck:
    """What `check_log` found: problems (exit 4) and notes (a crash's leftovers)."""

    head: LogHead = EMPTY_HEAD
    entries: int = 0
    heads: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tree: merkle.MemoryTree | None = None
    lines: list[bytes] = field(default_factory=list)


def check_log(log: MerkleLog, given: Sequence[LogHead] = ()) -> LogCheck:
    """Recompute the whole tree from `entries` and compare every head, given head and level hash."""
    result = LogCheck()
    heads_path, entries_path = log.path(HEADS), log.path(ENTRIES)
    heads = parse_heads(read_file(heads_path), heads_path)
    data = read_file(entries_path)
    lines = data.split(b"\n")
    torn = lines.pop()
    head = heads[-1] if heads else EMPTY_HEAD
    result.head, result.entries, result.heads = head, len(lines), len(heads)
    if len(lines) < head.size:
        result.problems.append(
            f"{entries_path}: holds {len(lines)} entries, fewer than its last head counts ({head.size}): "
            "the log was truncated"
        )
    beyond = len(lines) - head.size + (1 if torn else 0)
    if beyond > 0:
        result.notes.append(f"{entries_path}: {beyond} entry beyond the last head (a crash: the next write removes it)")
    leaves = [merkle.leaf_hash(line) for line in lines[: head.size]]
    tree = merkle.MemoryTree(leaves)
    checks = [(h, f"{heads_path}: line {i}") for i, h in enumerate(heads, 1)]
    checks += [(h, f"--head {h.text()}") for h in given]
    for claimed, where in checks:
        if claimed.size > tree.size:
            result.problems.append(
                f"{where}: head {claimed.text()} is larger than the log ({tree.size} entries): the log was "
                "truncated or rewritten"
            )
        elif (actual := tree.root(claimed.size).hex()) != claimed.root:
            result.problems.append(
                f"{where}: head {claimed.text()} is not in this log (its first {claimed.size} entries have "
                f"root {actual}): the log was rewritten"
            )
    _check_levels(log, tree, result)
    _check_offsets(log, lines[: head.size], result)
    result.tree = tree
    result.lines = lines[: head.size]
    return result


def _check_levels(log: MerkleLog, tree: merkle.MemoryTree, result: LogCheck) -> None:
    for level, hashes in enumerate(tree.levels):
        if not hashes:
            break
        path = log.path(level_name(level))
        try:
            stored = read_file(path)
        except FileNotFoundError:
            stored = b""
        for index, expected in enumerate(hashes):
            found = stored[index * merkle.HASH_SIZE : (index + 1) * merkle.HASH_SIZE]
            if len(found) < merkle.HASH_SIZE:
                result.notes.append(f"{path}: {len(hashes) - index} hashes missing (the next write recomputes them)")
                break
            if found != expected:
                result.problems.append(
                    f"{path}: hash {index} is not the one recomputed from the entries: the log was changed"
                )
                break


def _check_offsets(log: MerkleLog, lines: list[bytes], result: LogCheck) -> None:
    path = log.path(OFFSETS)
    try:
        stored = read_file(path)
    except FileNotFoundError:
        stored = b""
    end = 0
    for index, line in enumerate(lines):
        end += len(line) + 1
        found = stored[index * 8 : index * 8 + 8]
        if len(found) < 8:
            result.notes.append(f"{path}: {len(lines) - index} offsets missing (the next write recomputes them)")
            return
        if OFFSET.unpack(found)[0] != end:
            result.problems.append(f"{path}: offset {index} does not match the entries: the log was changed")
            return


def check_store(store: RunStore, given: tuple[LogHead, ...] = ()) -> LogCheck:
    """`auditor log verify`: the whole tree recomputed from the entries, every recorded and given
    head compared with it, every level hash and offset, and every run folder's record against its
    entry. Problems make exit 4; notes (a crash's leftovers, a run that never arrived) do not."""
    store.check_format()
    result = check_log(store.log, given)
    records: dict[str, set[str]] = {}
    for line in result.lines:
        try:
            fields = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(fields, dict) and fields.get("kind") == "record":
            records.setdefault(str(fields.get("run_id")), set()).add(str(fields.get("sha256")))
    names = store.folder_names() if store.runs_dir.is_dir() else []
    entries_path = store.log.path(ENTRIES)
    for name in names:
        folder = store.runs_dir / name
        try:
            raw = store.read_folder(name)
        except InvalidRecordError as exc:
            result.problems.append(exc.message)
            continue
        digests = records.get(name)
        if not digests:
            result.problems.append(
                f"{folder}: not a run auditor recorded in this store: the store's log holds no record of it"
            )
        elif len(digests) > 1:
            result.problems.append(f"{entries_path}: run {name} is recorded more than once, with different records")
        elif (actual := hashlib.sha256(raw).hexdigest()) not in digests:
            result.problems.append(
                f"{folder / RECORD_FILE}: changed since auditor recorded it: its sha256 is {actual}, the store's log "
                f"holds {next(iter(digests))}"
            )
    for run_id in sorted(set(records) - set(names)):
        staged = (store.root / "staging" / run_id).exists()
        why = "its commit was cut short (its staging folder is still there)" if staged else "removed, or never arrived"
        result.notes.append(f"{store.runs_dir / run_id}: in the log, not in the store: {why}")
    _check_signoffs(store, result)
    _check_notes(store, result)
    return result


def _check_signoffs(store: RunStore, result: LogCheck) -> None:
    """Every sign-off file against its log entry, and every logged sign-off's file: a planted,
    edited or removed sign-off is a problem, as a run's record would be."""
    from auditor.store.signoffs import SIGNOFFS_DIR, stored_signoffs

    folder = store.root / SIGNOFFS_DIR
    run_ids = {str(e.fields.get("run_id")) for e in store.entries("signoff") if isinstance(e.fields.get("run_id"), str)}
    if folder.is_dir() and not folder.is_symlink():
        run_ids |= {entry.name for entry in folder.iterdir()}
    for run_id in sorted(run_ids):
        for stored in stored_signoffs(store, run_id):
            if stored.problem is not None:
                result.problems.append(f"{stored.path}: {stored.problem}")


def _check_notes(store: RunStore, result: LogCheck) -> None:
    """Every note file against its log entry, and every logged note's file, as for sign-offs."""
    from auditor.store.notes import notes_by_run

    try:
        by_run = notes_by_run(store)
    except EvidenceError as exc:  # notes/ or a run's folder in it is a link or a file
        result.problems.append(exc.message)
        return
    for found in by_run.values():
        result.problems.extend(f"{s.path}: {s.problem}" for s in found if s.problem is not None)
