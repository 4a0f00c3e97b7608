"""The diff for a terminal: the headline, the substantial-modification summary, then each section,
most important first; every value from a run made inert with `safe`."""

from __future__ import annotations

from auditor.portfolio.diff.model import Change, RunDiff, RunSide, Section
from auditor.portfolio.diff.order import MARKS, counts_text, headline, ordered, word
from auditor.portfolio.diff.substantial import WORDING
from auditor.render.times import iso
from auditor.text import one_line, safe

WIDTH = 100


def _run(label: str, side: RunSide) -> str:
    name = f" {safe(side.name)}" if side.name else ""
    return (
        f"{label}: {side.run_id} ({safe(side.project)}{name}, {side.status}, started {iso(side.started_at)}; "
        f"check: {side.verdict})"
    )


def _value(value: str | None) -> str:
    return one_line(value, WIDTH, middle=True) if value is not None else "absent"


def _line(section: Section, c: Change) -> str:
    what = one_line(c.what, WIDTH)
    if c.kind == "added":
        text = f"{what}: {_value(c.b)}"
    elif c.kind == "removed":
        text = f"{what}: {_value(c.a)}"
    elif c.kind == "missing" and c.missing_in == "A and B" and c.a == c.b:
        text = f"{what}: not recorded in A or B: {_value(c.a)}"
    elif c.kind == "missing":
        text = f"{what}: not recorded in {c.missing_in}: A {_value(c.a)}; B {_value(c.b)}"
    elif c.a == c.b:
        text = f"{what}: {_value(c.a)} in A and B"
    else:
        text = f"{what}: {_value(c.a)} -> {_value(c.b)}"
    detail = f" ({one_line(c.detail, WIDTH)})" if c.detail else ""
    return f"  {MARKS[c.kind]} {word(section, c)}: {text}{detail}"


def render_text(diff: RunDiff) -> str:
    out = [_run("A", diff.a), _run("B", diff.b)]
    tolerances = ", ".join(f"{safe(k)} {v}" for k, v in diff.tolerances.items()) or "the default, rel:1e-06, abs:1e-09"
    out.append(f"policy: {safe(diff.policy)}; metric tolerances: {tolerances}")
    out += ["", headline(diff), ""]
    out.append("Substantial modification (EU AI Act, Article 3(23)):")
    for item in diff.substantial:
        out.append(f"  {item.criterion}: {item.verdict}")
        out += [f"    {one_line(e, WIDTH * 2, middle=True)}" for e in item.evidence]
    if diff.substantial_indicated:
        out.append(f"  A change above {WORDING}.")
    else:
        out.append(
            "  No criterion is indicated; 'could not tell' means the evidence is missing, not that nothing changed."
        )
    same = []
    for section in ordered(diff):
        if section.state == "same" and not section.changes:
            same.append(section.title.lower())
            continue
        counts = counts_text(section)
        out += ["", f"{section.title}: {section.state}" + (f" ({counts})" if counts else "")]
        out += [_line(section, c) for c in section.changes if c.kind != "within"]
        within = sum(1 for c in section.changes if c.kind == "within")
        if within:
            out.append(
                f"  = {within} more differ within their tolerance or intervals (listed by --format json or html)"
            )
        out += [f"  note: {safe(n)}" for n in section.notes if section.name != "data" or section.changes]
    if same:
        out += ["", f"The same in A and B: {', '.join(same)}."]
    return "\n".join(out) + "\n"
