"""Writing ingested runs: an all-or-nothing commit of each record, after the same secret
redaction as a captured run, and the earlier ingests a new one must not duplicate."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from auditor.capture.redact import TextRedactor
from auditor.errors import EvidenceError, InvalidRecordError
from auditor.ingest.masking import mask_named
from auditor.record.models import RunRecord
from auditor.store.runs import RunStore


def existing_ingests(store: RunStore) -> dict[tuple[str, str, str | None], str]:
    """Earlier ingests in the store, by (tool, source URI, the tool's run id) -> auditor's run id.

    Read once per `auditor ingest`, under the store's lock (the caller holds it until its records
    are committed, so a concurrent ingest of the same source waits and then finds them), from
    each record's `origin` as plain JSON: looking each new run up by loading and validating every
    stored record made ingest quadratic in the run count. Only runs the store verifies count; a
    record that cannot be read is skipped here, and `auditor runs` reports it."""
    found: dict[tuple[str, str, str | None], str] = {}
    if not store.runs_dir.is_dir():
        return found
    for run_id in store.run_ids():
        try:
            origin = json.loads(store.verify(run_id)).get("origin") or {}
        except (InvalidRecordError, EvidenceError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(origin, dict) and origin.get("kind") == "ingested":
            key = (str(origin.get("tool")), str(origin.get("source_uri")), origin.get("source_run_id"))
            found.setdefault(key, run_id)
    return found


def commit(store: RunStore, record: RunRecord, secrets: Mapping[str, str] | None = None) -> Path:
    """Redact, validate and write one record; nothing is left behind if any step fails."""
    redactor = TextRedactor(tuple((secrets or {}).values()))
    data = record.model_dump(mode="json")
    mask_named(data)
    clean = RunRecord.model_validate(redactor.data(data))
    staging = store.begin(clean.identity.run_id)
    try:
        return store.commit(staging, clean)
    except BaseException:
        store.discard(staging)
        raise
