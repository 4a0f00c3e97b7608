"""Records for the diff tests: one complete base run and variants that each change one thing,
committed into a real store the way auditor commits runs."""

from __future__ import annotations

from pathlib import Path

from auditor.record.base import Missing
from auditor.record.code import Code, CodeFile
from auditor.record.fairness import (
    AttributeFairness,
    Bootstrap,
    Disparity,
    Fairness,
    GroupMetrics,
    Interval,
)
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash, Lineage, ModelArtifact, ProjectInfo
from auditor.record.model_card import Fact, ModelCard, ModelEntry
from auditor.record.models import Distribution, Metric, Packages, RunRecord
from auditor.store.runs import RunStore
from tests.factories import START, make_record

INTENDED = "Score applicants for a human underwriter's review."


def content(sha: str) -> ContentHash:
    return ContentHash(
        kind="file", sha256=sha, size=10, files=(FileHash(path="", sha256=sha, size=10),), hashed_at=START
    )


def lineage(raw_sha: str = "1" * 64, intended: str = INTENDED, dataset_id: str = "raw") -> Lineage:
    return Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(name="demo", owner="Risk team", intended_use=intended),
        datasets=(
            Dataset(id=dataset_id, role="input", path="data/raw.csv", datasheet=Datasheet(), before=content(raw_sha)),
            Dataset(id="reference", role="input", path="data/ref.csv", datasheet=Datasheet(), before=content("2" * 64)),
        ),
        steps=(),
        models=(ModelArtifact(id="model", path="models/m.joblib", after=content("3" * 64)),),
        observed=Missing(reason="not observed in this test"),
        graph={},
    )


def group(name: str, rate: float, low: float, high: float) -> GroupMetrics:
    return GroupMetrics(
        group=(name,),
        count=50,
        positives=25,
        selection_rate=rate,
        true_positive_rate=0.7,
        false_positive_rate=0.3,
        accuracy=0.7,
        small=False,
        intervals={"selection_rate": Interval(low=low, high=high)},
    )


def fairness(female: tuple[float, float, float] = (0.5, 0.4, 0.6)) -> Fairness:
    return Fairness(
        predictions_path="outputs/predictions.csv",
        predictions_sha256="4" * 64,
        rows=100,
        label_column="y",
        prediction_column="p",
        score_column=None,
        favourable_outcome="1",
        min_group_size=10,
        reference_groups={},
        bootstrap=Bootstrap(resamples=200, seed=1, confidence=0.95),
        by_attributes=(
            AttributeFairness(
                attributes=("sex",),
                groups=(group("female", *female), group("male", 0.55, 0.45, 0.65)),
                disparities=(
                    Disparity(
                        metric="demographic_parity_difference",
                        value=0.05,
                        groups=(("female",), ("male",)),
                        ci_low=0.0,
                        ci_high=0.15,
                    ),
                ),
                issues=(),
            ),
        ),
        issues=(),
    )


def card(model_type: str = "sklearn.linear_model.LogisticRegression") -> ModelCard:
    entry = ModelEntry(
        id="model",
        path="models/m.joblib",
        description=None,
        limitations=None,
        ethical_considerations=None,
        type=Fact(value=model_type, source="declared"),
        library=None,
        task=None,
        file=Missing(reason="not inspected in this test"),
    )
    return ModelCard(models=(entry,), performance=Missing(reason="no predictions in this test"))


def code() -> Code:
    file = CodeFile(path="train.py", sha256="c" * 64, size=10, language="python", tokens=5, minhash=())
    return Code(method="read by the command", fingerprint="minhash-64/shingle-5/v1", files=(file,))


def packages(numpy: str = "2.1.0") -> Packages:
    names = (("numpy", numpy), ("pandas", "2.2.3"))
    return Packages(
        distributions=tuple(
            Distribution(
                name=n,
                version=v,
                installer="pip",
                requested=True,
                install_kind="index",
                location="/venv/lib/python3.11/site-packages",
            )
            for n, v in names
        )
    )


def base(run_id: str, **update: object) -> RunRecord:
    record = make_record(run_id)
    env = record.environment.model_copy(update={"packages": packages()})
    fields: dict[str, object] = {
        "environment": env,
        "lineage": lineage(),
        "fairness": fairness(),
        "model_card": card(),
        "code": code(),
        "params": {"seed": 42, "C": 1.0},
        "metrics": (
            Metric(name="auc", value=0.8, logged_at=START),
            Metric(name="accuracy", value=0.7, logged_at=START),
        ),
    }
    fields.update(update)
    return record.model_copy(update=fields)


def commit(store_root: Path, records: list[RunRecord]) -> None:
    store = RunStore.create(store_root)
    for record in records:
        staging = store.begin(record.identity.run_id)
        (staging.path / "stdout.log").write_bytes(b"")
        (staging.path / "stderr.log").write_bytes(b"")
        store.commit(staging, record)
