"""The data-lineage section's data-quality assertions: one small table per dataset that has any.

Read from `Dataset.assertions`: what a source tool such as an OpenLineage producer recorded; auditor
ran none of these tests (the rule that judges them is in the findings). Failed assertions come first,
so a long list cannot hide them.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.record.base import Missing
from auditor.record.lineage import Lineage

MAX_SHOWN = 50  # rows per dataset; the rest are counted


@dataclass(frozen=True)
class AssertionRow:
    assertion: str
    column: str  # "whole dataset" when the assertion names no column
    held: bool


@dataclass(frozen=True)
class AssertionsView:
    dataset: str
    source: str
    rows: tuple[AssertionRow, ...]
    failed: int
    more: int = 0  # rows not shown


def assertions(lineage: Lineage | Missing | None) -> tuple[AssertionsView, ...]:
    if not isinstance(lineage, Lineage):
        return ()
    out = []
    for dataset in lineage.datasets:
        if not dataset.assertions:
            continue
        ordered = sorted(dataset.assertions, key=lambda a: a.success)  # failed first, otherwise as recorded
        rows = tuple(AssertionRow(a.assertion, a.column or "whole dataset", a.success) for a in ordered[:MAX_SHOWN])
        failed = sum(1 for a in dataset.assertions if not a.success)
        sources = sorted({a.source for a in dataset.assertions})
        out.append(AssertionsView(dataset.id, ", ".join(sources), rows, failed, max(0, len(ordered) - MAX_SHOWN)))
    return tuple(out)
