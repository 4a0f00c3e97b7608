"""`auditor duplicates` through the real CLI on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.portfolio.test_duplicates import planted
from tests.portfolio.xrun_records import Run, store_of


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("duplicates") / "store"
    store_of(root, planted())
    return root


def test_text_names_both_sides_owners_and_evidence(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    done = cli("duplicates", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Duplicate-work candidates among 4 projects: 1 pair scoring 0.50 or more."
    assert lines[2] == "1. credit-risk (owner: alice) and loan-default-model (owner: bob): score 1.00"
    assert lines[3].startswith("   - datasets (+0.35): both read the same input dataset version: data/applicants.csv")
    assert "shared reference data, not counted: reference/census.csv" in lines[3]
    assert lines[4].startswith("   - code (+0.30): 2 of 2 code files alike: ")
    assert "src/train.py ~ fit.py (the same code apart from names and literals)" in lines[4]
    assert lines[5].startswith("   - pipeline (+0.25): 2 of 2 steps alike: prepare (python src/")
    assert lines[6] == "   - labels (+0.10): the same label column default and sensitive attributes age, sex"


def test_json_by_owner(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    done = cli("duplicates", "--store", str(store), "--by", "owner", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["duplicates_version"], data["by"], data["groups"], data["min_score"]) == (1, "owner", 4, 0.5)
    assert [(p["a"], p["b"], p["a_projects"], p["b_projects"]) for p in data["pairs"]] == [
        ("alice", "bob", ["credit-risk"], ["loan-default-model"])
    ]
    assert {e["kind"] for e in data["pairs"][0]["evidence"]} == {"datasets", "pipeline", "labels", "code"}


def test_nothing_found_says_so(cli: CliRunner, tmp_path: Path) -> None:
    store_of(tmp_path / "store", [Run("01JGZ000000000000000000Z01", "alone", "zed", inputs=(("a.csv", "a"),))])
    done = cli("duplicates", "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (
        0,
        "No duplicate-work candidates among 1 project (score 0.50 or more).\n",
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--format", "html"), "auditor: error: --format: 'html' is not one of text, json\n"),
        (("--by", "team"), "auditor: error: --by: 'team' is not one of project, owner\n"),
        (("--min-score", "2"), "auditor: error: --min-score: 2.0 is not between 0 and 1\n"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    cli: CliRunner, store: Path, tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    done = cli("duplicates", "--store", str(store), *args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line)
