"""Cross-run lineage on the portfolio scenario: each version with the runs that produced and read it."""

from __future__ import annotations

import json

from auditor.index.query import Filters, summaries
from auditor.portfolio.lineage import cross_run_lineage
from auditor.store.runs import RunStore
from tests.conftest import CliRunner
from tests.portfolio.scenario import ROLES, Scenario


def test_versions_producers_and_readers(scenario: Scenario) -> None:
    lineage = cross_run_lineage(summaries(RunStore.open(scenario.store), Filters()))
    run = scenario.run
    assert set(lineage.runs) == {run(role) for role in ROLES}
    german = lineage.artefacts("dataset")["data/raw/german.csv"]
    assert [v.produced_by for v in german] == [
        [run("baseline"), run("changed_package"), run("other_seed")],
        [run("changed_data")],  # the changed data file: a version of its own
    ]
    reference = lineage.versions[scenario.reference_key]
    assert reference.produced_by == []  # public data: from outside the store
    assert sorted(reference.read_by) == sorted(run(r) for r in ("dup_a", "dup_b", "reference_only"))
    assert len(reference.names) == 3  # each project stores it under a name of its own
    # Every run started from its own copy: no run read what another produced, so no link was made up.
    assert lineage.links == []


def test_project_scope_and_formats_through_the_cli(cli: CliRunner, scenario: Scenario) -> None:
    project = scenario.projects["dup_a"]
    done = cli("lineage", "--store", str(scenario.store), "--project", project, "--format", "json", cwd=scenario.root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [r["run_id"] for r in data["runs"]] == [scenario.run("dup_a")]
    assert data["links"] == [] and data["project"] == project
    svg = cli("lineage", "--store", str(scenario.store), "--format", "svg", cwd=scenario.root)
    assert svg.returncode == 0, svg.stderr
    assert svg.stdout.startswith("<svg ") and svg.stdout.count(">run 01") == len(ROLES)
    assert "Not drawn" not in svg.stdout
