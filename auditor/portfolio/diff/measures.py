"""The metrics, fairness and findings sections: values compared with a tolerance, intervals, outcomes."""

from __future__ import annotations

import math
from collections.abc import Mapping

from auditor.check.report import CheckReport
from auditor.portfolio.diff.compare import recorded
from auditor.portfolio.diff.model import Change, Section, section
from auditor.record import RunRecord
from auditor.record.fairness import AttributeFairness, Fairness, GroupMetrics
from auditor.record.findings import Finding
from auditor.record.model_card import ModelCard
from auditor.reproduce.compare import Tolerance, tolerance_for


def tolerance_text(t: Tolerance) -> str:
    return f"rel:{t.rel:g}, abs:{t.abs:g}"


def number(value: float) -> str:
    """A metric as logged: 250 for a whole number, else every digit Python keeps (0.1 + 0.2 shows as such)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def metrics_of(record: RunRecord) -> dict[str, tuple[str, float]]:
    """Display name -> (tolerance name, value): the last value logged per name, and the declared
    metrics files' numbers as "NAME (FILE)" (their tolerance is the plain NAME's)."""
    found = {m.name: (m.name, m.value) for m in record.metrics}
    card = record.model_card
    if isinstance(card, ModelCard):
        for declared in card.metrics_files:
            for key, value in declared.values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found[f"{key} ({declared.path})"] = (key, float(value))
    return found


def metrics_section(a: RunRecord, b: RunRecord, tolerances: Mapping[str, Tolerance]) -> Section:
    changes: list[Change] = []
    ma, mb = metrics_of(a), metrics_of(b)
    for name in sorted(ma.keys() | mb.keys()):
        if name not in ma:
            changes.append(Change("added", f"metric {name}", None, number(mb[name][1])))
            continue
        if name not in mb:
            changes.append(Change("removed", f"metric {name}", number(ma[name][1]), None))
            continue
        (key, x), (_, y) = ma[name], mb[name]
        if x == y or (math.isnan(x) and math.isnan(y)):
            continue
        tolerance = tolerance_for(tolerances, key)
        if tolerance.accepts(x, y):
            changes.append(
                Change(
                    "within", f"metric {name}", number(x), number(y), f"within tolerance {tolerance_text(tolerance)}"
                )
            )
        else:
            changes.append(
                Change(
                    "changed", f"metric {name}", number(x), number(y), f"outside tolerance {tolerance_text(tolerance)}"
                )
            )
    notes = () if ma or mb else ("neither run logged or declared metrics",)
    return section("metrics", changes, notes)


RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")


def _shown(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "undefined"
    if low is None or high is None:
        return f"{value:.4f}"
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def _estimate(
    changes: list[Change],
    what: str,
    a: tuple[float | None, float | None, float | None],
    b: tuple[float | None, float | None, float | None],
) -> None:
    if a[0] == b[0]:
        return
    shown_a, shown_b = _shown(*a), _shown(*b)
    if a[0] is None or b[0] is None or None in (a[1], a[2], b[1], b[2]):
        changes.append(Change("changed", what, shown_a, shown_b, "changed; no intervals on both sides to compare"))
        return
    overlap = a[1] <= b[2] and b[1] <= a[2]  # type: ignore[operator]
    if overlap:
        changes.append(Change("within", what, shown_a, shown_b, "the intervals overlap: not shown to have changed"))
    else:
        changes.append(Change("changed", what, shown_a, shown_b, "changed beyond the intervals"))


def _group(g: GroupMetrics, rate: str) -> tuple[float | None, float | None, float | None]:
    value = getattr(g, rate)
    interval = (g.intervals or {}).get(rate)  # type: ignore[call-overload]
    return (value, interval.low, interval.high) if interval is not None else (value, None, None)


def _attribute(changes: list[Change], x: AttributeFairness, y: AttributeFairness) -> None:
    label = " x ".join(x.attributes)
    groups_b = {g.group: g for g in y.groups}
    for g in x.groups:
        h = groups_b.pop(g.group, None)
        name = f"{label}={'/'.join(g.group)}"
        if h is None:
            changes.append(Change("removed", f"group {name}", f"{g.count} rows", None))
            continue
        for rate in RATES:
            _estimate(changes, f"{rate.replace('_', ' ')} of {name}", _group(g, rate), _group(h, rate))
    for h in groups_b.values():
        changes.append(Change("added", f"group {label}={'/'.join(h.group)}", None, f"{h.count} rows"))
    disp_b = {d.metric: d for d in y.disparities}
    for d in x.disparities:
        e = disp_b.pop(d.metric, None)
        what = f"{d.metric.replace('_', ' ')} by {label}"
        if e is None:
            changes.append(Change("removed", what, _shown(d.value, d.ci_low, d.ci_high), None))
        else:
            _estimate(changes, what, (d.value, d.ci_low, d.ci_high), (e.value, e.ci_low, e.ci_high))
    for e in disp_b.values():
        what = f"{e.metric.replace('_', ' ')} by {label}"
        changes.append(Change("added", what, None, _shown(e.value, e.ci_low, e.ci_high)))


def fairness_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    fa, fb = a.fairness, b.fairness
    if recorded(changes, "fairness", a.fairness, b.fairness) and isinstance(fa, Fairness) and isinstance(fb, Fairness):
        by_b = {x.attributes: x for x in fb.by_attributes}
        for x in fa.by_attributes:
            y = by_b.pop(x.attributes, None)
            if y is None:
                changes.append(Change("removed", f"attribute {' x '.join(x.attributes)}", "evaluated", None))
            else:
                _attribute(changes, x, y)
        for y in by_b.values():
            changes.append(Change("added", f"attribute {' x '.join(y.attributes)}", None, "evaluated"))
    return section("fairness", changes)


OK = ("pass", "not_applicable")
UNSETTLED = ("could_not_evaluate", "inconclusive")


def _outcome(f: Finding) -> str:
    return f"{f.outcome.replace('_', ' ')} ({f.severity}): {f.message}"


def findings_section(a: CheckReport, b: CheckReport) -> Section:
    """New (failing or unsettled in B, not in A), fixed (the reverse), changed (outcome or severity);
    a finding that could not be evaluated in both stays visible as a note line."""
    changes: list[Change] = []
    fa = {(f.rule_id, f.subject): f for f in a.findings}
    fb = {(f.rule_id, f.subject): f for f in b.findings}
    for key in sorted(fa.keys() | fb.keys()):
        x, y = fa.get(key), fb.get(key)
        what = f"{key[0]} {key[1]}"
        ok_x = x is None or x.outcome in OK
        ok_y = y is None or y.outcome in OK
        if ok_x and ok_y:
            continue
        if x is not None and y is not None and (x.outcome, x.severity) == (y.outcome, y.severity):
            if y.outcome in UNSETTLED:
                status = f"{y.outcome.replace('_', ' ')} ({y.severity})"
                changes.append(Change("note", what, status, status, f"not established in A or B: {y.message}"))
            continue
        if ok_x and y is not None:
            changes.append(Change("added", what, _outcome(x) if x else "absent", _outcome(y)))
        elif ok_y and x is not None:
            changes.append(Change("removed", what, _outcome(x), _outcome(y) if y else "absent"))
        else:
            changes.append(Change("changed", what, _outcome(x) if x else None, _outcome(y) if y else None))
    rank = {"added": 0, "removed": 1, "changed": 2, "note": 3}
    return section("findings", sorted(changes, key=lambda c: rank[c.kind]))
