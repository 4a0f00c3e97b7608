"""The shared portfolio scenario holds what it says it planted, as the real CLI lists it."""

from __future__ import annotations

import json

import pytest

from auditor.capture.codeprint import similarity
from auditor.index import query
from auditor.store.runs import RunStore
from tests.conftest import CliRunner
from tests.portfolio.scenario import ROLES, Scenario

pytestmark = pytest.mark.slow


def test_the_store_lists_what_was_planted(cli: CliRunner, scenario: Scenario) -> None:
    done = cli("runs", "--store", str(scenario.store), "--json", cwd=scenario.root)
    assert done.returncode == 0, done.stderr
    listed = {run["run_id"]: run for run in map(json.loads, done.stdout.splitlines())}
    assert set(listed) == {scenario.runs[role] for role in ROLES} and len(listed) == len(ROLES)
    statuses = {role: listed[scenario.runs[role]]["status"] for role in ROLES}
    assert statuses == {role: "failed" if role == "mlflow_broken" else "succeeded" for role in ROLES}

    summaries = {role: query.summary(RunStore(scenario.store), scenario.runs[role]) for role in ROLES}
    sample = ("baseline", "changed_data", "changed_package", "other_seed")
    assert {summaries[role].project for role in sample} == {"credit-scoring"}
    assert {summaries[r].tool for r in ("mlflow_train", "mlflow_broken", "dvc")} == {"MLflow", "DVC"}

    def inputs(role: str) -> dict[str, str | None]:
        return {d.id: d.before for d in summaries[role].datasets if d.role == "input"}

    def version(role: str, name: str) -> str:
        return dict(summaries[role].packages)[name]

    base = inputs("baseline")
    assert inputs("changed_data")["german-credit-package"] != base["german-credit-package"]
    assert inputs("changed_data")["params"] == base["params"]
    assert inputs("other_seed")["params"] != base["params"]
    assert inputs("changed_package") == base and version("changed_package", "pandas") != version("baseline", "pandas")
    assert summaries["changed_data"].packages == summaries["baseline"].packages

    a, b, other = summaries["dup_a"], summaries["dup_b"], summaries["reference_only"]
    assert (a.run_id, b.run_id) == scenario.duplicate_pair
    assert (a.project, b.project) == scenario.duplicate_projects and a.owner != b.owner and a.user != b.user
    assert {d.before for d in a.datasets if d.role == "input"} == {d.before for d in b.datasets if d.role == "input"}
    assert {d.path for d in a.datasets} & {d.path for d in b.datasets} == set()  # other names, same bytes
    assert [s.name for s in a.steps] == [s.name for s in b.steps] and (a.label, a.sensitive) == (b.label, b.sensitive)
    shared = {d.before for d in other.datasets if d.before} & {d.before for d in a.datasets}
    assert shared == {scenario.reference_key}
    assert other.label != a.label and [s.name for s in other.steps] != [s.name for s in a.steps]


def test_the_code_of_the_duplicates_matches_and_the_others_does_not(scenario: Scenario) -> None:
    store = RunStore(scenario.store)
    summaries = {role: query.summary(store, scenario.runs[role]) for role in ROLES}
    sample = {c.path for c in summaries["baseline"].code}
    assert sample == {"run_pipeline.py", "src/fetch_data.py", "src/prepare.py", "src/train.py"}
    assert {c.path for c in summaries["dvc"].code} == {"src/prepare.py", "src/train.py", "src/evaluate.py"}
    assert summaries["mlflow_train"].code == ()  # MLflow does not record the code's content

    def best(one: str, other: str) -> list[float]:
        """For each code file of `one`, its highest estimated similarity to a file of `other`."""
        return [
            max((similarity(c.minhash, d.minhash) or 0.0) for d in summaries[other].code)
            for c in summaries[one].code
            if c.minhash
        ]

    assert min(best("dup_a", "dup_b")) > 0.8 and min(best("dup_b", "dup_a")) > 0.8
    assert {c.sha256 for c in summaries["dup_a"].code}.isdisjoint(c.sha256 for c in summaries["dup_b"].code)
    assert max(best("reference_only", "dup_a")) < 0.3 and max(best("baseline", "dup_a")) < 0.3
