"""Rules on evidence an ingested run brings: hashes taken after the run, seeds under dotted names."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from auditor.check.checks.data import DATASETS_HASHED
from auditor.check.checks.interface import CheckContext
from auditor.check.checks.run import SEEDS_RECORDED
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash
from tests.factories import make_record
from tests.render.dossier.test_diagram import make_lineage

CTX = CheckContext(today=date(2026, 11, 27))


def _with_input_hashed_at(when: datetime) -> object:
    record = make_record()
    digest = "a" * 64
    before = ContentHash(
        kind="file", sha256=digest, size=1, files=(FileHash(path="", sha256=digest, size=1),), hashed_at=when
    )
    data = Dataset(id="table", role="input", path="data.csv", datasheet=Datasheet(), before=before)
    return record.model_copy(update={"lineage": make_lineage([data], (), ())})


def test_a_hash_taken_after_the_run_started_proves_nothing_about_what_it_read() -> None:
    started = make_record().identity.started_at
    (verdict,) = DATASETS_HASHED.run(
        _with_input_hashed_at(started - timedelta(seconds=1)), DATASETS_HASHED.params(), CTX
    )  # type: ignore[arg-type]
    assert verdict.outcome == "pass"
    later = datetime(2030, 1, 1, tzinfo=UTC)
    (verdict,) = DATASETS_HASHED.run(_with_input_hashed_at(later), DATASETS_HASHED.params(), CTX)  # type: ignore[arg-type]
    assert verdict.outcome == "could_not_evaluate" and "after the run started" in verdict.message


def test_the_late_hash_is_shown_at_its_own_wall_time_to_the_minute() -> None:
    """The same instant in two offsets prints two wall times (the message has always shown the hash's own)."""
    from datetime import timezone

    utc = datetime(2030, 1, 1, 12, 30, 59, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    for when, shown in ((utc, "2030-01-01 12:30"), (paris, "2030-01-01 13:30"), (utc, "2030-01-01 12:30")):
        (verdict,) = DATASETS_HASHED.run(_with_input_hashed_at(when), DATASETS_HASHED.params(), CTX)  # type: ignore[arg-type]
        assert verdict.message.startswith(f"sha256 taken {shown} UTC, after the run started"), verdict.message


def test_seed_parameters_under_dotted_or_file_prefixed_names_are_found() -> None:
    for name in ("seed", "random_state", "train.seed", "params.yaml:train.seed", "model/random_state", "data_seed"):
        record = make_record().model_copy(update={"params": {name: 42}})
        (verdict,) = SEEDS_RECORDED.run(record, SEEDS_RECORDED.params(), CTX)
        assert verdict.outcome == "pass", name
    record = make_record().model_copy(update={"params": {"seedling": 1}})
    assert SEEDS_RECORDED.run(record, SEEDS_RECORDED.params(), CTX)[0].outcome == "fail"


def test_code_dependencies_are_not_asked_for_a_datasheet() -> None:
    from auditor.check.checks.data import DATASETS_DOCUMENTED, PERSONAL_DATA_LEGAL_BASIS

    code = Dataset(
        id="src-train.py", role="input", path="src/train.py", datasheet=Datasheet(), annotations={"dvc.kind": "code"}
    )
    data = Dataset(id="raw", role="input", path="raw.csv", datasheet=Datasheet())
    record = make_record().model_copy(update={"lineage": make_lineage([code, data], (), ())})
    for check in (DATASETS_DOCUMENTED, PERSONAL_DATA_LEGAL_BASIS):
        verdicts = {v.subject: v.outcome for v in check.run(record, check.params(), CTX)}
        assert verdicts == {"dataset:src-train.py": "not_applicable", "dataset:raw": "fail"}
