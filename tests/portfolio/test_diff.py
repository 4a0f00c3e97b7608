"""`auditor diff` on records committed into a real store, through the real CLI: each planted change is
found, in its section, and nothing else; missing evidence is never "the same"."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.record.base import Missing
from auditor.record.models import GitSource, Metric
from tests.conftest import ADVISORY_SNAPSHOT, CliRunner
from tests.factories import START
from tests.portfolio.diff_records import base, card, commit, fairness, lineage, packages

A = "01JGZ0000000000000000000AA"
SAME = "01JGZ0000000000000000000AB"
DATA = "01JGZ0000000000000000000AC"
PACKAGE = "01JGZ0000000000000000000AD"
PARAMS = "01JGZ0000000000000000000AE"
PURPOSE = "01JGZ0000000000000000000AF"
MODEL = "01JGZ0000000000000000000AG"
NO_FAIRNESS = "01JGZ0000000000000000000AH"
FAIR_WITHIN = "01JGZ0000000000000000000AJ"
FAIR_BEYOND = "01JGZ0000000000000000000AK"
DIRTY = "01JGZ0000000000000000000AM"
OLD = "01JGZ0000000000000000000AN"
SECTIONS = ["project", "code", "environment", "hardware", "data", "params", "metrics", "fairness", "findings"]
CHECK = ("--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff") / "store"
    a = base(A)
    env = a.environment
    dirty_source = a.source.model_copy(update={"dirty": True, "diff_sha256": "d" * 64})
    assert isinstance(dirty_source, GitSource)
    commit(
        root,
        [
            a,
            base(SAME),
            base(DATA, lineage=lineage(raw_sha="9" * 64)),
            base(PACKAGE, environment=env.model_copy(update={"packages": packages(numpy="2.2.0")})),
            base(
                PARAMS,
                params={"seed": 7, "C": 1.0},
                metrics=(
                    Metric(name="auc", value=0.8001, logged_at=START),
                    Metric(name="accuracy", value=0.65, logged_at=START),
                ),
            ),
            base(PURPOSE, lineage=lineage(intended="Decide loans automatically.")),
            base(MODEL, model_card=card("sklearn.ensemble.RandomForestClassifier")),
            base(NO_FAIRNESS, fairness=Missing(reason="no predictions file was declared")),
            base(FAIR_WITHIN, fairness=fairness(female=(0.52, 0.42, 0.62))),
            base(FAIR_BEYOND, fairness=fairness(female=(0.9, 0.85, 0.95))),
            base(DIRTY, source=dirty_source),
            base(OLD, code=None),
        ],
    )
    return root


def diff(cli: CliRunner, store: Path, a: str, b: str, *extra: str) -> dict[str, Any]:
    done = cli("diff", a, b, "--store", str(store), "--format", "json", *CHECK, *extra, cwd=store.parent)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["kind"] == "auditor.run-diff" and document["version"] == "1.0"
    assert [s["name"] for s in document["sections"]] == SECTIONS
    return document


def states(document: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["state"] for s in document["sections"]}


def changes(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return next(s["changes"] for s in document["sections"] if s["name"] == name)


def only_changed(document: dict[str, Any], *names: str) -> None:
    assert {k for k, v in states(document).items() if v != "same"} == set(names), states(document)
    for name in names:
        assert states(document)[name] == "changed"


def substantial(document: dict[str, Any]) -> dict[str, str]:
    return {c["criterion"]: c["verdict"] for c in document["substantial_modification"]["criteria"]}


def test_identical_runs_have_no_differences(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, SAME)
    assert set(states(document).values()) == {"same"}
    assert document["differs"] is False
    assert document["headline"] == "no differences: every section is the same"
    assert substantial(document) == {
        "training data": "not indicated",
        "model type": "not indicated",
        "intended purpose": "not indicated",
    }
    text = cli("diff", A, SAME, "--store", str(store), *CHECK, "--exit-code", cwd=store.parent)
    assert text.returncode == 0, text.stderr
    assert "no differences: every section is the same" in text.stdout


def test_a_changed_input_dataset_is_found_and_indicates_different_training_data(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, DATA)
    only_changed(document, "data")
    [change] = changes(document, "data")
    assert change == {
        "kind": "changed",
        "what": "dataset raw (input)",
        "a": "sha256:" + "1" * 64,
        "b": "sha256:" + "9" * 64,
        "detail": "content changed",
        "missing_in": None,
    }
    assert substantial(document)["training data"] == "indicated"
    criteria = document["substantial_modification"]["criteria"]
    assert any("9" * 64 in e for e in criteria[0]["evidence"])
    assert substantial(document)["intended purpose"] == "not indicated"
    assert "not a legal conclusion" in document["substantial_modification"]["wording"]


def test_a_changed_package_version_is_the_only_difference(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, PACKAGE)
    only_changed(document, "environment")
    assert changes(document, "environment") == [
        {"kind": "changed", "what": "package numpy", "a": "2.1.0", "b": "2.2.0", "detail": None, "missing_in": None}
    ]
    assert substantial(document)["training data"] == "not indicated"


def test_params_and_metrics_with_reproduces_tolerances(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, PARAMS)
    only_changed(document, "params", "metrics")
    assert [(c["kind"], c["what"], c["a"], c["b"]) for c in changes(document, "params")] == [
        ("changed", "param seed", "42", "7")
    ]
    metrics = {c["what"]: c for c in changes(document, "metrics")}
    assert metrics["metric accuracy"]["kind"] == "changed"
    assert metrics["metric accuracy"]["detail"] == "outside tolerance rel:1e-06, abs:1e-09"
    assert metrics["metric auc"]["kind"] == "changed"  # 1.25e-4 relative: outside the default

    wider = diff(cli, store, A, PARAMS, "--tolerance", "auc=rel:1e-3", "--tolerance", "*=abs:0.1")
    metrics = {c["what"]: c for c in changes(wider, "metrics")}
    assert metrics["metric auc"]["kind"] == "within"
    assert metrics["metric auc"]["detail"] == "within tolerance rel:0.001, abs:1e-09"
    assert metrics["metric accuracy"]["kind"] == "within"
    assert states(wider)["metrics"] == "same"
    assert wider["tolerances"] == {"*": "rel:1e-06, abs:0.1", "auc": "rel:0.001, abs:1e-09"}


def test_a_changed_intended_use_indicates_a_changed_purpose(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, PURPOSE)
    only_changed(document, "project")
    [change] = changes(document, "project")
    assert (change["what"], change["b"]) == ("intended use", "Decide loans automatically.")
    assert substantial(document) == {
        "training data": "not indicated",
        "model type": "not indicated",
        "intended purpose": "indicated",
    }
    text = cli("diff", A, PURPOSE, "--store", str(store), *CHECK, cwd=store.parent)
    assert "intended purpose: indicated" in text.stdout
    assert "indicates a possible substantial modification" in text.stdout


def test_a_changed_model_type(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, MODEL)
    assert set(states(document).values()) == {"same"}  # the model card is not a section of its own
    assert substantial(document)["model type"] == "indicated"
    evidence = document["substantial_modification"]["criteria"][1]["evidence"]
    assert evidence == [
        "model model: sklearn.linear_model.LogisticRegression -> sklearn.ensemble.RandomForestClassifier"
    ]


def test_missing_evidence_is_never_the_same(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, NO_FAIRNESS)
    assert states(document)["fairness"] == "not recorded in B"
    [change] = changes(document, "fairness")
    assert change["kind"] == "missing" and change["b"] == "no predictions file was declared"
    assert document["differs"] is True
    back = diff(cli, store, NO_FAIRNESS, A)
    assert states(back)["fairness"] == "not recorded in A"

    old = diff(cli, store, A, OLD)
    assert states(old)["code"] == "not recorded in B"
    text = cli("diff", OLD, OLD, "--store", str(store), *CHECK, "--exit-code", cwd=store.parent)
    assert text.returncode == 1  # the same run, but its code is not recorded: not "no differences"
    assert "Code: not recorded in A or B" in text.stdout
    assert "no differences" not in text.stdout


def test_fairness_changes_are_judged_by_their_intervals(cli: CliRunner, store: Path) -> None:
    within = diff(cli, store, A, FAIR_WITHIN)
    assert states(within)["fairness"] == "same"
    [change] = changes(within, "fairness")
    assert change["kind"] == "within"
    assert change["a"] == "0.5000 [0.4000, 0.6000]" and change["b"] == "0.5200 [0.4200, 0.6200]"
    assert change["detail"] == "the intervals overlap: not shown to have changed"

    beyond = diff(cli, store, A, FAIR_BEYOND)
    only_changed(beyond, "fairness")
    [change] = changes(beyond, "fairness")
    assert change["what"] == "selection rate of sex=female"
    assert change["detail"] == "changed beyond the intervals"


def test_findings_new_and_fixed(cli: CliRunner, store: Path) -> None:
    document = diff(cli, store, A, DIRTY)
    only_changed(document, "code", "findings")
    new = [c for c in changes(document, "findings") if c["kind"] == "added"]
    assert [c["what"] for c in new] == ["AUD-SRC-001 source"]
    assert new[0]["b"].startswith("fail (high): uncommitted changes")
    fixed = diff(cli, store, DIRTY, A)
    assert [c["what"] for c in changes(fixed, "findings") if c["kind"] == "removed"] == ["AUD-SRC-001 source"]
    text = cli("diff", DIRTY, A, "--store", str(store), *CHECK, cwd=store.parent)
    assert "- fixed: AUD-SRC-001 source: fail (high)" in text.stdout


def test_exit_codes_and_bad_usage(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    differs = cli("diff", A, DATA, "--store", str(store), *CHECK, "--exit-code", cwd=store.parent)
    assert differs.returncode == 1 and "Data and models: changed" in differs.stdout
    plain = cli("diff", A, DATA, "--store", str(store), *CHECK, cwd=store.parent)
    assert plain.returncode == 0
    unknown = cli("diff", A, "01JZZZ", "--store", str(store), *CHECK, cwd=store.parent)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1 and "01JZZZ" in unknown.stderr
    loose = cli("diff", A, "record.json", "--store", str(store), *CHECK, cwd=store.parent)
    assert loose.returncode == 2 and "runs in the store" in loose.stderr
    badfmt = cli("diff", A, SAME, "--store", str(store), "--format", "pdf", cwd=store.parent)
    assert badfmt.returncode == 2 and "--format" in badfmt.stderr
    badtol = cli("diff", A, SAME, "--store", str(store), "--tolerance", "auc=big", cwd=store.parent)
    assert badtol.returncode == 2 and "--tolerance" in badtol.stderr
    out = tmp_path / "diff.json"
    written = cli("diff", A, "latest", "--store", str(store), *CHECK, "--format", "json", "-o", str(out), cwd=tmp_path)
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(out.read_text())["b"]["run_id"] == OLD  # latest: the last run by id


def test_json_keys_are_sorted(cli: CliRunner, store: Path) -> None:
    done = cli("diff", A, DATA, "--store", str(store), *CHECK, "--format", "json", cwd=store.parent)
    document = json.loads(done.stdout)
    assert done.stdout == json.dumps(document, sort_keys=True, indent=2) + "\n"


def test_every_format_is_in_plain_words(cli: CliRunner, store: Path) -> None:
    """No Python None or repr in what a reader sees, missing parts included."""
    for b in (OLD, NO_FAIRNESS, PARAMS, DIRTY):
        for fmt in ("text", "html"):
            done = cli("diff", A, b, "--store", str(store), *CHECK, "--format", fmt, cwd=store.parent)
            assert done.returncode == 0, done.stderr
            assert not re.search(r"\bNone\b|<class '|object at 0x|\{'", done.stdout), (b, fmt)
