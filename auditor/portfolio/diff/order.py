"""What every renderer shares: the order sections are read in, and the words for each kind of change."""

from __future__ import annotations

from auditor.portfolio.diff.model import Change, RunDiff, Section

# Most important first: what changed, then what cannot be told, then what is the same.
_RANK = {"changed": 0, "not recorded in A": 1, "not recorded in B": 1, "not recorded in A or B": 1, "same": 2}

WORDS = {
    "added": "added",
    "removed": "removed",
    "changed": "changed",
    "within": "within",
    "missing": "not recorded",
    "note": "note",
}
FINDING_WORDS = {**WORDS, "added": "new", "removed": "fixed"}
MARKS = {"added": "+", "removed": "-", "changed": "~", "within": "=", "missing": "?", "note": "!"}


def ordered(diff: RunDiff) -> list[Section]:
    return sorted(diff.sections, key=lambda s: _RANK[s.state])


def word(section: Section, change: Change) -> str:
    return (FINDING_WORDS if section.name == "findings" else WORDS)[change.kind]


def headline(diff: RunDiff) -> str:
    changed = [s.title.lower() for s in diff.sections if s.state == "changed"]
    unknown = [s.title.lower() for s in diff.sections if s.state.startswith("not recorded")]
    if not changed and not unknown:
        return "no differences: every section is the same"
    parts = []
    if changed:
        parts.append(f"changed: {', '.join(changed)}")
    if unknown:
        parts.append(f"not recorded on a side: {', '.join(unknown)}")
    return "; ".join(parts)


def counts_text(section: Section) -> str:
    counts = section.counts()
    return ", ".join(f"{counts[k]} {word(section, Change(k, ''))}" for k in MARKS if counts.get(k))  # type: ignore[arg-type]
