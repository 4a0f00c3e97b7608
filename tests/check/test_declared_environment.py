"""The pinning and vulnerability rules on a run that declares its environment but recorded no installed one.

Requirements files are parsed by auditor's own parser (as the ingesters do), and the vulnerability
rule asks the real PyPA advisory snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from auditor.capture.collect.requirements import collect_requirements
from auditor.check.checks.environment import PACKAGES_PINNED
from auditor.check.checks.interface import CheckContext
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.report import CheckReport
from auditor.check.vulns.sources import SourceChoice
from auditor.record import Missing, RunRecord
from auditor.record.findings import Verdict
from auditor.record.models import DeclaredRequirements
from tests.conftest import ADVISORY_SNAPSHOT
from tests.factories import make_record

CTX = CheckContext(today=datetime(2026, 12, 6, tzinfo=UTC).date())
MODEL = "artifacts/model/requirements.txt"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
LINES = (
    "jinja2==2.10",
    "requests>=2",
    "numpy",
    "-e ./src",
    "git+https://github.com/acme/feat.git@main#egg=feat",
    f"git+https://github.com/acme/core.git@{COMMIT}#egg=core",
    "https://example.com/wheels/tool-1.0-py3-none-any.whl",
    "pip==24.0",
)
WHEEL = "tool-1.0-py3-none-any.whl"  # a bare URL is named by its file (the requirements parser's choice)
NOT_CAPTURED = Missing(reason="not captured by MLflow: the installed packages")


def declared(tmp_path: Path, files: dict[str, str]) -> DeclaredRequirements:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = collect_requirements(tmp_path, tuple(files))
    assert isinstance(found, DeclaredRequirements)
    return found


def ingested(tmp_path: Path, files: dict[str, str]) -> RunRecord:
    record = make_record()
    environment = record.environment.model_copy(
        update={"packages": NOT_CAPTURED, "declared": declared(tmp_path, files)}
    )
    return record.model_copy(update={"environment": environment})


def pinning(record: RunRecord) -> list[Verdict]:
    return list(PACKAGES_PINNED.run(record, PACKAGES_PINNED.params(ignore=("pip",)), CTX))


def check(record: RunRecord, tmp_path: Path) -> CheckReport:
    return run_check(
        CheckRequest(
            record=record,
            record_path=Path("record.json"),
            record_sha256="ab" * 32,
            pack=load_pack(packs_folder() / "default.yaml"),
            fail_on="low",
            location="auditor.yaml",
            now=datetime(2026, 12, 6, tzinfo=UTC),
            vuln_source=SourceChoice(source="local", database=ADVISORY_SNAPSHOT),
            cache_dir=tmp_path / "cache",
        )
    )


def test_each_declared_requirement_is_judged_and_labelled_declared(tmp_path: Path) -> None:
    verdicts = pinning(ingested(tmp_path, {MODEL: "\n".join(LINES) + "\n"}))
    gap = verdicts[0]
    assert gap.subject == "environment" and gap.outcome == "could_not_evaluate"  # never a pass
    assert "installed packages not captured" in gap.message and "declared requirements were checked" in gap.message
    by_name = {v.subject: v for v in verdicts[1:]}
    assert set(by_name) == {f"package:{n}" for n in ("jinja2", "requests", "numpy", "src", "feat", "core", WHEEL)}
    for verdict in by_name.values():
        assert verdict.message.startswith("declared requirement ")
        assert verdict.evidence["environment"] == "declared" and verdict.evidence["file"] == MODEL
        assert "None" not in verdict.message
    assert by_name["package:jinja2"].outcome == "pass" and by_name["package:jinja2"].evidence["line"] == 1
    assert "not observed installed" in by_name["package:jinja2"].message
    requests = by_name["package:requests"]
    assert requests.outcome == "fail"
    assert requests.message == f"declared requirement requests>=2 in {MODEL} line 2 is not an exact == pin"
    assert by_name["package:numpy"].outcome == "fail"
    assert by_name["package:numpy"].message == f"declared requirement numpy in {MODEL} line 3 is not an exact == pin"
    assert by_name["package:src"].outcome == "fail" and "editable" in by_name["package:src"].message
    assert by_name["package:feat"].outcome == "fail" and "moving ref 'main'" in by_name["package:feat"].message
    assert by_name["package:core"].outcome == "pass" and COMMIT[:12] in by_name["package:core"].message
    assert by_name[f"package:{WHEEL}"].outcome == "fail" and "without a hash" in by_name[f"package:{WHEEL}"].message


def test_a_requirement_declared_in_two_files_is_judged_once(tmp_path: Path) -> None:
    files = {MODEL: "jinja2>=2\n", "artifacts/model/extra.txt": "# same as requirements.txt\njinja2>=2\nrich==13.0\n"}
    verdicts = pinning(ingested(tmp_path, files))
    jinja = [v for v in verdicts if v.subject == "package:jinja2"]
    assert len(jinja) == 1
    assert jinja[0].evidence["also_declared_in"] == "artifacts/model/extra.txt line 2"


def test_a_file_that_hashes_some_requirements_must_hash_all(tmp_path: Path) -> None:
    text = "jinja2==2.10 --hash=sha256:" + "a" * 64 + "\nrich==13.0\n"
    by_name = {v.subject: v for v in pinning(ingested(tmp_path, {MODEL: text}))}
    assert by_name["package:jinja2"].outcome == "pass" and "1 hash(es)" in by_name["package:jinja2"].message
    assert by_name["package:rich"].outcome == "fail" and "without a hash" in by_name["package:rich"].message


def test_no_declared_and_no_installed_packages_is_one_could_not_evaluate() -> None:
    record = make_record()
    record = record.model_copy(
        update={"environment": record.environment.model_copy(update={"packages": NOT_CAPTURED, "declared": None})}
    )
    (verdict,) = pinning(record)
    assert verdict.outcome == "could_not_evaluate" and "declared" not in verdict.message


def test_an_executed_run_keeps_installed_against_declared_and_names_an_unpinned_line(tmp_path: Path) -> None:
    record = make_record()
    environment = record.environment.model_copy(
        update={"declared": declared(tmp_path, {"requirements.txt": "numpy\n"})}
    )
    (verdict,) = pinning(record.model_copy(update={"environment": environment}))
    assert verdict.subject == "package:numpy" and verdict.outcome == "fail"
    assert verdict.message == "requirement numpy (no version at all) is not an exact == pin"
    assert "environment" not in verdict.evidence  # about the installed numpy 2.1.0, as before


def test_a_declared_vulnerable_pin_fails_the_vulnerability_rule_labelled_declared(tmp_path: Path) -> None:
    record = ingested(tmp_path, {MODEL: "jinja2==2.10\nrequests>=2\n", "artifacts/model/conda.txt": "jinja2==2.10\n"})
    report = check(record, tmp_path)
    vulns = [f for f in report.findings if f.rule_id == "AUD-VULN-001"]
    jinja = [f for f in vulns if f.subject == "package:jinja2"]
    assert len(jinja) == 1 and jinja[0].outcome == "fail"
    assert jinja[0].message.startswith(
        f"declared requirement jinja2==2.10 in {MODEL} line 1: jinja2 2.10 is affected by"
    )
    assert "PYSEC-2019-217" in jinja[0].message and "(declared, not observed installed)" in jinja[0].message
    assert jinja[0].evidence["environment"] == "declared" and jinja[0].evidence["line"] == 1
    assert jinja[0].evidence["also_declared_in"] == "artifacts/model/conda.txt line 1"
    outcomes = {f.subject: f.outcome for f in vulns}
    assert outcomes["environment"] == "could_not_evaluate"
    assert outcomes["package:requests"] == "could_not_evaluate"
    assert report.with_waivers.exit_code == 1
    assert report.vulnerabilities is not None
    assert [(p.name, p.version) for p in report.vulnerabilities.packages] == [("jinja2", "2.10")]


def test_clean_declared_pins_never_make_the_rules_pass(tmp_path: Path) -> None:
    report = check(ingested(tmp_path, {MODEL: "jinja2==3.1.4\n"}), tmp_path)
    for rule in ("AUD-ENV-001", "AUD-VULN-001"):
        outcomes = {f.subject: f.outcome for f in report.findings if f.rule_id == rule}
        assert outcomes == {"environment": "could_not_evaluate", "package:jinja2": "pass"}, rule
    assert report.with_waivers.exit_code != 0


def test_an_executed_run_is_audited_on_what_was_installed_not_also_on_what_was_declared(tmp_path: Path) -> None:
    record = make_record()  # numpy 2.1.0 installed
    environment = record.environment.model_copy(
        update={"declared": declared(tmp_path, {"requirements.txt": "numpy==2.1.0\njinja2==2.10\n"})}
    )
    report = check(record.model_copy(update={"environment": environment}), tmp_path)
    for rule in ("AUD-ENV-001", "AUD-VULN-001"):
        found = [f for f in report.findings if f.rule_id == rule]
        assert [f.subject for f in found] == ["package:numpy"], rule
        assert all("declared requirement" not in f.message and "environment" not in f.evidence for f in found)
    assert report.vulnerabilities is not None
    assert [(p.name, p.version) for p in report.vulnerabilities.packages] == [("numpy", "2.1.0")]
