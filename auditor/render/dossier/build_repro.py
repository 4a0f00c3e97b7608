"""Dossier content about reproduction: did re-executing this run give the same results?

A record is immutable, so an original never learns of its re-runs; the caller finds them (the
store's `reproductions_of`) and passes them in, or passes `Missing` saying why it could not.
Verdicts come from `auditor reproduce` (see auditor/reproduce/compare.py): identical and
equivalent are good, diverged is bad, and a verdict that cannot be read is never counted good.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.record import Missing, RunRecord
from auditor.record.models import ReproDifference
from auditor.render.dossier.format import unrecorded, when
from auditor.render.dossier.views import DifferenceRow, Item, Reproducibility, ReproductionView
from auditor.text import count

VERDICTS = {  # verdict -> (badge style, what it means)
    "identical": ("pass", "every output has the same content hash and every metric the same value"),
    "equivalent": (
        "pass",
        "some outputs differ byte for byte, but every metric is within its tolerance; check that the "
        "tolerances below are acceptable for this model",
    ),
    "diverged": (
        "fail",
        "a metric is outside its tolerance, or an output or metric is missing on one side: the run did not "
        "give the same results when repeated",
    ),
}
WORST = ("fail", "could_not_evaluate", "pass")
NOT_YET = "Not reproduced yet. To repeat the run in its recorded environment and compare the results, run"


def reproducibility(record: RunRecord, reproductions: Sequence[RunRecord] | Missing) -> Reproducibility:
    run_id = record.identity.run_id
    reproduces = _own(record) if record.links.reproduces or record.reproduction else None
    if record.origin.kind == "ingested" and (isinstance(reproductions, Missing) or not reproductions):
        why = f"the run was ingested from {record.origin.tool or 'another tool'}"
        absent = f"Cannot be reproduced by auditor: {why}, and only runs that auditor executed can be repeated."
        return Reproducibility("cannot be reproduced", "none", why, reproduces, (), absent)
    if isinstance(reproductions, Missing):
        why = reproductions.reason
        return Reproducibility("not looked up", "could_not_evaluate", why, reproduces, (), f"Not looked up: {why}.")
    views = tuple(_view(r, expected=run_id) for r in reproductions)
    if not views:
        command = f"auditor reproduce {run_id}"
        return Reproducibility("not reproduced yet", "none", "", reproduces, (), NOT_YET, command)
    tally = ", ".join(f"{n} {verdict}" for verdict, n in sorted(_tally(views).items()))
    worst = next(v for o in WORST for v in views if v.outcome == o)  # any divergence shows, whatever came later
    latest = views[-1]
    headline = f"reproduced {count(len(views), 'time')} ({tally}); the latest, run {latest.run_id}: {latest.verdict}"
    return Reproducibility(worst.verdict, worst.outcome, headline, reproduces, views, None)


def _tally(views: Sequence[ReproductionView]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in views:
        out[v.verdict] = out.get(v.verdict, 0) + 1
    return out


def _view(rerun: RunRecord, expected: str) -> ReproductionView:
    """A re-run as the original's dossier lists it."""
    repro, ident = rerun.reproduction, rerun.identity
    date = when(ident.started_at)
    if repro is None:
        return ReproductionView(ident.run_id, date, "not recorded", "could_not_evaluate", _NO_VERDICT, ())
    if repro.original_run_id != expected:
        meaning = f"its verdict is about run {repro.original_run_id}, not this one: it is not counted"
        return ReproductionView(ident.run_id, date, "inconsistent", "could_not_evaluate", meaning, ())
    outcome, meaning = VERDICTS[repro.verdict]
    return ReproductionView(ident.run_id, date, repro.verdict, outcome, meaning, _rows(repro.differences))


_NO_VERDICT = "the record links to the original run but carries no verdict"


def _own(record: RunRecord) -> ReproductionView:
    """This run's own verdict, with how it was reached."""
    repro, ident = record.reproduction, record.identity
    original = record.links.reproduces or (repro.original_run_id if repro else "")
    exit_code = unrecorded(record.origin.tool) if ident.exit_code is None else str(ident.exit_code)
    status = Item("This re-run", f"{ident.status}, exit code {exit_code}, started {when(ident.started_at)}")
    if repro is None:
        return ReproductionView(original, "", "not recorded", "could_not_evaluate", _NO_VERDICT, (), (status,))
    tolerances = "; ".join(f"{name}: rel {t.rel:g}, abs {t.abs:g}" for name, t in sorted(repro.tolerances.items()))
    inputs = (
        f"{count(len(repro.inputs_checked), 'declared input')} had the content hash recorded by the original run "
        "before the re-run started: " + ", ".join(repro.inputs_checked)
        if repro.inputs_checked
        else "none: the original run declared no local input to check"
    )
    details = (
        status,
        Item("Tolerances", (tolerances or "none recorded") + " (* applies to every other metric)"),
        Item("Inputs verified", inputs, missing=not repro.inputs_checked),
        Item("Environment", repro.environment_check),
    )
    outcome, meaning = VERDICTS[repro.verdict]
    if repro.original_run_id != original:
        outcome, meaning = "could_not_evaluate", f"the verdict is about run {repro.original_run_id}, not {original}"
    return ReproductionView(original, "", repro.verdict, outcome, meaning, _rows(repro.differences), details)


def _rows(differences: Sequence[ReproDifference]) -> tuple[DifferenceRow, ...]:
    rows = []
    for d in differences:
        gone = "missing" in (d.original, d.reproduced)
        if d.kind == "run":
            outcome, judgement = "fail", "the re-run did not end as the original did: not reproduced"
        elif d.kind == "metric":
            outcome, judgement = ("pass", "within tolerance") if d.within_tolerance else ("fail", "outside tolerance")
        elif d.within_tolerance:
            outcome, judgement = "note", "content differs; the metrics decide"
        else:
            outcome, judgement = "fail", "differs"
        if d.reproduced == "not written by the re-run":
            judgement = "not written by the re-run: the original's file proves nothing"
        elif gone and not d.within_tolerance and d.kind != "run":
            judgement = "missing on one side"
        rows.append(DifferenceRow(d.kind, d.name, d.original, d.reproduced, outcome, judgement))
    return tuple(rows)
