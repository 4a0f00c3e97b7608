"""The dossier's Annex IV table: every item, its status, where its evidence comes from, how to supply it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.report import CheckReport
from auditor.check.vulns.sources import SourceChoice
from auditor.project.spec import load_spec, parse_spec
from auditor.record import Missing, RunRecord
from auditor.record.governance import ANNEX_IV_ITEMS, Governance
from auditor.record.lineage import Dataset, Lineage, Step
from auditor.record.migrate import upgrade
from auditor.record.models import DeclaredRequirements, Pin, RequirementsFile
from auditor.record.models import RunRecord as Model
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.build_annex import annex_iv
from auditor.render.dossier.html import SECTIONS, render_html
from auditor.render.dossier.views_annex import AnnexIV
from tests.conftest import FIXTURES, SAMPLE
from tests.factories import make_record
from tests.render.dossier.test_dossier_container_repro import ingested_record
from tests.render.dossier.test_report import dossier_record

FIXED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SMALL_DB = FIXTURES / "advisories" / "small"


def _report(record: RunRecord, folder: Path) -> CheckReport:
    return run_check(
        CheckRequest(
            record=record,
            record_path=Path("record.json"),
            record_sha256="ab" * 32,
            pack=load_pack(packs_folder() / "eu-ai-act.yaml"),
            fail_on="low",
            location="auditor.yaml",
            now=FIXED,
            vuln_source=SourceChoice(source="local", database=SMALL_DB),
            cache_dir=folder / "cache",
        )
    )


def sample_record(folder: Path) -> RunRecord:
    """A record as `auditor run` keeps it for the sample: its auditor.yaml's project, datasets, steps and
    governance, with fairness, packages and a metric from the dossier's test record."""
    spec = load_spec(SAMPLE / "auditor.yaml")
    base = dossier_record(folder)
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=spec.project,
        datasets=tuple(Dataset(id=d.id, role=d.role, path=d.path, datasheet=d.datasheet) for d in spec.datasets),
        steps=tuple(Step(name=s.name, command=s.command, inputs=s.inputs, outputs=s.outputs) for s in spec.steps),
        models=(),
        observed=Missing(reason="not observed in this test"),
        graph={},
    )
    governance = Governance.model_validate(spec.governance.model_dump())
    pin = Pin(name="pandas", specifier="==2.2.3", version="2.2.3", hashes=("sha256:" + "1" * 64,), line=1)
    declared = DeclaredRequirements(
        files=(RequirementsFile(path="requirements.txt", sha256="2" * 64, pins=(pin,), problems=()),)
    )
    environment = base.environment.model_copy(update={"declared": declared})
    return base.model_copy(update={"lineage": lineage, "governance": governance, "environment": environment})


def _table(record: RunRecord, folder: Path) -> AnnexIV:
    return annex_iv(record, _report(record, folder), ())


def _statuses(table: AnnexIV) -> dict[str, str]:
    return {row.item: row.status for row in table.rows}


def test_every_annex_iv_item_has_a_row_in_the_regulations_order(tmp_path: Path) -> None:
    table = _table(make_record(), tmp_path)
    assert [row.item for row in table.rows] == list(ANNEX_IV_ITEMS)
    assert len(ANNEX_IV_ITEMS) == 23  # 1(a)-(h), 2(a)-(h), 3 to 9
    assert all(row.title for row in table.rows)


def test_the_sample_shows_what_it_declares_what_does_not_apply_and_what_is_absent(tmp_path: Path) -> None:
    table = _table(sample_record(tmp_path), tmp_path)
    assert _statuses(table) == {
        "1(a)": "present",  # project.intended_use, provider, system version, relation to previous versions
        "1(b)": "present",
        "1(c)": "present",  # captured packages, requirements.txt, update requirements
        "1(d)": "not applicable",  # not placed on the market
        "1(e)": "present",
        "1(f)": "not applicable",
        "1(g)": "not applicable",
        "1(h)": "present",
        "2(a)": "present",  # steps and the commit
        "2(b)": "present",  # the model card: the model type read from the file, its input features
        "2(c)": "present",  # architecture declared, hardware and resources captured
        "2(d)": "partial",  # params and train-test-split lack datasheet fields
        "2(e)": "present",
        "2(f)": "not applicable",
        "2(g)": "partial",  # tested and measured, but no signed test report
        "2(h)": "partial",  # the audit ran; no cybersecurity measures declared
        "3": "present",  # per-group accuracy; the model's declared limitations; human oversight
        "4": "present",
        "5": "absent",
        "6": "absent",
        "7": "absent",
        "8": "not applicable",
        "9": "not applicable",
    }
    rows = {row.item: row for row in table.rows}
    assert rows["5"].supply == "governance.risk_management"
    assert "scorer: LogisticRegression, 3 input features" in rows["2(b)"].evidence
    assert "limitations: " in rows["3"].evidence and "of the data only" not in rows["3"].evidence
    assert "performance computed by auditor, in the model card" in rows["2(g)"].evidence
    assert rows["2(g)"].supply.startswith("auditor approve RUN --sign KEY")
    assert "declared not applicable: Not placed on the market" in rows["1(d)"].evidence
    assert "intended purpose: Illustrate an auditable credit-risk model" in rows["1(a)"].evidence
    assert "logical cores" in rows["2(c)"].evidence and "s wall" in rows["2(c)"].evidence
    assert rows["2(d)"].supply == "the datasheets of params, train-test-split"
    assert all(row.supply == "" for row in table.rows if row.status in ("present", "not applicable"))
    document = {item.label: item.value for item in table.document}
    assert document["Document"] == "CRA-SAMPLE-TD-001 version 0.1"
    assert document["Risk tier"].startswith("not assessed (Not assessed: a training sample")
    assert "Declared not assessed" in table.note


def test_without_governance_every_missing_item_says_how_to_supply_it(tmp_path: Path) -> None:
    record = make_record().model_copy(update={"governance": Missing(reason="auditor.yaml has no governance section")})
    table = _table(record, tmp_path)
    assert "No governance statements: auditor.yaml has no governance section." in table.note
    assert table.document == ()  # the note says there are none
    for row in table.rows:
        assert row.status in ("absent", "partial", "present"), row
        if row.status != "present":
            assert row.supply, row
    rows = {row.item: row for row in table.rows}
    assert rows["1(a)"].supply == (
        "project.intended_use, governance.provider, governance.system_version, governance.previous_versions"
    )
    assert rows["9"].supply == "governance.post_market_monitoring"
    assert rows["2(d)"].supply == "datasets (the training data, with datasheets)"


def test_an_ingested_run_gets_the_table_from_what_its_tool_recorded(tmp_path: Path) -> None:
    record = ingested_record()
    assert record.governance is None  # an ingested run's record keeps no auditor.yaml
    table = _table(record, tmp_path)
    statuses = _statuses(table)
    assert statuses["2(c)"] == "absent"  # MLflow records no hardware
    assert "run under auditor on the machine that trains" in {r.item: r for r in table.rows}["2(c)"].supply
    assert statuses["1(c)"] in ("absent", "partial")  # installed packages were not captured
    assert statuses["2(d)"] == "partial"  # a dataset, with an incomplete datasheet
    assert "not recorded with this run" in table.note


def test_a_record_written_before_governance_existed_says_so(tmp_path: Path) -> None:
    data = make_record().model_dump(mode="json")
    data.pop("governance")
    data["schema_version"] = "1.3"
    record = Model.model_validate(upgrade(data))
    assert isinstance(record.governance, Missing)
    assert "record schema 1.3 predates capture of the governance section" in _table(record, tmp_path).note


def test_hostile_declared_values_are_escaped(tmp_path: Path) -> None:
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)> & "q"'
    governance = Governance(
        provider=evil,
        system_name=evil,
        document_id=evil,
        standards=(evil, "ISO/IEC 42001"),
        not_applicable={"1(f)": evil},
        risk_tier="high-risk",
        risk_tier_reference=evil,
    )
    record = make_record().model_copy(update={"governance": governance})
    dossier = build_dossier(record, _report(record, tmp_path), (), (), FIXED, default_drawing(), (), ())
    html = render_html(dossier)
    section = html[html.index('<section id="annex-iv">') :]
    section = section[: section.index("</section>")]
    assert "<script>" not in section and "<img" not in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "ISO/IEC 42001" in section
    assert ("annex-iv", "10 EU AI Act Annex IV") in SECTIONS


def test_a_governance_section_in_auditor_yaml_reaches_the_record_model_unchanged() -> None:
    spec = parse_spec(
        "project: {name: p}\ngovernance:\n  risk_tier: high-risk\n  standards: [ISO/IEC 42001]\n"
        "  not_applicable: {8: not yet placed on the market}\n",
        "auditor.yaml",
    )
    kept = Governance.model_validate(spec.governance.model_dump())
    assert kept.risk_tier == "high-risk" and kept.standards == ("ISO/IEC 42001",)
    assert kept.not_applicable == {"8": "not yet placed on the market"}  # YAML's number 8 is item 8


@pytest.mark.parametrize("item", ANNEX_IV_ITEMS)
def test_any_item_can_be_declared_not_applicable(item: str, tmp_path: Path) -> None:
    record = make_record().model_copy(update={"governance": Governance(not_applicable={item: "why not"})})
    (row,) = [r for r in _table(record, tmp_path).rows if r.item == item]
    assert (row.status, row.evidence, row.supply) == ("not applicable", "declared not applicable: why not", "")
