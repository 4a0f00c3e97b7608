"""OpenLineage datasets as the record's datasets.

A dataset is named by its namespace and name (`postgres://host:5432` + `db.schema.table`); the
record keeps both exactly, derives a safe id from the name, and a URI where the namespace is
one. Documentation, ownership and dataSource facets fill the datasheet; the schema facet
gives the columns; dataQualityAssertions the assertions (what of it could not be read is a note);
the rest (version, lifecycle, storage, quality metrics, statistics, unknown
facets) are annotations. A dataset the job both read and wrote is recorded once, as an
output: listing it on both sides of the step would make the lineage graph a cycle.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.capture.redact import clean_url
from auditor.errors import IngestError
from auditor.ingest.ingested import not_captured
from auditor.ingest.openlineage.events import Event
from auditor.ingest.openlineage.facets import Facts, clip, merge
from auditor.record.lineage import Dataset, Datasheet, IdentityHint

MAX_RUN_DATASETS = 10_000
DATASHEET_KEYS = ("description", "source", "owner")
VERSION_MEANING = (
    "the datasetVersion the producer reported (a table snapshot, a file version...): "
    "it names a version of the data, it does not prove its bytes"
)


@dataclass
class _Seen:
    facets: list[dict[str, Facts]] = field(default_factory=list)
    read: bool = False
    written: bool = False


def build_datasets(events: Sequence[Event]) -> tuple[tuple[Dataset, ...], tuple[str, ...], tuple[str, ...], list[str]]:
    """The run's datasets, the ids the step read and wrote, and notes on what was odd."""
    seen: dict[tuple[str, str], _Seen] = {}
    for event in events:
        for role, refs in (("input", event.inputs), ("output", event.outputs)):
            for ref in refs:
                entry = seen.setdefault((ref.namespace, ref.name), _Seen())
                if len(seen) > MAX_RUN_DATASETS:
                    raise IngestError(event.where, role + "s", f"the run names more than {MAX_RUN_DATASETS} datasets")
                entry.facets.append(ref.facets)
                entry.read |= role == "input"
                entry.written |= role == "output"
    ids = _ids(list(seen))
    datasets: list[Dataset] = []
    inputs: list[str] = []
    outputs: list[str] = []
    notes: list[str] = []
    for key, entry in seen.items():
        facts = merge(entry.facets)
        dataset = _dataset(ids[key], key, facts, entry)
        datasets.append(dataset)
        notes += [f"dataset {dataset.id}: {note}" for note in facts.notes]
        (outputs if entry.written else inputs).append(dataset.id)
        if entry.read and entry.written:
            notes.append(f"dataset {dataset.id} was both read and written; it is recorded as an output")
    return tuple(datasets), tuple(inputs), tuple(outputs), notes


def _dataset(dataset_id: str, key: tuple[str, str], facts: Facts, entry: _Seen) -> Dataset:
    namespace, name = key
    values = facts.values
    version = values.get("version")
    hash_ = (
        IdentityHint(
            tool="OpenLineage", algorithm="openlineage-dataset-version", value=version, meaning=VERSION_MEANING
        )
        if version
        else not_captured("OpenLineage", "no content hash")
    )
    annotations = {"openlineage.namespace": clip(clean_url(namespace)), "openlineage.name": clip(name)}
    annotations |= {k: v for k, v in values.items() if k not in DATASHEET_KEYS}
    if entry.read and entry.written:
        annotations["openlineage.also_read"] = "true"
    output = entry.written
    return Dataset(
        id=dataset_id,
        role="output" if output else "input",
        uri=_uri(namespace, name),
        datasheet=Datasheet(**{k: values[k] for k in DATASHEET_KEYS if values.get(k)}),
        before=None if output else hash_,
        after=hash_ if output else None,
        columns=facts.columns or (),
        annotations=annotations,
        assertions=facts.assertions or (),
    )


def _uri(namespace: str, name: str) -> str | None:
    """The dataset's location as a URI, where OpenLineage's naming makes one."""
    if "://" in namespace:
        return clip(clean_url(namespace.rstrip("/") + "/" + name.lstrip("/")))
    if namespace == "file":  # the local file system: the name is the path
        return clip("file://" + ("" if name.startswith("/") else "/") + name)
    return None


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    slug = re.sub(r"^[^A-Za-z0-9]+", "", slug)[:80].rstrip("-._")
    return slug or "dataset"


def _ids(keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Readable ids from names; a name shared across namespaces gets a digest of both to stay unique."""
    slugs = {key: _slug(key[1]) for key in keys}
    counts = Counter(slugs.values())
    out = {}
    for key, slug in slugs.items():
        if counts[slug] > 1:
            digest = hashlib.sha256(f"{key[0]}\n{key[1]}".encode("utf-8", "surrogatepass")).hexdigest()[:10]
            slug = f"{slug}-{digest}"
        out[key] = slug
    return out
