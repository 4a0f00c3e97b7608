from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

from auditor.check.checks import REGISTRY
from auditor.check.checks.interface import CheckContext, CheckDef, NoParams
from auditor.check.engine import evaluate
from auditor.check.packs import load_pack
from auditor.record import parse_record
from tests.conftest import REPO, CliRunner
from tests.factories import make_record
from tests.test_cli_lineage import ROWS, SCRIPT, SPEC

DEFAULT = REPO / "rules" / "default.yaml"
CTX = CheckContext(today=date(2026, 11, 27))


def test_every_check_gives_a_verdict_and_missing_evidence_is_never_a_pass() -> None:
    record = make_record()  # schema-1.0-like: no lineage, no fairness, no params
    findings = evaluate(record, load_pack(DEFAULT), CTX)
    by_rule: dict[str, set[str]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, set()).add(finding.outcome)
    assert set(by_rule) == {r.rule.id for r in load_pack(DEFAULT).rules}
    assert by_rule["AUD-RUN-001"] == {"pass"} and by_rule["AUD-SRC-001"] == {"pass"}
    for rule in (
        "AUD-ENV-001",
        "AUD-DATA-001",
        "AUD-DATA-002",
        "AUD-DATA-003",
        "AUD-DATA-004",
        "AUD-FAIR-001",
        "AUD-FAIR-004",
    ):
        assert by_rule[rule] == {"could_not_evaluate"}, rule
    assert by_rule["AUD-REPRO-001"] == {"fail"}


def test_a_failing_check_is_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(record: object, params: object, ctx: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setitem(REGISTRY, "run_succeeded", CheckDef("run_succeeded", NoParams, explode, "broken"))
    findings = evaluate(make_record(), load_pack(DEFAULT), CTX)
    broken = [f for f in findings if f.rule_id == "AUD-RUN-001"]
    assert [(f.outcome, f.message) for f in broken] == [("could_not_evaluate", "the check failed: RuntimeError: boom")]
    assert any(f.rule_id == "AUD-SRC-001" and f.outcome == "pass" for f in findings)


def test_a_captured_run_gets_truthful_findings(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / "data" / "applicants.csv").write_text(ROWS)
    (project / "data" / "unused.csv").write_text("x\n")
    (project / "data" / "secret_extra.csv").write_text("ssn\n1\n")
    (project / "auditor.yaml").write_text(SPEC)
    (project / "score.py").write_text(SCRIPT)
    assert cli("run", "--", sys.executable, "score.py", cwd=project).returncode == 0
    (run_dir,) = (project / ".auditor" / "runs").iterdir()
    record = parse_record((run_dir / "record.json").read_bytes(), "record.json")
    found = {(f.rule_id, f.subject): f.outcome for f in evaluate(record, load_pack(DEFAULT), CTX)}
    assert found[("AUD-RUN-001", "run")] == "pass"
    assert found[("AUD-SRC-001", "source")] == "fail"  # not a git repository
    assert found[("AUD-DATA-001", "dataset:applicants")] == "pass"
    assert found[("AUD-DATA-001", "dataset:unused")] == "fail"
    assert found[("AUD-DATA-002", "dataset:gone")] == "fail"  # declared but absent
    assert found[("AUD-DATA-003", "file:data/secret_extra.csv")] == "fail"
    # selection rates 0.75 vs 0.25, but on a handful of rows the interval reaches back within the bound
    assert found[("AUD-FAIR-001", "attribute:group")] == "inconclusive"
    assert found[("AUD-FAIR-004", "attribute:group")] == "pass"  # min_group_size 2 in this spec
    assert json.loads(record.model_dump_json())["fairness"]["state"] == "captured"


@pytest.mark.parametrize(
    ("outcome", "waiver"), [("fail", "W-1"), ("pass", "W-1"), ("waived", None), ("could_not_evaluate", "W-1")]
)
def test_a_finding_names_a_waiver_exactly_when_it_is_waived(outcome: str, waiver: str | None) -> None:
    from pydantic import ValidationError

    from auditor.record.findings import Finding

    fields = {"rule_id": "R-1", "severity": "high", "subject": "run", "outcome": outcome, "message": "m"}
    with pytest.raises(ValidationError, match="names a waiver exactly when its outcome is 'waived'"):
        Finding.model_validate({**fields, **({"waiver": waiver} if waiver else {})})
    ok = Finding.model_validate({**fields, "outcome": "waived", "waiver": "W-1"})
    assert (ok.outcome, ok.waiver) == ("waived", "W-1")
    assert Finding.model_validate({**fields, "outcome": "fail"}).waiver is None


def test_a_report_refuses_a_finding_made_waived_without_validation() -> None:
    """A copy with an update, or a constructed finding, is not validated: the report checks them all again."""
    from pydantic import ValidationError

    from auditor.check.report import CheckReport
    from auditor.record.findings import Finding
    from tests.render.test_formats import make_report

    ok = Finding(rule_id="R-1", severity="high", subject="run", outcome="fail", message="m")
    fields = make_report().model_dump()
    CheckReport.model_validate({**fields, "findings": (ok,)})
    for bad in (
        ok.model_copy(update={"outcome": "waived"}),
        ok.model_copy(update={"waiver": "W-1"}),
        Finding.model_construct(**{**ok.model_dump(), "outcome": "waived", "waiver": None}),
    ):
        with pytest.raises(ValidationError, match="names a waiver exactly when its outcome is 'waived'"):
            CheckReport.model_validate({**fields, "findings": (bad,)})
