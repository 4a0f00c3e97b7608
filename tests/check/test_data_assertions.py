"""AUD-DATA-005's check on records: failed assertions fail by name, column and dataset; held ones pass;
none recorded is not applicable; no lineage at all could not be evaluated."""

from __future__ import annotations

from datetime import date

from auditor.check.checks.interface import CheckContext
from auditor.check.checks.quality import DATA_ASSERTIONS_HELD, NONE_RECORDED
from auditor.record import Missing, RunRecord
from auditor.record.findings import Verdict
from auditor.record.lineage import Assertion, Dataset, Datasheet
from tests.factories import make_record
from tests.render.dossier.test_diagram import make_lineage

CTX = CheckContext(today=date(2026, 12, 6))
SOURCE = "OpenLineage dataQualityAssertions"


def record(*datasets: Dataset) -> RunRecord:
    return make_record().model_copy(update={"lineage": make_lineage(list(datasets), (), ())})


def table(name: str, *checks: tuple[str, str | None, bool]) -> Dataset:
    assertions = tuple(Assertion(assertion=a, column=c, success=s, source=SOURCE) for a, c, s in checks)
    return Dataset(id=name, role="input", uri=f"postgres://db/{name}", datasheet=Datasheet(), assertions=assertions)


def run(rec: RunRecord) -> list[Verdict]:
    return list(DATA_ASSERTIONS_HELD.run(rec, DATA_ASSERTIONS_HELD.params(), CTX))


def test_each_failed_assertion_fails_with_its_column_and_dataset() -> None:
    deliveries = table(
        "food_delivery.public.delivery_7_days",
        ("not_null", "driver_id", False),
        ("is_string", "customer_address", True),
        ("row_count", None, False),
    )
    verdicts = run(record(deliveries, table("drivers", ("unique", "driver_id", True)), table("plain")))
    assert [(v.subject, v.outcome, v.message) for v in verdicts] == [
        (
            "dataset:food_delivery.public.delivery_7_days",
            "fail",
            "not_null on driver_id of food_delivery.public.delivery_7_days failed",
        ),
        (
            "dataset:food_delivery.public.delivery_7_days",
            "fail",
            "row_count on the whole dataset of food_delivery.public.delivery_7_days failed",
        ),
        ("dataset:drivers", "pass", "1 recorded assertion(s) held: unique on driver_id"),
    ]
    assert verdicts[1].evidence["column"] is None and verdicts[0].evidence["source"] == SOURCE


def test_no_assertion_anywhere_is_not_applicable_and_no_lineage_could_not_be_evaluated() -> None:
    (verdict,) = run(record(table("plain")))
    assert (verdict.subject, verdict.outcome, verdict.message) == ("lineage", "not_applicable", NONE_RECORDED)
    no_lineage = make_record().model_copy(update={"lineage": Missing(reason="not captured in this test")})
    (verdict,) = run(no_lineage)
    assert verdict.outcome == "could_not_evaluate" and "not captured in this test" in verdict.message


def test_many_held_assertions_are_summarised() -> None:
    many = table("wide", *(("not_null", f"c{i}", True) for i in range(25)))
    (verdict,) = run(record(many))
    assert verdict.outcome == "pass" and verdict.message.endswith("and 15 more")
    assert verdict.evidence["assertions"] == 25
