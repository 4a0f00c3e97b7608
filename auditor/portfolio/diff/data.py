"""The data section: every dataset and model whose content changed, was added or removed.

Matched by id, then (for what is left) by path or URI. Content is compared by content key
(auditor/index/summary.py): `sha256:<hex>` when auditor hashed the bytes, `<tool>-<algorithm>:<value>`
when only another tool's identity hint is known. Keys are compared for equality only; a hint never
equals a hash, so a hash on one side and a hint on the other cannot be compared and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from auditor.index.summary import content_key
from auditor.portfolio.diff.compare import recorded
from auditor.portfolio.diff.model import Change, Section, section
from auditor.record import RunRecord
from auditor.record.base import Missing
from auditor.record.lineage import AbsentPath, ContentHash, Dataset, Hash, IdentityHint, Lineage, ModelArtifact

KEY_NOTE = (
    "content keys: sha256:... is auditor's hash of the bytes; tool-algorithm:... is another tool's identity "
    "hint, which names a version of the data but proves no bytes; a hint never equals a hash"
)

T = TypeVar("T", Dataset, ModelArtifact)


def pair(a: Sequence[T], b: Sequence[T], where: Callable[[T], str | None]) -> list[tuple[T | None, T | None]]:
    """Items matched by id, then the rest by location (path or URI); unmatched ones alone."""
    by_id = {x.id: x for x in b}
    pairs: list[tuple[T | None, T | None]] = []
    left_a = []
    for x in a:
        if x.id in by_id:
            pairs.append((x, by_id.pop(x.id)))
        else:
            left_a.append(x)
    by_where = {where(y): y for y in by_id.values() if where(y)}
    for x in left_a:
        y = by_where.pop(where(x), None) if where(x) else None
        pairs.append((x, y))
    matched = {id(y) for _, y in pairs if y is not None}
    pairs += [(None, y) for y in b if id(y) not in matched]
    return pairs


def _why(value: Hash | None) -> str:
    if isinstance(value, AbsentPath):
        return f"absent ({value.path})"
    if isinstance(value, Missing):
        return f"not hashed: {value.reason}"
    return "not hashed"


def _dataset_hash(d: Dataset) -> Hash | None:
    return d.before if d.role == "input" else (d.after if d.after is not None else d.before)


def _content(changes: list[Change], what: str, ha: Hash | None, hb: Hash | None) -> None:
    ka, kb = content_key(ha), content_key(hb)
    if ka is None or kb is None:
        side: Literal["A", "B", "A and B"] = "A and B" if ka is None and kb is None else ("A" if ka is None else "B")
        changes.append(Change("missing", what, ka or _why(ha), kb or _why(hb), missing_in=side))
    elif isinstance(ha, ContentHash) != isinstance(hb, ContentHash):
        hinted: Literal["A", "B"] = "A" if isinstance(ha, IdentityHint) else "B"
        detail = f"{hinted} has only another tool's identity hint: a hint cannot be compared with a hash"
        changes.append(Change("missing", what, ka, kb, detail, missing_in=hinted))
    elif ka != kb:
        changes.append(Change("changed", what, ka, kb, "content changed"))


def _location(d: Dataset) -> str | None:
    return d.path or d.uri


def data_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    la, lb = a.lineage, b.lineage
    if recorded(changes, "lineage", a.lineage, b.lineage) and isinstance(la, Lineage) and isinstance(lb, Lineage):
        data_a, data_b = [d for d in la.datasets if not d.is_code], [d for d in lb.datasets if not d.is_code]
        for x, y in pair(data_a, data_b, _location):
            if x is None and y is not None:
                changes.append(Change("added", f"dataset {y.id} ({y.role})", None, content_key(_dataset_hash(y))))
            elif y is None and x is not None:
                changes.append(Change("removed", f"dataset {x.id} ({x.role})", content_key(_dataset_hash(x)), None))
            elif x is not None and y is not None:
                name = x.id if x.id == y.id else f"{x.id} / {y.id}"
                _content(changes, f"dataset {name} ({y.role})", _dataset_hash(x), _dataset_hash(y))
        for m, n in pair(la.models, lb.models, lambda m: m.path):
            if m is None and n is not None:
                changes.append(Change("added", f"model {n.id}", None, content_key(n.after)))
            elif n is None and m is not None:
                changes.append(Change("removed", f"model {m.id}", content_key(m.after), None))
            elif m is not None and n is not None:
                _content(changes, f"model {m.id}", m.after, n.after)
    return section("data", changes, (KEY_NOTE,))
