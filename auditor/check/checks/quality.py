"""Data-quality assertions a source tool recorded about the run's datasets (OpenLineage's
dataQualityAssertions: dbt tests, Great Expectations, SQL checks).

auditor does not run these tests; it reports what the tool recorded. A failed assertion fails, naming
the assertion, the column and the dataset. A dataset whose assertions all held passes. A run with no
assertions at all is "not applicable": nothing was asserted, which is neither evidence of good data
nor of bad, and the rule says so rather than passing.
"""

from __future__ import annotations

from auditor.check.checks.interface import CheckContext, CheckDef, NoParams, missing
from auditor.record import Missing, RunRecord
from auditor.record.findings import Verdict
from auditor.record.lineage import Assertion, Dataset, Lineage

NONE_RECORDED = "no data-quality assertions recorded"


def describe(assertion: Assertion, dataset_id: str) -> str:
    """`not_null on driver_id of food_delivery.public.delivery_7_days`: what was asserted, where."""
    on = f" on {assertion.column}" if assertion.column else " on the whole dataset"
    return f"{assertion.assertion}{on} of {dataset_id}"


def _assertions_held(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    lineage = record.lineage
    if not isinstance(lineage, Lineage):
        return [missing("lineage", "data lineage", lineage if isinstance(lineage, Missing) else None)]
    checked = [d for d in lineage.datasets if d.assertions]
    if not checked:
        return [Verdict(subject="lineage", outcome="not_applicable", message=NONE_RECORDED)]
    out: list[Verdict] = []
    for dataset in checked:
        out += _dataset(dataset)
    return out


def _dataset(dataset: Dataset) -> list[Verdict]:
    subject = f"dataset:{dataset.id}"
    failed = [a for a in dataset.assertions if not a.success]
    if not failed:
        held = ", ".join(describe(a, dataset.id).removesuffix(f" of {dataset.id}") for a in dataset.assertions[:10])
        more = f" and {len(dataset.assertions) - 10} more" if len(dataset.assertions) > 10 else ""
        return [
            Verdict(
                subject=subject,
                outcome="pass",
                message=f"{len(dataset.assertions)} recorded assertion(s) held: {held}{more}",
                evidence={"assertions": len(dataset.assertions), "source": dataset.assertions[0].source},
            )
        ]
    return [
        Verdict(
            subject=subject,
            outcome="fail",
            message=f"{describe(a, dataset.id)} failed",
            evidence={"assertion": a.assertion, "column": a.column, "dataset": dataset.id, "source": a.source},
        )
        for a in failed
    ]


DATA_ASSERTIONS_HELD = CheckDef(
    "data_assertions_held",
    NoParams,
    _assertions_held,
    "every data-quality assertion a source tool recorded about a dataset held",
)
