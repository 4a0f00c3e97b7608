"""OpenLineage's dataQualityAssertions facet read into the record's `Dataset.assertions`.

The facet (an input-dataset facet, written by dbt, Great Expectations, Airflow SQL checks and
Marquez's seed events) lists the tests run on a dataset: what was asserted, on which column, and
whether it held. A failed assertion is evidence a rule acts on, so the facet is read strictly but
never fails the ingest: an entry of the wrong shape is left out, and how many were left out and
why is one note on the run; a list longer than `MAX_ASSERTIONS` keeps its first entries and says
how many more there were. Fields the record has no place for yet (severity, expected and actual
values, the test's own name) are not kept.
"""

from __future__ import annotations

from auditor.ingest.openlineage.facets import At, Facts, clip
from auditor.record.lineage import Assertion

MAX_ASSERTIONS = 1_000
NAME_CHARS = 200
SOURCE = "OpenLineage dataQualityAssertions"


def read_assertions(facet: dict[str, object], at: At) -> Facts:
    raw = facet.get("assertions")
    if not isinstance(raw, list):
        shown = "missing" if raw is None else f"not a list ({type(raw).__name__})"
        return Facts(assertions=(), notes=(f"{at.where}: {at.field}.assertions is {shown}: no assertion read",))
    kept: list[Assertion] = []
    skipped: list[str] = []
    for index, item in enumerate(raw[:MAX_ASSERTIONS]):
        assertion = _assertion(item)
        if isinstance(assertion, str):
            skipped.append(f"{at.field}.assertions[{index}] {assertion}")
        else:
            kept.append(assertion)
    problems = []
    if skipped:
        problems.append(
            f"{len(skipped)} of {len(raw)} entries could not be read and were left out (first: {skipped[0]})"
        )
    if len(raw) > MAX_ASSERTIONS:
        problems.append(f"{len(raw) - MAX_ASSERTIONS} entries beyond the first {MAX_ASSERTIONS} were not kept")
    notes = (f"{at.where}: data-quality assertions: {'; '.join(problems)}",) if problems else ()
    return Facts(assertions=tuple(kept), notes=notes)


def _assertion(item: object) -> Assertion | str:
    """The assertion, or what is wrong with the entry."""
    if not isinstance(item, dict):
        return f"is not a JSON object ({type(item).__name__})"
    name, column, success = item.get("assertion"), item.get("column"), item.get("success")
    if not isinstance(name, str) or not name.strip():
        return "has no assertion name (a non-empty string)"
    if column is not None and not isinstance(column, str):
        return "has a column that is not a string"
    if not isinstance(success, bool):
        return "has a success that is not true or false"
    return Assertion(
        assertion=clip(name.strip(), NAME_CHARS),
        column=clip(column, NAME_CHARS) if column else None,
        success=success,
        source=SOURCE,
    )
