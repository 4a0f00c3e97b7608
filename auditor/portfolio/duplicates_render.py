"""Duplicate-work candidates as text or JSON (pure: returns text). Run data is untrusted: every name and
detail goes through auditor.text.one_line."""

from __future__ import annotations

import json
from collections.abc import Sequence

from auditor.portfolio.duplicates import DuplicatePair
from auditor.text import one_line

JSON_VERSION = 1


def _side(name: str, owners: tuple[str, ...], projects: tuple[str, ...], by: str) -> str:
    if by == "owner":
        listed = ", ".join(one_line(p, 60) for p in projects)
        return f"{one_line(name, 80)} (projects: {listed})"
    owned = ", ".join(one_line(o, 60) for o in owners) or "no owner named"
    return f"{one_line(name, 80)} (owner: {owned})"


def render_text(pairs: Sequence[DuplicatePair], *, by: str, min_score: float, groups: int) -> str:
    word = ("project" if by == "project" else "owner") + ("s" if groups != 1 else "")
    if not pairs:
        return f"No duplicate-work candidates among {groups} {word} (score {min_score:.2f} or more).\n"
    count = f"{len(pairs)} pair{'s' * (len(pairs) != 1)}"
    lines = [f"Duplicate-work candidates among {groups} {word}: {count} scoring {min_score:.2f} or more.", ""]
    for i, pair in enumerate(pairs, 1):
        a = _side(pair.a, pair.a_owners, pair.a_projects, by)
        b = _side(pair.b, pair.b_owners, pair.b_projects, by)
        lines.append(f"{i}. {a} and {b}: score {pair.score:.2f}")
        lines.extend(f"   - {e.kind} (+{e.weight:.2f}): {one_line(e.detail, 600)}" for e in pair.evidence)
        lines.append("")
    return "\n".join(lines)


def to_data(pairs: Sequence[DuplicatePair], *, by: str, min_score: float, groups: int) -> dict[str, object]:
    """duplicates_version 1: by, min_score, groups (how many were compared), pairs ranked highest first."""
    return {
        "duplicates_version": JSON_VERSION,
        "by": by,
        "min_score": min_score,
        "groups": groups,
        "pairs": [
            {
                "a": p.a,
                "b": p.b,
                "score": p.score,
                "a_owners": list(p.a_owners),
                "b_owners": list(p.b_owners),
                "a_projects": list(p.a_projects),
                "b_projects": list(p.b_projects),
                "evidence": [{"kind": e.kind, "weight": e.weight, "detail": e.detail} for e in p.evidence],
            }
            for p in pairs
        ],
    }


def render_duplicates(pairs: Sequence[DuplicatePair], fmt: str, *, by: str, min_score: float, groups: int) -> str:
    if fmt == "json":
        return json.dumps(to_data(pairs, by=by, min_score=min_score, groups=groups), indent=2, sort_keys=True) + "\n"
    return render_text(pairs, by=by, min_score=min_score, groups=groups)
