"""Small building blocks every section uses: compare two facts, two keyed sets, two maybe-missing parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from auditor.portfolio.diff.model import Change
from auditor.record.base import Missing


def fact(changes: list[Change], what: str, a: str | None, b: str | None) -> None:
    """A single fact: changed when the two texts differ (None is written "none")."""
    if a != b:
        changes.append(Change("changed", what, a if a is not None else "none", b if b is not None else "none"))


def keyed(changes: list[Change], label: str, a: Mapping[str, str], b: Mapping[str, str]) -> None:
    """Named values (packages, params): added, removed and changed, sorted by name."""
    for name in sorted(a.keys() | b.keys()):
        if name not in a:
            changes.append(Change("added", f"{label} {name}", None, b[name]))
        elif name not in b:
            changes.append(Change("removed", f"{label} {name}", a[name], None))
        elif a[name] != b[name]:
            changes.append(Change("changed", f"{label} {name}", a[name], b[name]))


def absent(value: object) -> str | None:
    """Why a part is not recorded (its Missing reason, or that the record predates it), else None."""
    if isinstance(value, Missing):
        return value.reason
    if value is None:
        return "the record has no such section (written before it existed, or not filled by what wrote it)"
    return None


def recorded(changes: list[Change], what: str, a: object, b: object) -> bool:
    """True when both sides hold the part; otherwise adds a "missing" change naming the side(s)."""
    why_a, why_b = absent(a), absent(b)
    if why_a is None and why_b is None:
        return True
    side: Literal["A", "B", "A and B"] = "A and B" if why_a and why_b else ("A" if why_a else "B")
    changes.append(Change("missing", what, why_a or "recorded", why_b or "recorded", missing_in=side))
    return False
