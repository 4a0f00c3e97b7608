"""The fairness rules' three outcomes, each from a constructed data set captured for real, and what the
"inconclusive" outcome does downstream: exit codes, waivers, clauses, tallies and every output format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from auditor.capture.fairness import compute_fairness
from auditor.check.checks.fairness import FAIRNESS_THRESHOLD, GROUP_SIZES, ThresholdParams
from auditor.check.checks.interface import CheckContext
from auditor.check.clauses import clause_status
from auditor.check.packs import Clause
from auditor.check.waivers import Waiver, apply_waivers
from auditor.errors import EXIT_COULD_NOT_EVALUATE, EXIT_OK, EXIT_VIOLATIONS
from auditor.record import RunRecord
from auditor.record.fairness import Fairness
from auditor.record.findings import Finding, tally
from auditor.record.io import dump_record
from auditor.render.json_report import report_schema
from auditor.vocabulary import OUTCOMES
from tests.conftest import CliRunner, base_env
from tests.factories import make_record
from tests.render.test_formats import sarif_validator

CTX = CheckContext(today=date(2026, 11, 27))
DPD = ThresholdParams(metric="demographic_parity_difference", max=0.1)
DI = ThresholdParams(metric="disparate_impact_ratio", min=0.8)
EOD = ThresholdParams(metric="equalized_odds_difference", max=0.1)
Cells = tuple[
    int, int, int, int
]  # (label 0 prediction 0, label 0 prediction 1, label 1 prediction 0, label 1 prediction 1)
EVEN: Cells = (300, 100, 100, 1500)  # 2,000 rows: selection 0.80, TPR 0.9375, FPR 0.25


def predictions(tmp_path: Path, groups: dict[tuple[str, str], Cells], name: str = "p.csv") -> Path:
    """A predictions file with exactly these confusion counts per (sex, age_group)."""
    lines = ["sex,age_group,label,prediction"]
    for (sex, age), cells in groups.items():
        for (label, prediction), count in zip(((0, 0), (0, 1), (1, 0), (1, 1)), cells, strict=True):
            lines += [f"{sex},{age},{label},{prediction}"] * count
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def capture(
    path: Path, *, reference: dict[str, str] | None = None, sensitive: tuple[str, ...] = ("sex", "age_group")
) -> Fairness:
    return compute_fairness(
        path,
        display_path="p.csv",
        label_column="label",
        prediction_column="prediction",
        score_column=None,
        sensitive_columns=list(sensitive),
        favourable_outcome="1",
        min_group_size=30,
        reference_groups=reference if reference is not None else {"sex": "m", "age_group": "old"},
        resamples=400,
        seed=1,
    )


def outcomes(fairness: Fairness, params: ThresholdParams) -> dict[str, str]:
    record = make_record().model_copy(update={"fairness": fairness})
    return {v.subject: v.outcome for v in FAIRNESS_THRESHOLD.run(record, params, CTX)}


def verdicts(fairness: Fairness, params: ThresholdParams) -> dict[str, tuple[str, str]]:
    record = make_record().model_copy(update={"fairness": fairness})
    return {v.subject: (v.outcome, v.message) for v in FAIRNESS_THRESHOLD.run(record, params, CTX)}


def test_equal_large_groups_pass(tmp_path: Path) -> None:
    fairness = capture(predictions(tmp_path, {(s, a): EVEN for s in "fm" for a in ("young", "old")}))
    for params in (DPD, DI, EOD):
        assert set(outcomes(fairness, params).values()) == {"pass"}, params.metric
    _, message = verdicts(fairness, DPD)["attribute:sex"]
    assert message.startswith("People in sex f get the favourable prediction 80.0% of the time vs 80.0% for sex m")
    assert message.endswith("passes (the compared quantities lie within the bound, intervals included).")


def test_a_large_established_gap_fails_with_a_plain_sentence(tmp_path: Path) -> None:
    low: Cells = (900, 100, 500, 500)  # selection 0.30 among 2,000
    fairness = capture(predictions(tmp_path, {("f", "old"): low, ("m", "old"): EVEN}))
    outcome, message = verdicts(fairness, DPD)["attribute:sex"]
    assert outcome == "fail"
    assert message.startswith(
        "People in sex f get the favourable prediction 30.0% of the time vs 80.0% for sex m (n=2000 vs 2000; "
        "difference −50.0 points, 95% interval −"
    )
    assert message.endswith("bound ±10 points): fails: the estimate and the whole interval lie beyond the bound.")
    assert outcomes(fairness, DI)["attribute:sex"] == "fail"  # ratio 0.375


def test_a_gap_whose_interval_straddles_the_bound_is_inconclusive(tmp_path: Path) -> None:
    # 60 rows each, both selected at 0.70: no gap, but on so few rows the interval reaches beyond ±10 points
    groups = {("f", "old"): (12, 6, 6, 36), ("m", "old"): (9, 3, 9, 39)}
    fairness = capture(predictions(tmp_path, groups))
    record = make_record().model_copy(update={"fairness": fairness})
    (verdict,) = (v for v in FAIRNESS_THRESHOLD.run(record, DPD, CTX) if v.subject == "attribute:sex")
    assert verdict.outcome == "inconclusive"
    assert verdict.message.endswith("inconclusive: the interval reaches beyond the bound.")
    assert verdict.evidence["ci_low"] is not None and verdict.evidence["ci_low"] < -0.1  # type: ignore[operator]
    assert verdict.evidence["group"] == "f" and verdict.evidence["reference"] == "m"


def test_an_estimate_beyond_the_bound_with_an_interval_reaching_back_is_inconclusive(tmp_path: Path) -> None:
    # 40 rows with selection 0.65 against 2,000 at 0.80: 15 points below, the interval reaching above -10
    fairness = capture(predictions(tmp_path, {("f", "old"): (10, 6, 4, 20), ("m", "old"): EVEN}))
    outcome, message = verdicts(fairness, DPD)["attribute:sex"]
    assert outcome == "inconclusive", message
    assert "inconclusive: the estimate is beyond the bound, but the interval reaches back within it" in message


def test_a_small_intersectional_group_keeps_the_comparison_from_passing(tmp_path: Path) -> None:
    groups = {(s, a): EVEN for s in "fm" for a in ("young", "old")}
    groups[("f", "young")] = (2, 1, 1, 8)  # 12 rows, same rates roughly: below the minimum size of 30
    fairness = capture(predictions(tmp_path, groups))
    result = outcomes(fairness, DPD)
    assert result["attribute:sex"] == "pass" and result["attribute:age_group"] == "pass"
    assert result["attribute:sex&age_group"] == "inconclusive"
    _, message = verdicts(fairness, DPD)["attribute:sex&age_group"]
    assert message.startswith("People in sex f & age_group young get the favourable prediction 75.0% of the time")
    record = make_record().model_copy(update={"fairness": fairness})
    sizes = {v.subject: v for v in GROUP_SIZES.run(record, GROUP_SIZES.params(), CTX)}
    assert sizes["attribute:sex&age_group"].outcome == "fail"
    assert sizes["attribute:sex&age_group"].message.startswith(
        "1 group below 30 rows: sex f & age_group young (12 rows);"
    )


def test_without_intervals_nothing_passes(tmp_path: Path) -> None:
    path = predictions(tmp_path, {(s, a): EVEN for s in "fm" for a in ("young", "old")})
    fairness = compute_fairness(
        path,
        display_path="p.csv",
        label_column="label",
        prediction_column="prediction",
        score_column=None,
        sensitive_columns=["sex"],
        favourable_outcome="1",
        resamples=0,
    )
    (verdict,) = FAIRNESS_THRESHOLD.run(make_record().model_copy(update={"fairness": fairness}), DPD, CTX)
    assert verdict.outcome == "inconclusive" and "no interval was computed" in verdict.message


# --- "inconclusive" downstream --------------------------------------------------------------------------------


def test_inconclusive_is_ordered_after_fail_and_is_the_worst_short_of_it() -> None:
    assert OUTCOMES.index("fail") < OUTCOMES.index("inconclusive") < OUTCOMES.index("could_not_evaluate")

    def finding(outcome: str) -> Finding:
        return Finding(rule_id="R", severity="high", subject="s", outcome=outcome, message="m")  # type: ignore[arg-type]

    assert tally([finding("pass"), finding("inconclusive"), finding("could_not_evaluate")]).worst == "inconclusive"
    assert tally([finding("inconclusive"), finding("fail")]).worst == "fail"
    clause = Clause(id="10(2)(f)", title="bias", rules=("R",))
    assert clause_status([finding("pass"), finding("inconclusive")], clause).status == "inconclusive"
    assert clause_status([finding("inconclusive"), finding("fail")], clause).status == "missing"  # nothing passed
    waiver = Waiver.model_validate(
        {
            "id": "W",
            "rule": "R",
            "scope": "s",
            "justification": "reviewed by the fairness board",
            "owner": "a@example.invalid",
            "approver": "b@example.invalid",
            "expires": "2099-01-01",
        }
    )
    (waived,) = apply_waivers([finding("inconclusive")], (waiver,), date(2026, 11, 27)).findings
    assert (waived.outcome, waived.waiver) == ("waived", "W")


PACK = """\
pack: fair
version: 1
description: one fairness rule, and a seed rule that fails on this record
rules:
  - id: T-FAIR-1
    title: Demographic parity difference is at most 0.1
    severity: high
    rationale: r
    remediation: investigate the gap
    references: [x]
    check: {kind: fairness_threshold, params: {metric: demographic_parity_difference, max: 0.1}}
"""
SEED_RULE = """\
  - id: T-SEED-1
    title: seeds
    severity: high
    rationale: r
    remediation: log a seed
    references: [x]
    check: {kind: seeds_recorded}
"""
WAIVERS = """\
version: 1
waivers:
  - id: gap-reviewed
    rule: T-FAIR-1
    scope: attribute:sex
    justification: the gap was reviewed by the model risk committee
    owner: dave@example.invalid
    approver: erin@example.invalid
    expires: "2099-06-30"
"""


@pytest.fixture()
def inconclusive_record(tmp_path: Path) -> Path:
    groups = {("f", "old"): (12, 6, 6, 36), ("m", "old"): (9, 3, 9, 39)}
    fairness = capture(predictions(tmp_path, groups), sensitive=("sex",))  # one finding: inconclusive
    record: RunRecord = make_record().model_copy(update={"fairness": fairness})
    path = tmp_path / "rec.json"
    path.write_bytes(dump_record(record))
    return path


def _check(cli: CliRunner, cwd: Path, *args: str) -> tuple[int, str, str]:
    done = cli("check", "rec.json", *args, cwd=cwd, env=base_env(AUDITOR_CACHE_DIR=str(cwd / "cache")), timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_check_exits_3_on_an_inconclusive_finding_and_1_when_something_fails(
    cli: CliRunner, tmp_path: Path, inconclusive_record: Path
) -> None:
    (tmp_path / "fair.yaml").write_text(PACK)
    code, out, err = _check(cli, tmp_path, "--policy", "fair.yaml")
    assert code == EXIT_COULD_NOT_EVALUATE, err
    assert "INCONCLUSIVE" in out and "attribute:sex" in out
    code, out, _ = _check(cli, tmp_path, "--policy", "fair.yaml", "--fail-on", "critical")
    assert code == EXIT_OK  # below the threshold, like a failure below it
    (tmp_path / "both.yaml").write_text(PACK + SEED_RULE)
    code, _, _ = _check(cli, tmp_path, "--policy", "both.yaml")
    assert code == EXIT_VIOLATIONS  # the seed rule fails: a failure gives 1
    (tmp_path / "w.yaml").write_text(WAIVERS)
    code, out, err = _check(cli, tmp_path, "--policy", "fair.yaml", "--waivers", "w.yaml", "--format", "json")
    report = json.loads(out)
    assert code == EXIT_OK, err  # the waiver accepts the inconclusive finding
    assert report["without_waivers"]["exit_code"] == EXIT_COULD_NOT_EVALUATE
    assert report["without_waivers"]["totals"]["outcomes"]["inconclusive"] >= 1


def test_every_format_carries_an_inconclusive_finding(
    cli: CliRunner, tmp_path: Path, inconclusive_record: Path
) -> None:
    (tmp_path / "fair.yaml").write_text(PACK)
    _, out, _ = _check(cli, tmp_path, "--policy", "fair.yaml", "--format", "json")
    report = json.loads(out)
    jsonschema.validate(report, report_schema())
    assert report["with_waivers"]["verdict"] == "could_not_evaluate"
    assert {f["subject"]: f["outcome"] for f in report["findings"]}["attribute:sex"] == "inconclusive"

    _, out, _ = _check(cli, tmp_path, "--policy", "fair.yaml", "--format", "sarif")
    log = json.loads(out)
    sarif_validator().validate(log)
    results = {r["properties"]["subject"]: r for r in log["runs"][0]["results"]}
    assert results["attribute:sex"]["kind"] == "review" and results["attribute:sex"]["level"] == "none"
    assert results["attribute:sex"]["properties"]["outcome"] == "inconclusive"

    _, out, _ = _check(cli, tmp_path, "--policy", "fair.yaml", "--format", "junit")
    root = ET.fromstring(out)  # noqa: S314 - auditor's own output
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["attribute:sex"].find("failure")
    assert failure is not None and failure.get("type") == "inconclusive"

    _, out, _ = _check(cli, tmp_path, "--policy", "fair.yaml", "--format", "github")
    warnings = [line for line in out.splitlines() if line.startswith("::warning ")]
    assert any("::inconclusive: People in sex f" in line for line in warnings), out
