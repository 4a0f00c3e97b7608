"""Writing ingested runs: an all-or-nothing commit of each record, after the same secret
redaction as a captured run, and the earlier ingests a new one must not duplicate.

A source run read again is the same run, but not always the same evidence: `--rehash` adds
hashes and workspace findings, a newer auditor reads more of the tool's files. Dropping that
silently would lose evidence, and replacing the earlier record would rewrite history; so the
earlier ingests are compared by `evidence_digest` (the record without what differs on every
ingest: auditor's run id, links, the derived lineage graph, when files were hashed, auditor's
version), and a re-read that differs becomes a new record linking the latest earlier one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.capture.redact import TextRedactor
from auditor.errors import EvidenceError, InvalidRecordError
from auditor.ingest.masking import mask_named
from auditor.record.models import RunRecord
from auditor.store.runs import RunStore, Staging

VOLATILE_KEYS = frozenset({"hashed_at"})  # when auditor hashed a file, not what the source run holds
Key = tuple[str, str, str | None]  # (tool, source URI, the tool's run id)


@dataclass(frozen=True)
class Earlier:
    """One earlier ingest of a source run."""

    run_id: str
    reingests: str | None  # the ingest it re-read, if any


def existing_ingests(store: RunStore, keys: Iterable[Key] | None = None) -> dict[Key, list[Earlier]]:
    """Earlier ingests in the store, by (tool, source URI, the tool's run id), oldest first as the
    store lists them: of `keys` (the source runs being ingested) when given, else of every run.

    Read once per `auditor ingest`, under the store's lock (the caller holds it until its records
    are committed, so a concurrent ingest of the same source waits and then finds them). With
    `keys`, the run index names the candidates (`auditor.index.query.ingested`: brought up to the
    store's log first, every record it indexed verified then), so a 100,000-run store is not read
    whole to ingest one run; when the index cannot be used, every record is read, as without it.
    Each run counts only once the store verifies it now, and its key is the one its record holds:
    an index edited to name another run, or another source, never links a record wrongly (an
    ingest the edit hid is ingested again, with no link: a duplicate, never a loss). Each record
    is read as plain JSON: loading and validating every stored record made ingest quadratic."""
    if not store.runs_dir.is_dir():
        return {}
    wanted = set(keys) if keys is not None else None
    candidates = None
    if wanted is not None:
        from auditor.index.query import ingested  # the index's SQL layer: imported only by ingest

        candidates = ingested(store, wanted)
    found: dict[Key, list[Earlier]] = {}
    for run_id in store.run_ids() if candidates is None else candidates:
        try:
            data = json.loads(store.verify(run_id))
            origin = data.get("origin") or {}
            links = data.get("links") or {}
        except (InvalidRecordError, EvidenceError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(origin, dict) and origin.get("kind") == "ingested" and isinstance(links, dict):
            key = (str(origin.get("tool")), str(origin.get("source_uri")), origin.get("source_run_id"))
            if wanted is not None and key not in wanted:
                continue
            reingests = links.get("reingests")
            earlier = Earlier(run_id, reingests if isinstance(reingests, str) else None)
            found.setdefault(key, []).append(earlier)
    return found


def stored_digest(store: RunStore, run_id: str) -> str | None:
    """evidence_digest of a stored record (read again only when a new read matches its source run:
    digesting every record of a large store on each ingest would double its cost); None when it
    no longer verifies."""
    try:
        data = json.loads(store.verify(run_id))
    except (InvalidRecordError, EvidenceError, ValueError, RecursionError):
        return None
    return evidence_digest(data) if isinstance(data, dict) else None


def latest(earlier: list[Earlier]) -> Earlier:
    """The newest of a source run's ingests: the one no other re-reads (the head of the chain)."""
    reread = {e.reingests for e in earlier}
    heads = [e for e in earlier if e.run_id not in reread]
    return (heads or earlier)[-1]


def evidence_digest(data: dict[str, Any]) -> str:
    """SHA-256 of a record's evidence (its JSON form), leaving out what every ingest changes."""
    run_id = str((data.get("identity") or {}).get("run_id") or "")
    kept = {key: value for key, value in data.items() if key != "links"}
    identity = {k: v for k, v in (kept.get("identity") or {}).items() if k not in ("run_id", "auditor_version")}
    kept["identity"] = identity
    if isinstance(kept.get("lineage"), dict):
        kept["lineage"] = {k: v for k, v in kept["lineage"].items() if k != "graph"}
    text = json.dumps(_stable(kept), sort_keys=True, ensure_ascii=False)
    if run_id:
        text = text.replace(run_id, "")
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def cleaned(
    record: RunRecord, secrets: Mapping[str, str] | None = None, redactor: TextRedactor | None = None
) -> RunRecord:
    """The record as it will be stored: secrets redacted, named secrets masked, validated again.
    `redactor`: one made for `secrets`, shared by a batch (it remembers the strings it has
    redacted, and the runs of one source repeat their names and values)."""
    redactor = redactor or TextRedactor(tuple((secrets or {}).values()))
    data = record.model_dump(mode="json")
    mask_named(data)
    return RunRecord.model_validate(redactor.data(data))


def commit(store: RunStore, record: RunRecord, secrets: Mapping[str, str] | None = None) -> Path:
    """Redact, validate and write one record; nothing is left behind if any step fails."""
    clean = cleaned(record, secrets)
    staging = store.begin(clean.identity.run_id)
    try:
        return store.commit(staging, clean)
    except BaseException:
        store.discard(staging)
        raise


def commit_many(store: RunStore, records: Sequence[RunRecord], secrets: Mapping[str, str] | None = None) -> list[Path]:
    """Redact, validate and write a batch of records (at most the log's BATCH_MAX) with the
    store's syncs made once for the batch (`RunStore.commit_many`); nothing of a run is left
    visible if any step fails before its rename."""
    redactor = TextRedactor(tuple((secrets or {}).values()))
    clean = [cleaned(record, secrets, redactor) for record in records]
    store.begin_batch()
    staged: list[Staging] = []
    try:
        for record in clean:
            staged.append(store.stage(record.identity.run_id))
        return store.commit_many(list(zip(staged, clean, strict=True)))
    except BaseException:
        for staging in staged:
            store.discard(staging)
        raise
