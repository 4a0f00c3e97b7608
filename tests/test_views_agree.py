"""Facts computed once: every view says the same thing as the model layer.

Whether a dataset is documented is `Datasheet.documentation()`; a rule's worst outcome is
`Tally.worst`. The lineage diagram, the terminal summary, the dossier and the rule that gates CI
must agree with it (they once disagreed: a datasheet that did not say whether the data is
personal was "partly documented" in the diagram, "documented" in the dossier and passed the rule).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.vulns.sources import SourceChoice
from auditor.record.findings import Finding, tally
from auditor.record.lineage import Dataset, Datasheet
from auditor.render.dossier.build_data import datasets as dossier_datasets
from auditor.render.summary import render_lineage
from tests.conftest import FIXTURES
from tests.factories import make_record
from tests.render.dossier.test_diagram import dot_nodes, make_lineage

FULL = {"description": "d", "source": "s", "owner": "o", "licence": "CC0-1.0"}
SHEETS = {
    "complete": (Datasheet(**FULL, personal_data=False), "documented", ()),
    "personal-with-basis": (Datasheet(**FULL, personal_data=True, legal_basis="GDPR 6(1)(b)"), "documented", ()),
    "personal-unstated": (Datasheet(**FULL), "partly documented", ("personal_data",)),
    "personal-no-basis": (Datasheet(**FULL, personal_data=True), "partly documented", ("legal_basis",)),
    "only-personal": (
        Datasheet(personal_data=False),
        "partly documented",
        ("description", "source", "owner", "licence"),
    ),
    "empty": (Datasheet(), "undocumented", ("description", "source", "owner", "licence", "personal_data")),
}


@pytest.mark.parametrize("name", SHEETS)
def test_the_model_decides_documentation(name: str) -> None:
    sheet, status, missing = SHEETS[name]
    assert sheet.documentation() == status
    assert sheet.missing_fields() == missing


def test_diagram_summary_dossier_and_rule_agree(tmp_path: Path) -> None:
    datasets = [Dataset(id=n, role="input", path=f"data/{n}.csv", datasheet=s) for n, (s, _, _) in SHEETS.items()]
    lineage = make_lineage(datasets=datasets)
    record = make_record().model_copy(update={"lineage": lineage})
    report = run_check(
        CheckRequest(
            record=record,
            record_path=Path("record.json"),
            record_sha256="ab" * 32,
            pack=load_pack(packs_folder() / "default.yaml"),
            fail_on="low",
            location="auditor.yaml",
            now=datetime(2026, 1, 3, tzinfo=UTC),
            vuln_source=SourceChoice(source="local", database=FIXTURES / "advisories" / "small"),
            cache_dir=tmp_path / "cache",
        )
    )
    rule = {f.subject: f for f in report.findings if f.rule_id == "AUD-DATA-001"}
    diagram = dot_nodes(lineage)
    summary = "\n".join(render_lineage(lineage))
    dossier = {v.id: v for v in dossier_datasets(lineage, report)}
    for name, (_, status, missing) in SHEETS.items():
        assert dossier[name].documented == status, name
        assert status in diagram[name]["label"], (name, diagram[name]["label"])
        row = next(line for line in summary.splitlines() if line.strip().startswith(name + " "))
        assert ("yes" in row.split()) == (status == "documented"), row
        for field in missing:
            assert field in row, (name, row)
        assert rule[f"dataset:{name}"].outcome == ("pass" if status == "documented" else "fail"), name


def _finding(outcome: str) -> Finding:
    return Finding(
        rule_id="R",
        severity="low",
        subject="s",
        outcome=outcome,
        message="m",  # type: ignore[arg-type]
        waiver="W" if outcome == "waived" else None,
    )


@pytest.mark.parametrize(
    ("outcomes", "worst"),
    [
        ((), "not_applicable"),
        (("not_applicable",), "not_applicable"),
        (("pass", "not_applicable"), "pass"),
        (("pass", "waived"), "waived"),
        (("waived", "could_not_evaluate", "pass"), "could_not_evaluate"),
        (("could_not_evaluate", "fail"), "fail"),
    ],
)
def test_a_rules_worst_outcome(outcomes: tuple[str, ...], worst: str) -> None:
    result = tally(_finding(o) for o in outcomes)
    assert result.worst == worst
    assert result.total == len(outcomes)
    assert [o for o, _ in result.items()] == [
        o for o in ("fail", "could_not_evaluate", "waived", "pass", "not_applicable") if o in outcomes
    ]
