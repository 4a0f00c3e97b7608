"""Ways evidence can look fine without being so: each must end as a failure or "could not evaluate"."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.check.checks.fairness import FAIRNESS_THRESHOLD, ThresholdParams
from auditor.check.checks.interface import CheckContext
from auditor.check.checks.run import RUN_SUCCEEDED, SeedParams
from auditor.check.packs import PackError, load_pack
from auditor.check.waivers import Waiver, apply_waivers
from auditor.record.fairness import AttributeFairness, Bootstrap, Disparity, Fairness, GroupMetrics
from auditor.record.findings import Finding
from auditor.record.io import dump_record
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

CTX = CheckContext(today=date(2026, 11, 27))


def test_a_run_that_says_succeeded_with_a_nonzero_exit_fails() -> None:
    (verdict,) = RUN_SUCCEEDED.run(make_record(exit_code=1), RUN_SUCCEEDED.params(), CTX)
    assert verdict.outcome == "fail"


def test_unscorable_predictions_are_could_not_evaluate() -> None:
    group = GroupMetrics(
        group=("a",), count=50, positives=0, selection_rate=0.0, true_positive_rate=None,
        false_positive_rate=0.0, accuracy=1.0, small=False,
    )  # fmt: skip
    gap = Disparity(metric="demographic_parity_difference", value=0.0, groups=(("a",), ("b",)))
    block = AttributeFairness(
        attributes=("g",), groups=(group, group.model_copy(update={"group": ("b",)})), disparities=(gap,), issues=()
    )
    fairness = Fairness(
        predictions_path="p.csv", predictions_sha256="0" * 64, rows=100, label_column="y", prediction_column="p",
        score_column=None, favourable_outcome="approve", min_group_size=30, reference_groups={},
        bootstrap=Bootstrap(resamples=0, seed=0, confidence=0.95), by_attributes=(block,),
        issues=("column 'p': no value equals the favourable outcome 'approve' (values: 0, 1)",),
    )  # fmt: skip
    record = make_record().model_copy(update={"fairness": fairness})
    params = ThresholdParams(metric="demographic_parity_difference", max=0.1)
    (verdict,) = FAIRNESS_THRESHOLD.run(record, params, CTX)
    assert verdict.outcome == "could_not_evaluate" and "cannot be scored" in verdict.message


def test_pack_parameters_and_includes_are_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        SeedParams(names="(")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: bad\nversion: 1\ndescription: d\nincludes: [a/b]\n")
    with pytest.raises(PackError, match=r"bad\.yaml:4: includes\[0\]: String should match"):
        load_pack(bad)
    team = tmp_path / "team.yaml"  # `includes: [default]` beside no default.yaml: the shipped one
    team.write_text(
        "pack: team\nversion: 1\ndescription: d\nincludes: [default]\noverrides:\n"
        "  AUD-FAIR-001: {params: {max: 0.05}, reason: our regulator expects 5 points}\n"
    )
    pack = load_pack(team)
    (fair,) = [r for r in pack.rules if r.rule.id == "AUD-FAIR-001"]
    assert fair.rule.check.params["max"] == 0.05 and pack.overrides[0].source == f"{team}:6"


def _failing(advisories: str) -> Finding:
    return Finding(
        rule_id="AUD-VULN-001", severity="high", subject="package:jinja2", outcome="fail", message="m",
        evidence={"failing": advisories},
    )  # fmt: skip


def test_waivers_need_two_people_and_name_their_advisories() -> None:
    base = {
        "id": "W-1", "rule": "AUD-VULN-001", "scope": "package:jinja2", "justification": "not reachable in our use",
        "owner": "alice", "approver": "bob", "expires": "2099-01-01",
    }  # fmt: skip
    with pytest.raises(ValidationError, match="someone other than the owner"):
        Waiver.model_validate({**base, "approver": " Alice "})
    waiver = Waiver.model_validate({**base, "advisories": ["PYSEC-2019-217", "PYSEC-2021-66"]})
    covered = apply_waivers([_failing("PYSEC-2019-217, PYSEC-2021-66")], (waiver,), CTX.today)
    assert covered.findings[0].outcome == "waived"
    newer = apply_waivers([_failing("PYSEC-2019-217, PYSEC-2024-999")], (waiver,), CTX.today)
    assert newer.findings[0].outcome == "fail"  # a new advisory fails again
    assert newer.unused == () and [p.uncovered for p in newer.partial] == [("PYSEC-2024-999",)]  # not "remove it"


def _store(tmp_path: Path, record_json: str) -> Path:
    folder = tmp_path / "store" / "runs" / "01JGZ0000000000000000000AA"
    folder.mkdir(parents=True)
    (folder / "record.json").write_text(record_json)
    return folder / "record.json"


def test_hostile_and_broken_records_through_the_cli(cli: CliRunner, tmp_path: Path) -> None:
    data = json.loads(dump_record(make_record()))
    data["identity"]["run_id"] = "X\n::add-mask::hidden\n::error file=app.py::forged"
    data["identity"]["project"] = "\ud800x"
    path = _store(tmp_path, json.dumps(data))
    done = cli("check", str(path), cwd=tmp_path, env=base_env(AUDITOR_CACHE_DIR=str(tmp_path / "c")))
    assert done.returncode in (1, 3), done.stderr  # a verdict, not a crash
    assert not [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert "X\\x0a::add-mask::hidden" in done.stdout and "\\ud800x" in done.stdout
    path.write_text("[" * 100_000 + "]" * 100_000)
    done = cli("check", str(path), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == f"auditor: error: {path}: not valid JSON (nested too deeply)\n"
    data = json.loads(dump_record(make_record()))
    path.write_text(json.dumps(data).replace('"exit_code": 0', '"exit_code": ' + "9" * 5000))
    done = cli("check", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "not valid JSON" in done.stderr and len(done.stderr) < 400


def test_a_stale_database_can_be_made_to_fail(cli: CliRunner, tmp_path: Path) -> None:
    from tests.check.vulns.test_osv_local import SNAPSHOT

    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin("01JGZ0000000000000000000AA"), make_record())
    (tmp_path / "auditor.yaml").write_text(
        "version: 1\nproject: {name: demo}\npolicy:\n  vulnerabilities:\n    on_stale: fail\n    max_age_days: 90\n"
    )
    env = base_env(AUDITOR_CACHE_DIR=str(tmp_path / "c"), AUDITOR_ADVISORY_DB=str(SNAPSHOT))
    done = cli("check", "latest", "--store", str(tmp_path / "store"), "--format", "json", cwd=tmp_path, env=env)
    report = json.loads(done.stdout)
    assert report["config"] == str(tmp_path / "auditor.yaml")
    vuln = [f for f in report["findings"] if f["rule_id"] == "AUD-VULN-001"]
    assert vuln and all(f["outcome"] == "could_not_evaluate" for f in vuln)
    assert "days old (limit 90 days, on_stale: fail)" in report["vulnerabilities"]["error"]
    assert done.returncode == 1  # the default pack also fails this record's seeds; never 0
