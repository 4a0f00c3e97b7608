"""Duplicate-work detection on the portfolio scenario: the planted pair is found, and nothing else."""

from __future__ import annotations

import json

from auditor.index.query import Filters, summaries
from auditor.portfolio.duplicates import find_duplicates
from auditor.store.runs import RunStore
from tests.conftest import CliRunner
from tests.portfolio.scenario import Scenario


def test_the_planted_pair_and_nothing_else(scenario: Scenario) -> None:
    runs = summaries(RunStore.open(scenario.store), Filters())
    pairs = find_duplicates(runs)
    assert [(p.a, p.b) for p in pairs] == [tuple(sorted(scenario.duplicate_projects))]
    pair = pairs[0]
    assert pair.score >= 0.9
    assert {pair.a_owners[0], pair.b_owners[0]} == {scenario.owners[p] for p in scenario.duplicate_projects}
    evidence = {e.kind: e.detail for e in pair.evidence}
    assert set(evidence) == {"datasets", "pipeline", "labels", "code"}
    assert f"{scenario.reference_key[:19]}, read by 3 projects" in evidence["datasets"]
    assert "shared reference data, not counted" in evidence["datasets"]
    assert "its script: the same code apart from names and literals" in evidence["pipeline"]
    assert "3 of 3 code files alike" in evidence["code"]
    # The project that shares only the reference table is in no pair, whatever the score.
    everything = find_duplicates(runs, min_score=0.0)
    assert everything == pairs
    assert scenario.projects["reference_only"] not in {name for p in everything for name in (p.a, p.b)}


def test_by_owner_through_the_cli(cli: CliRunner, scenario: Scenario) -> None:
    done = cli("duplicates", "--store", str(scenario.store), "--by", "owner", "--format", "json", cwd=scenario.root)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    owners = sorted(scenario.owners[p] for p in scenario.duplicate_projects)
    assert [[p["a"], p["b"]] for p in data["pairs"]] == [owners]
    text = cli("duplicates", "--store", str(scenario.store), cwd=scenario.root)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Duplicate-work candidates among 5 projects: 1 pair scoring 0.50 or more.\n")
