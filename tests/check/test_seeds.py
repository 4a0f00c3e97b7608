"""AUD-REPRO-001: seeds logged by the run or found in the params files declared in auditor.yaml."""

from __future__ import annotations

from datetime import date

from auditor.check.checks.interface import CheckContext
from auditor.check.checks.run import SEEDS_RECORDED, SeedParams
from auditor.record.base import Missing
from auditor.record.model_card import DeclaredFile, ModelCard
from auditor.record.models import RunRecord
from tests.factories import make_record

CTX = CheckContext(today=date(2026, 11, 27))


def _card(*files: DeclaredFile) -> ModelCard:
    return ModelCard(models=(), params_files=files, performance=Missing(reason="none"))


def _verdict(record: RunRecord) -> tuple[str, str, dict[str, object]]:
    (verdict,) = SEEDS_RECORDED.run(record, SeedParams(), CTX)
    return verdict.outcome, verdict.message, dict(verdict.evidence or {})


PARAMS = DeclaredFile(path="params.yaml", sha256="0" * 64, values={"seed": 42, "train.C": 1.0, "split.random_seed": 7})


def test_a_seed_in_a_declared_params_file_passes_and_names_file_and_key() -> None:
    outcome, message, evidence = _verdict(make_record().model_copy(update={"model_card": _card(PARAMS)}))
    assert outcome == "pass"
    assert "params.yaml: seed = 42" in message and "params.yaml: split.random_seed = 7" in message
    assert evidence == {"params.yaml: seed": 42, "params.yaml: split.random_seed": 7}


def test_logged_seeds_still_pass() -> None:
    outcome, message, _ = _verdict(make_record().model_copy(update={"params": {"random_state": 3}}))
    assert outcome == "pass" and "logged: random_state = 3" in message


def test_no_seed_anywhere_fails() -> None:
    plain = DeclaredFile(path="params.yaml", sha256="0" * 64, values={"train.C": 1.0})
    outcome, message, _ = _verdict(make_record().model_copy(update={"model_card": _card(plain)}))
    assert outcome == "fail" and "nor found in params.yaml" in message
    outcome, message, _ = _verdict(make_record())
    assert outcome == "fail" and "no params file is declared" in message


def test_an_unreadable_params_file_cannot_be_evaluated_unless_a_seed_is_found_elsewhere() -> None:
    gone = DeclaredFile(path="params.yaml", sha256=None, values={}, problem="the file does not exist")
    outcome, message, _ = _verdict(make_record().model_copy(update={"model_card": _card(gone)}))
    assert outcome == "could_not_evaluate" and "params.yaml (the file does not exist)" in message
    logged = make_record().model_copy(update={"model_card": _card(gone), "params": {"seed": 1}})
    assert _verdict(logged)[0] == "pass"
    other = DeclaredFile(path="more.yaml", sha256="1" * 64, values={"seed": 5})
    assert _verdict(make_record().model_copy(update={"model_card": _card(gone, other)}))[0] == "pass"
