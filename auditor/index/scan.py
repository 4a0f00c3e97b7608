"""The answers read from the records themselves, every one verified: what the index must equal
(`auditor index check` compares them), and what readers fall back on when the index cannot be
opened."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from auditor.errors import AuditorError, EvidenceError, InvalidRecordError
from auditor.index.summary import RunSummary, summarize
from auditor.store.runs import RunStore


@dataclass(frozen=True)
class Scanned:
    runs: list[RunSummary]  # oldest first
    refused: list[AuditorError]  # in folder order


def scan(store: RunStore) -> Scanned:
    runs: list[RunSummary] = []
    refused: list[AuditorError] = []
    store.head()  # an earlier auditor's store, a log that does not match its head: one error, raised
    for name in store.folder_names():
        try:
            record, raw = store.load_with_bytes(name)
        except (InvalidRecordError, EvidenceError) as exc:
            refused.append(exc)
            continue
        runs.append(summarize(record, hashlib.sha256(raw).hexdigest()))
    return Scanned(runs, refused)
