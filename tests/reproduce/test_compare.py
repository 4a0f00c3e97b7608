"""The reproduction verdict: identical, equivalent within tolerance, diverged, inputs changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.errors import UsageError
from auditor.record import RunRecord
from auditor.record.lineage import (
    AbsentPath,
    ContentHash,
    Dataset,
    Datasheet,
    FileAccess,
    FileHash,
    Hash,
    Lineage,
    ModelArtifact,
    Observation,
)
from auditor.record.models import Metric
from auditor.reproduce.compare import Tolerance, compare, inputs_changed, parse_tolerances
from tests.factories import make_record
from tests.render.dossier.test_diagram import make_lineage

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _hash(digest: str) -> ContentHash:
    return ContentHash(
        kind="file", sha256=digest, size=1, files=(FileHash(path="", sha256=digest, size=1),), hashed_at=NOW
    )


def _run(outputs: dict[str, str], metrics: dict[str, float], raw: str = "a" * 64) -> RunRecord:
    datasets = [Dataset(id="raw", role="input", path="data/raw.csv", datasheet=Datasheet(), before=_hash(raw))]
    datasets += [
        Dataset(id=name, role="output", path=f"out/{name}", datasheet=Datasheet(), after=_hash(digest))
        for name, digest in outputs.items()
    ]
    model = ModelArtifact(id="model", path="m.joblib", after=_hash("f" * 64))
    logged = tuple(Metric(name=k, value=v, logged_at=NOW) for k, v in metrics.items())
    written = [FileAccess(path=f"out/{n}", read=False, written=True, dataset=n, verdicts=("written",)) for n in outputs]
    written.append(FileAccess(path="m.joblib", read=False, written=True, dataset="model", verdicts=("written",)))
    observed = Observation(
        method="audit-hook", processes=1, files=tuple(written), declared_unread=(), environment_reads={}
    )
    lineage = make_lineage(datasets, (), (model,)).model_copy(update={"observed": observed})
    return make_record().model_copy(update={"lineage": lineage, "metrics": logged})


def test_a_failed_rerun_or_an_output_it_did_not_write_is_not_a_reproduction() -> None:
    original = _run({"scores": "b" * 64}, {"auc": 0.8})
    failed = _run({"scores": "b" * 64}, {"auc": 0.8})
    failed = failed.model_copy(
        update={"identity": failed.identity.model_copy(update={"status": "failed", "exit_code": 3})}
    )
    comparison = compare(original, failed, {})
    assert comparison.verdict == "diverged"
    assert [(d.kind, d.name, d.reproduced) for d in comparison.differences] == [("run", "outcome", "failed, exit 3")]
    stale = _run({"scores": "b" * 64}, {"auc": 0.8})
    lineage = stale.lineage
    assert isinstance(lineage, Lineage) and isinstance(lineage.observed, Observation)
    only_model = lineage.observed.model_copy(update={"files": lineage.observed.files[-1:]})
    stale = stale.model_copy(update={"lineage": lineage.model_copy(update={"observed": only_model})})
    comparison = compare(original, stale, {})
    assert comparison.verdict == "diverged"
    assert [(d.name, d.reproduced) for d in comparison.differences] == [("dataset:scores", "not written by the re-run")]


def test_identical_equivalent_and_diverged() -> None:
    original = _run({"scores": "b" * 64}, {"auc": 0.8123456789, "loss": 0.25})
    assert compare(original, _run({"scores": "b" * 64}, {"auc": 0.8123456789, "loss": 0.25}), {}).verdict == "identical"

    nudged = _run({"scores": "c" * 64}, {"auc": 0.8123456789 + 1e-12, "loss": 0.25})  # a one-ulp kind of change
    result = compare(original, nudged, {})
    assert result.verdict == "equivalent"
    assert [(d.kind, d.name, d.within_tolerance) for d in result.differences] == [
        ("output", "dataset:scores", True),
        ("metric", "auc", True),
    ]

    changed = _run({"scores": "c" * 64}, {"auc": 0.79, "loss": 0.25})
    result = compare(original, changed, {})
    assert result.verdict == "diverged" and ("metric", "auc", False) in [
        (d.kind, d.name, d.within_tolerance) for d in result.differences
    ]
    assert compare(original, changed, parse_tolerances(["auc=abs:0.05"])).verdict == "equivalent"
    assert compare(original, _run({}, {"auc": 0.8123456789, "loss": 0.25}), {}).verdict == "diverged"  # output gone
    assert compare(original, _run({"scores": "b" * 64}, {"auc": 0.8123456789}), {}).verdict == "diverged"  # metric gone


def test_tolerances_parse_and_apply() -> None:
    parsed = parse_tolerances(["auc=rel:1e-3,abs:0", "*=abs:1e-4"])
    assert parsed == {"auc": Tolerance(rel=1e-3, abs=0.0), "*": Tolerance(rel=1e-6, abs=1e-4)}
    assert Tolerance(rel=0.01, abs=0).accepts(100.0, 100.9) and not Tolerance(rel=0.001, abs=0).accepts(100.0, 100.9)
    assert Tolerance().accepts(float("nan"), float("nan")) and not Tolerance().accepts(float("nan"), 1.0)
    for bad in ("auc", "auc=rel", "auc=rel:-1", "auc=tol:1", "auc=rel:nan", "=rel:1"):
        with pytest.raises(UsageError, match="--tolerance"):
            parse_tolerances([bad])


def test_inputs_must_be_unchanged_before_anything_runs() -> None:
    original = _run({"scores": "b" * 64}, {"auc": 0.8})

    def same(path: str) -> Hash | None:
        return _hash("a" * 64)

    assert inputs_changed(original, same) == ()

    def edited(path: str) -> Hash | None:
        return _hash("9" * 64)

    assert inputs_changed(original, edited) == (("raw", "a" * 64, "9" * 64),)

    def gone(path: str) -> Hash | None:
        return AbsentPath(path=path)

    assert inputs_changed(original, gone) == (("raw", "a" * 64, "absent or unreadable"),)
    with pytest.raises(UsageError, match="no lineage"):
        inputs_changed(make_record(), same)


def test_a_rerun_without_an_exit_code_says_so_in_words() -> None:
    original = _run({"scores": "b" * 64}, {"auc": 0.8})
    stopped = original.model_copy(
        update={"identity": original.identity.model_copy(update={"status": "interrupted", "exit_code": None})}
    )
    [difference] = compare(original, stopped, {}).differences
    assert (difference.original, difference.reproduced) == ("succeeded, exit 0", "interrupted, no exit code")
