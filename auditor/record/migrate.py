"""Older run records upgraded to the current schema: once, at load, in memory.

`io.parse_record` passes the parsed JSON of every record whose `schema_version` is older
than `SCHEMA_VERSION` through `upgrade` before validating it, so every reader (check,
dossier, show, reproduce, runs) sees the current shape only and keeps no per-version
special cases. The steps run in order, 1.0 -> 1.1 -> 1.2 -> 1.3, each on the data the
one before produced, and each fills only what is absent (it never rewrites a value the
record holds, so it is safe on any record that claims its version).

What the history of the models says each version added, and what a step puts in its place:

- 1.1 added `lineage`, `fairness`, `params` and `metrics`; during 1.1 also
  `environment.declared` and `outputs.notes`. Sections that can be `Missing` become
  `Missing` with a reason naming the version; `params` and `metrics` become empty (they
  have no `Missing` form: the kept `schema_version` is what tells "nothing logged" from
  "written before logging existed", as the `seeds_recorded` rule does); `outputs.notes`
  gets one note saying the writer kept none, rather than an empty list that reads
  "the logs are complete".
- 1.2 added `container`. Before 1.3 auditor had only the local executor, so `null`
  ("the run used no container") is the fact, not a gap.
- 1.3 added the container's `platform`, `config` and `system_packages`, `reproduction`,
  `tags`, `origin.not_captured`, reported sources, identity hints and the annotations and
  columns of lineage entries, and let ingested runs leave exit code, user, host and logs
  unrecorded. Only executed runs existed before, so an absent reproduction, no tags and
  nothing "not captured" are facts; an image's OS packages become `Missing`; a 1.2 container
  section (no 1.2 auditor wrote one) keeps `config` null, which readers show as "not recorded".
- 1.4 added `governance` (auditor.yaml's governance section at capture): older records get
  `Missing`, since the auditor that wrote them could not have kept one.
- 1.5 added the "unfinished" status, the time basis, `links.reingests`, dataset assertions and
  `lineage.unmatched`: all optional, so older records read as they were written.
- 1.6 added `code` (the code files a run executed, with fingerprints): optional, None in older
  records, which renderers show as "not recorded".
- 1.7 added `same_files_as` on a dataset's `after` hash (its file list written once, as `before`'s):
  optional; older records wrote both lists in full and read as they were written.

The choice about `schema_version`: the upgraded record keeps it **as written**. Records on
disk are immutable, their bytes and digest are the evidence, and the version is part of
that evidence; `upgraded_from` tells a reader the record was upgraded. Nothing here writes
a file: the upgraded form exists only in memory (and in `auditor show --json`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.record.models import SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS, RunRecord

Data = dict[str, Any]


@dataclass(frozen=True)
class Step:
    source: str
    target: str
    fill: Callable[[Data, str], None]  # fills absent parts of a copy; the str is the version the file was written in


def _missing(reason: str) -> Data:
    return {"state": "missing", "reason": reason}


def _section(data: Data, key: str) -> Data | None:
    """A copy of a nested object, put in its place to be filled; None when it is not an object
    (left alone: validation names that field)."""
    value = data.get(key)
    if not isinstance(value, dict):
        return None
    data[key] = copy = dict(value)
    return copy


def _to_1_1(data: Data, written: str) -> None:
    data.setdefault("lineage", _missing(f"record schema {written} predates lineage capture"))
    data.setdefault("fairness", _missing(f"record schema {written} predates fairness capture"))
    data.setdefault("params", {})
    data.setdefault("metrics", [])


def _to_1_2(data: Data, written: str) -> None:
    # Both added while 1.1 was current: absent from 1.0 records and from the first 1.1 ones.
    environment = _section(data, "environment")
    if environment is not None:
        environment.setdefault(
            "declared",
            _missing(
                f"the auditor that wrote this record (schema {written}) predates capture of declared requirements"
            ),
        )
    outputs = _section(data, "outputs")
    if outputs is not None:
        outputs.setdefault(
            "notes",
            [f"the auditor that wrote this record (schema {written}) kept no notes on incomplete logs"],
        )
    data.setdefault("container", None)


def _to_1_3(data: Data, written: str) -> None:
    container = _section(data, "container")
    if container is not None:
        container.setdefault("platform", None)
        container.setdefault("config", None)
        container.setdefault(
            "system_packages",
            _missing(f"record schema {written} predates capture of the image's OS packages"),
        )
    origin = _section(data, "origin")
    if origin is not None:
        origin.setdefault("not_captured", [])
    data.setdefault("tags", {})
    data.setdefault("reproduction", None)


TABULAR_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")  # as auditor/capture/profile.py recognises them


def _to_1_4(data: Data, written: str) -> None:
    """1.4 only adds optional sections; each one that has a `Missing` form says here why an older
    record lacks it.

    - `governance`, `model_card`: `Missing`, the record predates them.
    - `lineage.datasets[].profile`: a dataset whose path names a tabular file gets a `Missing`
      profile (it would have one today); other datasets keep none, as a 1.4 record's would (a
      folder's contents are not known from the record, so it keeps none either)."""
    data.setdefault("governance", _missing(f"record schema {written} predates capture of the governance section"))
    data.setdefault("model_card", _missing(f"record schema {written} predates model card capture"))
    lineage = _section(data, "lineage")
    if lineage is None or not isinstance(lineage.get("datasets"), list):
        return
    datasets = []
    for entry in lineage["datasets"]:
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, str) and path.lower().endswith(TABULAR_SUFFIXES) and "profile" not in entry:
            entry = {**entry, "profile": _missing(f"record schema {written} predates data profiles")}
        datasets.append(entry)
    lineage["datasets"] = datasets


def _to_1_5(data: Data, written: str) -> None:
    """1.5 only adds optional fields (status "unfinished", time basis, `links.reingests`, dataset
    assertions, `lineage.unmatched`); an older record reads with their defaults, unchanged."""


def _to_1_6(data: Data, written: str) -> None:
    """1.6 only adds the optional `code` section; an older record reads with it None."""


def _to_1_7(data: Data, written: str) -> None:
    """1.7 only adds the optional `same_files_as`; an older record's full after lists read as they are."""


STEPS: tuple[Step, ...] = (
    Step("1.0", "1.1", _to_1_1),
    Step("1.1", "1.2", _to_1_2),
    Step("1.2", "1.3", _to_1_3),
    Step("1.3", "1.4", _to_1_4),
    Step("1.4", "1.5", _to_1_5),
    Step("1.5", "1.6", _to_1_6),
    Step("1.6", "1.7", _to_1_7),
)
READABLE: tuple[str, ...] = (*(step.source for step in STEPS), SCHEMA_VERSION)  # oldest first


def _check_chain() -> None:
    """The steps must lead from every version the model accepts to the current one, and nowhere else."""
    chained = all(a.target == b.source for a, b in itertools.pairwise(STEPS))
    if not chained or STEPS[-1].target != SCHEMA_VERSION or set(READABLE) != SUPPORTED_SCHEMA_VERSIONS:
        known = sorted(SUPPORTED_SCHEMA_VERSIONS)
        raise RuntimeError(f"record migrations {READABLE} do not match the versions the model reads {known}")


_check_chain()


def upgrade(data: Data) -> Data:
    """The record's data in the current shape; `data` itself when it is current already.

    `data` must carry a supported `schema_version` (io checks that first). The caller's data is
    never changed: the steps fill copies of the objects they touch and share the rest."""
    written = data["schema_version"]
    if written == SCHEMA_VERSION:
        return data
    upgraded = dict(data)
    for step in STEPS[READABLE.index(written) :]:
        step.fill(upgraded, written)
    return upgraded


def upgraded_from(record: RunRecord) -> str | None:
    """The schema version the record was written in, when it was upgraded at load; None when current."""
    return None if record.schema_version == SCHEMA_VERSION else record.schema_version
