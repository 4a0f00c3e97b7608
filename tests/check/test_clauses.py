from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.check.checks.interface import CheckContext
from auditor.check.clauses import clause_status, clause_table
from auditor.check.engine import evaluate
from auditor.check.packs import Clause, PackError, load_pack
from auditor.record.findings import Finding
from tests.conftest import REPO
from tests.factories import make_record

CLAUSE = Clause(id="Art. 10(2)(f)", title="bias", rules=("R-A-1", "R-B-1"))


def _f(rule: str, outcome: str) -> Finding:
    waiver = "W-1" if outcome == "waived" else None
    return Finding(rule_id=rule, severity="high", subject="s", outcome=outcome, message="m", waiver=waiver)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([("R-A-1", "pass"), ("R-B-1", "not_applicable")], "satisfied"),
        ([("R-A-1", "pass"), ("R-B-1", "fail")], "partial"),
        ([("R-A-1", "fail"), ("R-B-1", "fail")], "missing"),
        ([("R-A-1", "pass"), ("R-B-1", "waived")], "waived"),
        ([("R-A-1", "pass"), ("R-B-1", "could_not_evaluate")], "could_not_evaluate"),
        ([("R-A-1", "fail"), ("R-B-1", "could_not_evaluate")], "missing"),
        ([("R-OTHER-1", "pass")], "could_not_evaluate"),
    ],
)
def test_clause_status(outcomes: list[tuple[str, str]], status: str) -> None:
    assert clause_status([_f(r, o) for r, o in outcomes], CLAUSE).status == status


def test_the_eu_ai_act_pack_maps_clauses_to_default_rules() -> None:
    pack = load_pack(REPO / "rules" / "eu-ai-act.yaml")
    assert {c.id for _, c in pack.clauses} >= {
        "Art. 10(2)",
        "Art. 10(2)(f)",
        "Art. 12",
        "Annex IV 2(d)",
        "Annex IV 2(g)",
    }
    assert len(pack.rules) == len(load_pack(REPO / "rules" / "default.yaml").rules)
    table = {
        r.clause.id: r.status
        for r in clause_table(
            evaluate(make_record(), pack, CheckContext(today=date(2026, 11, 27))), [c for _, c in pack.clauses]
        )
    }
    assert table["Art. 10(2)(f)"] == "could_not_evaluate"  # no fairness evidence in this record: never satisfied


def test_a_clause_naming_an_unknown_rule_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text((REPO / "rules" / "default.yaml").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pack: bad\nversion: 1\ndescription: d\nincludes: [default]\n"
        "clauses:\n  - id: Art. 99\n    title: t\n    rules: [AUD-NOPE-1]\n"
    )
    with pytest.raises(PackError, match=r"bad.yaml:8: clauses\[0\].rules\[0\]: no rule 'AUD-NOPE-1' in this pack"):
        load_pack(bad)


def test_the_clause_map_and_the_rules_references_agree() -> None:
    """A rule mapped to a clause cites it, and every EU AI Act clause a rule cites has a row."""
    pack = load_pack(REPO / "rules" / "eu-ai-act.yaml")
    rows = {clause.id: set(clause.rules) for _, clause in pack.clauses}
    for loaded in pack.rules:
        rule = loaded.rule
        cited = {ref.removeprefix("EU AI Act ").split(" (")[0] for ref in rule.references if "EU AI Act" in ref}
        mapped = {clause_id for clause_id, rules in rows.items() if rule.id in rules}
        assert cited == mapped, (rule.id, cited, mapped)


OUTSIDE = Clause(id="Art. 12", title="logs", outside_run="the deployed system's logs")


@pytest.mark.parametrize("outcome", ["pass", "fail", "could_not_evaluate", "waived", "not_applicable"])
def test_a_clause_outside_the_run_is_never_evidenced_by_its_findings(outcome: str) -> None:
    result = clause_status([_f("R-A-1", outcome)], OUTSIDE)
    assert (result.status, result.counts) == ("not_evidenced", {})


def test_art_12_is_never_satisfied_by_a_training_run() -> None:
    """A run that passes every rule still does not show the deployed system's automatic logging."""
    pack = load_pack(REPO / "rules" / "eu-ai-act.yaml")
    clauses = {c.id: c for _, c in pack.clauses}
    assert clauses["Art. 12"].rules == () and "deployed system" in (clauses["Art. 12"].outside_run or "")
    passing = [_f(loaded.rule.id, "pass") for loaded in pack.rules]
    table = {r.clause.id: r.status for r in clause_table(passing, [c for _, c in pack.clauses])}
    assert table["Art. 12"] == "not_evidenced" and table["Art. 10(5)"] == "not_evidenced"
    assert {s for c, s in table.items() if c not in ("Art. 12", "Art. 10(5)")} == {"satisfied"}


def test_the_hardware_rule_serves_computational_resources() -> None:
    pack = load_pack(REPO / "rules" / "eu-ai-act.yaml")
    rows = {clause.id: clause.rules for _, clause in pack.clauses}
    assert rows["Annex IV 2(c)"] == ("AUD-HW-001",)
    assert "AUD-HW-001" not in rows["Annex IV 2(g)"]
    assert "AUD-VULN-001" in rows["Annex IV 2(h)"] and "AUD-VULN-001" in rows["Art. 15(5)"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("    rules: [AUD-RUN-001]\n    outside_run: logs\n", "give either 'rules'"),
        ("    outside_run: ''\n", "outside_run: String should have at least 1 character"),
        ("", "give either 'rules'"),
    ],
)
def test_a_clause_needs_rules_or_what_it_needs_instead(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "default.yaml").write_text((REPO / "rules" / "default.yaml").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pack: bad\nversion: 1\ndescription: d\nincludes: [default]\nclauses:\n  - id: Art. 12\n    title: t\n" + body
    )
    with pytest.raises(PackError, match=r"bad.yaml:\d+: clauses\[0\]") as info:
        load_pack(bad)
    assert problem in str(info.value)
