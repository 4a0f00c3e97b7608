"""The lists of hashed files, kept out of the record's last redaction pass and checked in bulk instead.

That pass dumps the record, searches every string and validates the result again: for an
input of 20,000 files, 60,000 strings (name, hash and size per file, before and after the run)
and 40,000 models, over a second of a re-capture that hashed nothing. Of a file's entry only
the name can hold text from outside: the hash is hex auditor computed and the size a number.
So the lists are taken out before the pass and put back after it, and the names of one list
are searched as one text, joined by newlines (`TextRedactor.clean`): when that text comes out
unchanged, no name in it would change alone either; otherwise each name is redacted alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.capture.redact import TextRedactor, printable
from auditor.record.lineage import ContentHash, FileHash, Lineage
from auditor.record.models import RunRecord

_Where = tuple[str, int, str]  # ("datasets" | "models", index, "before" | "after")


@dataclass(frozen=True)
class FileLists:
    """The file lists taken out of a record, by where they were."""

    lists: dict[_Where, tuple[FileHash, ...]]


def detach(record: RunRecord) -> tuple[RunRecord, FileLists]:
    """The record with every hashed folder's file list emptied, and the lists."""
    lineage = record.lineage
    if not isinstance(lineage, Lineage):
        return record, FileLists({})
    lists: dict[_Where, tuple[FileHash, ...]] = {}
    datasets = tuple(d.model_copy(update=_emptied(d, ("datasets", i), lists)) for i, d in enumerate(lineage.datasets))
    models = tuple(m.model_copy(update=_emptied(m, ("models", i), lists)) for i, m in enumerate(lineage.models))
    if not lists:
        return record, FileLists({})
    emptied = lineage.model_copy(update={"datasets": datasets, "models": models})
    return record.model_copy(update={"lineage": emptied}), FileLists(lists)


def attach(record: RunRecord, found: FileLists, redactor: TextRedactor) -> RunRecord:
    """The record with its file lists back, each file name redacted as the rest of the record was."""
    lineage = record.lineage
    if not found.lists or not isinstance(lineage, Lineage):
        return record
    kinds: dict[str, list[Any]] = {"datasets": list(lineage.datasets), "models": list(lineage.models)}
    done: dict[int, tuple[FileHash, ...]] = {}  # an unchanged input's after holds its before's list itself
    for (kind, index, when), files in found.lists.items():
        item = kinds[kind][index]
        held = getattr(item, when)
        if isinstance(held, ContentHash):
            if id(files) not in done:  # found.lists holds every list: an id is not reused meanwhile
                done[id(files)] = _redacted(files, redactor)
            files = done[id(files)]
            kinds[kind][index] = item.model_copy(update={when: held.model_copy(update={"files": files})})
    restored = lineage.model_copy(update={"datasets": tuple(kinds["datasets"]), "models": tuple(kinds["models"])})
    return record.model_copy(update={"lineage": restored})


def _emptied(item: object, where: tuple[str, int], lists: dict[_Where, tuple[FileHash, ...]]) -> dict[str, object]:
    update: dict[str, object] = {}
    for when in ("before", "after"):
        held = getattr(item, when, None)
        if isinstance(held, ContentHash) and held.files:
            lists[(*where, when)] = held.files
            update[when] = held.model_copy(update={"files": ()})
    return update


def _redacted(files: tuple[FileHash, ...], redactor: TextRedactor) -> tuple[FileHash, ...]:
    if redactor.clean([file.path for file in files]):
        return files
    out = []
    for file in files:
        path = redactor(printable(file.path))[0]
        out.append(file if path == file.path else file.model_copy(update={"path": path}))
    return tuple(out)
