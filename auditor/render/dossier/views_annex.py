"""The dossier's Annex IV table: plain view objects, text already chosen for a reader."""

from __future__ import annotations

from dataclasses import dataclass

AnnexStatus = str  # present / partial / absent / not applicable


@dataclass(frozen=True)
class DocumentItem:
    """A label/value row, shaped like views.Item so the `items` macro lays it out."""

    label: str
    value: str
    missing: bool = False
    mono: bool = False


@dataclass(frozen=True)
class AnnexRow:
    item: str  # "1(a)" ... "9", as the Regulation numbers them
    title: str  # what the item asks for, in a few plain words
    status: AnnexStatus
    evidence: str  # what the record holds for it, and where it comes from
    supply: str  # how to supply what is missing: the auditor.yaml field or the command; "" when present
    rules: str = ""  # the policy clause for this item, when the pack maps rules to it: "partial (AUD-...)"


@dataclass(frozen=True)
class AnnexIV:
    document: tuple[DocumentItem, ...]  # document id and version, provider, system, risk tier, as recorded
    rows: tuple[AnnexRow, ...]
    counts: str  # "9 present, 6 partial, 7 absent, 1 not applicable"
    note: str  # where the governance statements come from, or why there are none
