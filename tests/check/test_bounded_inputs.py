"""What an attacker found could hang `auditor check` or fill its memory, through the real CLI.

Every input file (record, auditor.yaml, packs, waivers) must be a regular file of bounded size:
a FIFO or a device named as one (directly or through a link) is one line and exit 2, at once. A
record whose evidence is ambiguous (a key twice, NaN or infinity) is refused; a fairness value
that is no number never passes; a custom rule pulled in by a repository's auditor.yaml cannot
hang the check.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from auditor.check.checks import cel
from auditor.check.checks.expression import ExpressionParams
from auditor.check.checks.fairness import FAIRNESS_THRESHOLD, ThresholdParams
from auditor.check.checks.interface import Allowance, CheckContext
from auditor.record.fairness import AttributeFairness, Bootstrap, Disparity, Fairness, GroupMetrics
from auditor.record.io import dump_record
from tests.check.test_check_cli import PACK
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

CTX = CheckContext(today=date(2026, 11, 27))
TIMEOUT = 60  # seconds: each command below answers in about one; a hang fails instead of blocking the suite


def _project(tmp_path: Path) -> Path:
    (tmp_path / "mini.yaml").write_text(PACK)
    (tmp_path / "rec.json").write_bytes(dump_record(make_record()))
    return tmp_path


def _check(cli: CliRunner, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = base_env(AUDITOR_CACHE_DIR=str(cwd / "cache"))
    done = cli("check", *args, cwd=cwd, env=env, timeout=TIMEOUT)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "link to device", "link to fifo"])
@pytest.mark.parametrize(
    ("option", "what"),
    [
        ("--waivers", "a waivers file"),
        ("--policy", "a rule pack"),
        ("--config", "auditor.yaml"),
        ("RUN", "a run record"),
    ],
)
def test_a_fifo_or_a_device_as_an_input_is_one_line_and_exit_2(
    cli: CliRunner, tmp_path: Path, option: str, what: str, kind: str
) -> None:
    cwd = _project(tmp_path)
    special = cwd / "special.yaml"
    if kind == "device":
        special = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(special)
    else:
        target = cwd / "fifo" if kind == "link to fifo" else Path("/dev/zero")
        if kind == "link to fifo":
            os.mkfifo(target)
        special.symlink_to(target)
    args = [str(special), "--policy", "mini.yaml"] if option == "RUN" else ["rec.json", option, str(special)]
    if option != "--policy" and option != "RUN":
        args += ["--policy", "mini.yaml"]
    code, out, err = _check(cli, cwd, *args)
    shown = "a FIFO" if "fifo" in kind else "a character device"
    assert code == 2, (out, err)
    assert err.endswith(f"{special}: {shown}: {what} is read only from a regular file\n"), err
    assert err.count("\n") == 1 and not out


def test_auditor_yaml_linked_to_a_device_is_an_error_not_no_spec(cli: CliRunner, tmp_path: Path) -> None:
    cwd = _project(tmp_path)
    (cwd / "auditor.yaml").symlink_to("/dev/zero")
    code, out, err = _check(cli, cwd, "rec.json", "--policy", "mini.yaml")
    assert code == 2 and not out
    why = "a character device: auditor.yaml is read only from a regular file"
    assert err == f"auditor: error: {cwd / 'auditor.yaml'}: {why}\n"


def test_a_pack_that_auditor_yaml_names_is_read_the_same_way(cli: CliRunner, tmp_path: Path) -> None:
    cwd = _project(tmp_path)
    os.mkfifo(cwd / "team.yaml")
    (cwd / "auditor.yaml").write_text("project: {name: p}\npolicy:\n  packs: [team.yaml]\n")
    code, _, err = _check(cli, cwd, "rec.json")
    assert code == 2 and f"{cwd / 'team.yaml'}: a FIFO: a rule pack is read only" in err
    (cwd / "team.yaml").unlink()
    (cwd / "team.yaml").write_text("pack: team\nversion: 1\ndescription: d\nincludes: [inner]\n")
    (cwd / "inner.yaml").symlink_to("/dev/zero")  # an include, beside the pack
    code, _, err = _check(cli, cwd, "rec.json")
    assert code == 2 and f"{cwd / 'inner.yaml'}: a character device: a rule pack is read only" in err


def test_rules_validate_refuses_a_fifo(cli: CliRunner, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pack.yaml")
    done = cli("rules", "validate", "pack.yaml", cwd=tmp_path, timeout=TIMEOUT)
    assert done.returncode == 2 and "pack.yaml: a FIFO: a rule pack is read only from a regular file" in done.stderr


def test_inputs_over_their_cap_name_it(cli: CliRunner, tmp_path: Path) -> None:
    cwd = _project(tmp_path)
    (cwd / "waivers.yaml").write_bytes(b"#" * ((1 << 20) + 1) + b"\n")
    code, _, err = _check(cli, cwd, "rec.json", "--policy", "mini.yaml", "--waivers", "waivers.yaml")
    assert code == 2 and err.endswith("waivers.yaml: 1,048,578 bytes: a waivers file may be at most 1 MiB\n"), err


@pytest.mark.parametrize("where", ["RUN", "--waivers", "--config", "--policy"])
def test_a_name_too_long_for_the_file_system_is_exit_2(cli: CliRunner, tmp_path: Path, where: str) -> None:
    cwd = _project(tmp_path)
    long = "a" * 300 + (".json" if where == "RUN" else ".yaml")
    args = [long, "--policy", "mini.yaml"] if where == "RUN" else ["rec.json", where, long]
    code, out, err = _check(cli, cwd, *args)
    assert code == 2 and not out, err
    assert err.startswith("auditor: error: ") and "file name too long" in err and err.count("\n") == 1


def test_a_name_too_long_anywhere_else_is_exit_2_too(cli: CliRunner, tmp_path: Path) -> None:
    """Wherever auditor looks a path up (the advisory folder, an ingest source, a store), not only in
    the readers above: a name the file system cannot hold is the user's input, never a crash."""
    long = str(tmp_path / ("a" * 300))
    for args in (("ingest", long), ("runs", "--store", long), ("ingest", "mlflow", f"sqlite:///{long}")):
        done = cli(*args, cwd=tmp_path, timeout=TIMEOUT)
        assert done.returncode == 2 and "file name too long" in done.stderr, (args, done.stderr)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('"exit_code": 0', '"exit_code": 0, "exit_code": 1'), "the key 'exit_code' appears twice in one object"),
        (('"duration_s": 60.0', '"duration_s": Infinity'), "Infinity is not a JSON number"),
        (('"duration_s": 60.0', '"duration_s": NaN'), "NaN is not a JSON number"),
        (('"duration_s": 60.0', '"duration_s": 1e999'), "the number 1e999 is too large for a float"),
    ],
)
def test_a_record_whose_evidence_is_ambiguous_is_refused(
    cli: CliRunner, tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    cwd = _project(tmp_path)
    text = (cwd / "rec.json").read_text()
    assert change[0] in text
    (cwd / "rec.json").write_text(text.replace(change[0], change[1], 1))
    code, out, err = _check(cli, cwd, "rec.json", "--policy", "mini.yaml")
    assert code == 2 and not out
    assert err.startswith(f"auditor: error: {cwd / 'rec.json'}: {problem}") and err.count("\n") == 1, err
    report = cli("report", "rec.json", "--policy", "mini.yaml", "-o", "out", cwd=cwd, timeout=TIMEOUT)
    assert report.returncode == 2 and not (cwd / "out").exists()  # nothing written on exit 2


def _fairness(value: float) -> Fairness:
    group = GroupMetrics(
        group=("a",), count=50, positives=20, selection_rate=0.4, true_positive_rate=0.5,
        false_positive_rate=0.1, accuracy=0.8, small=False,
    )  # fmt: skip
    # the models refuse a value that is no number (record/base.py); a record built in code without
    # validation (model_construct) is what is left, and the check must still not pass it
    gap = Disparity.model_construct(
        metric="demographic_parity_difference", value=value, groups=(("a",), ("b",)), ci_low=None, ci_high=None
    )
    block = AttributeFairness.model_construct(
        attributes=("g",), groups=(group, group.model_copy(update={"group": ("b",)})), disparities=(gap,), issues=()
    )
    return Fairness.model_construct(
        state="captured",
        predictions_path="p.csv", predictions_sha256="0" * 64, rows=100, label_column="y", prediction_column="p",
        score_column=None, favourable_outcome="1", min_group_size=30, reference_groups={},
        bootstrap=Bootstrap(resamples=0, seed=0, confidence=0.95), by_attributes=(block,), issues=(),
    )  # fmt: skip


@pytest.mark.parametrize("value", [float("-inf"), float("inf"), float("nan")])
@pytest.mark.parametrize("bound", [{"max": 0.1}, {"min": 0.8}])
def test_a_fairness_value_that_is_no_number_never_passes(value: float, bound: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="finite number"):
        Disparity(metric="demographic_parity_difference", value=value, groups=())
    record = make_record().model_copy(update={"fairness": _fairness(value)})
    params = ThresholdParams(metric="demographic_parity_difference", **bound)
    (verdict,) = FAIRNESS_THRESHOLD.run(record, params, CTX)
    assert verdict.outcome == "could_not_evaluate" and "not a finite number" in verdict.message


NESTED = "[" + ",".join(str(n) for n in range(20)) + "]"
SLOW = f".all(a, {NESTED}.all(b, {NESTED}.all(c, {NESTED}.all(d, {NESTED}.all(e, a + b + c + d + e >= 0)))))"
DOUBLING = "[[1, 2, 3, 4, 5, 6, 7, 8]]" + ".map(x, x + x)" * 40 + ".size() > 0"


def test_nested_comprehensions_are_stopped_by_the_step_budget() -> None:
    params = ExpressionParams(expression=NESTED + SLOW)  # 20^5 = 3.2 million inner evaluations: minutes
    (verdict,) = cel.evaluate(make_record(), params, CTX, budget=cel.Budget(steps=20_000))
    assert verdict.outcome == "could_not_evaluate"
    assert verdict.message == "the rule was stopped: more than 20,000 evaluation steps: too costly to evaluate"


def test_a_value_that_doubles_at_each_level_pays_for_its_size() -> None:
    (verdict,) = cel.evaluate(make_record(), ExpressionParams(expression=DOUBLING), CTX)  # 2^40 items otherwise
    assert verdict.outcome == "could_not_evaluate" and "evaluation steps" in verdict.message


def test_the_wall_clock_budget_and_the_allowance_of_the_whole_check() -> None:
    params = ExpressionParams(expression=NESTED + SLOW)
    (verdict,) = cel.evaluate(make_record(), params, CTX, budget=cel.Budget(seconds=0.0))
    assert verdict.outcome == "could_not_evaluate" and "s of evaluation: too costly" in verdict.message
    spent = CheckContext(today=CTX.today, custom=Allowance(seconds=60, spent=60))
    (verdict,) = cel.evaluate(make_record(), ExpressionParams(expression="true"), spent)
    assert verdict.outcome == "could_not_evaluate" and "took 60 s already" in verdict.message
    fresh = CheckContext(today=CTX.today)
    (verdict,) = cel.evaluate(make_record(), ExpressionParams(expression="record.identity.exit_code == 0"), fresh)
    assert verdict.outcome == "pass" and 0 < fresh.custom.spent < 5


def test_a_costly_rule_from_a_repositorys_auditor_yaml_cannot_hang_check(cli: CliRunner, tmp_path: Path) -> None:
    cwd = _project(tmp_path)
    rule = {
        "id": "REPO-COST-1", "title": "t", "severity": "low", "rationale": "r", "remediation": "r",
        "references": ["x"], "check": {"kind": "expression", "params": {"expression": DOUBLING}},
    }  # fmt: skip
    pack = {"pack": "repo", "version": 1, "description": "d", "includes": ["mini"], "rules": [rule]}
    (cwd / "repo.yaml").write_text(json.dumps(pack))  # JSON is YAML
    (cwd / "auditor.yaml").write_text("project: {name: p}\npolicy:\n  packs: [repo.yaml]\n")
    code, out, err = _check(cli, cwd, "rec.json", "--format", "json")
    assert code in (1, 3), err  # the seed rule fails (1); the costly one could not be evaluated, never a pass
    (finding,) = [f for f in json.loads(out)["findings"] if f["rule_id"] == "REPO-COST-1"]
    assert finding["outcome"] == "could_not_evaluate" and "too costly to evaluate" in finding["message"]
