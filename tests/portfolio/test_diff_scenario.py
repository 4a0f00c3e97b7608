"""`auditor diff` on the shared portfolio scenario (tests/portfolio/scenario.py): the sample project
run with a changed data file, a changed package and another seed; each diff against the baseline
finds what was planted and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ADVISORY_SNAPSHOT, CliRunner
from tests.portfolio.scenario import Scenario

pytestmark = pytest.mark.slow

CHECK = ("--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT))


def diff(cli: CliRunner, scenario: Scenario, a: str, b: str) -> dict[str, Any]:
    done = cli(
        "diff", scenario.run(a), scenario.run(b), "--store", str(scenario.store), "--format", "json", *CHECK,
        cwd=scenario.root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def states(document: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["state"] for s in document["sections"]}


def changes(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return next(s["changes"] for s in document["sections"] if s["name"] == name)


def criteria(document: dict[str, Any]) -> dict[str, str]:
    return {c["criterion"]: c["verdict"] for c in document["substantial_modification"]["criteria"]}


def test_the_baseline_against_itself(cli: CliRunner, scenario: Scenario) -> None:
    document = diff(cli, scenario, "baseline", "baseline")
    found = states(document)
    assert found.pop("code") in ("same", "not recorded in A or B")  # same, once capture fills record.code
    assert set(found.values()) == {"same"}
    assert "indicated" not in criteria(document).values()


def test_a_changed_data_file(cli: CliRunner, scenario: Scenario) -> None:
    document = diff(cli, scenario, "baseline", "changed_data")
    found = states(document)
    assert {k for k, v in found.items() if v == "same"} >= {"project", "environment", "hardware", "params"}
    assert found["data"] == "changed"
    inputs = [c for c in changes(document, "data") if c["what"].endswith("(input)")]
    assert [(c["kind"], c["what"]) for c in inputs] == [("changed", "dataset german-credit-package (input)")]
    assert inputs[0]["a"].startswith("sha256:") and inputs[0]["b"].startswith("sha256:")
    assert criteria(document) == {
        "training data": "indicated",
        "model type": "not indicated",
        "intended purpose": "not indicated",
    }


def test_a_changed_package_is_the_only_change_of_environment(cli: CliRunner, scenario: Scenario) -> None:
    document = diff(cli, scenario, "baseline", "changed_package")
    found = states(document)
    assert found["environment"] == "changed"
    [change] = changes(document, "environment")
    assert (change["kind"], change["what"]) == ("changed", "package pandas")
    assert change["a"] != change["b"]
    for name in ("project", "hardware", "data", "params", "metrics", "fairness"):
        assert found[name] == "same", (name, changes(document, name))
    assert [c["what"] for c in changes(document, "findings") if c["kind"] == "added"] == ["AUD-ENV-001 package:pandas"]
    assert "indicated" not in criteria(document).values()


def test_another_seed(cli: CliRunner, scenario: Scenario) -> None:
    document = diff(cli, scenario, "baseline", "other_seed")
    found = states(document)
    assert found["params"] == "changed"
    params = changes(document, "params")
    assert [(c["what"], c["a"], c["b"]) for c in params] == [("param seed (params.yaml)", "42", "7")]
    for name in ("project", "environment", "hardware"):
        assert found[name] == "same", (name, changes(document, name))
    assert found["metrics"] == "changed"
    assert criteria(document)["training data"] == "not indicated"  # params.yaml is configuration, not data
