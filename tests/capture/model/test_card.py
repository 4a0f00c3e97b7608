"""The model card's evidence as capture assembles it: declared facts win and say so, params and metrics
files are flattened or say why not, sensitive inputs are flagged, and the task is inferred."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from auditor.capture.model.card import build_model_card
from auditor.capture.model.declared import decision_threshold, read_declared
from auditor.capture.model.sensitive import DIRECT, feature_flags
from auditor.project.spec import parse_spec
from auditor.record.base import Missing
from auditor.record.migrate import upgrade
from auditor.record.model_card import ClassifierPerformance, InspectedModel, ModelCard, RegressionPerformance

SPEC = """\
version: 1
project: {name: p}
params_files: [params.yaml, gone.yaml]
metrics_files: [metrics.json]
models:
  - id: m
    path: model.joblib
    description: d
%s
predictions:
  path: predictions.csv
  label_column: label
  prediction_column: prediction
  score_column: score
  sensitive_columns: [sex, age_group]
  favourable_outcome: "1"
  bootstrap_resamples: 20
"""


def _project(tmp_path: Path, model_extra: str = "") -> tuple[ModelCard, Path]:
    import pandas
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pandas.DataFrame({"age": rng.integers(18, 80, 100), "income": rng.normal(0, 1, 100)})
    label = (rng.random(100) < 0.6).astype(int)
    joblib.dump(LogisticRegression(C=2.0, random_state=5).fit(frame, label), tmp_path / "model.joblib")
    (tmp_path / "params.yaml").write_text("seed: 42\nmodel:\n  C: 2.0\n  layers: [1, 2]\nthreshold: 0.5\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"accuracy": 0.7, "eval": {"auc": 0.8}, "note": "x"}))
    rows = ["label,prediction,score,sex,age_group"] + [
        f"{label[i]},{int(i % 3 != 0)},{(i % 10) / 10:.1f},f,<25" for i in range(100)
    ]
    (tmp_path / "predictions.csv").write_text("\n".join(rows) + "\n")
    spec = parse_spec(SPEC % model_extra, "auditor.yaml")
    assert spec.predictions is not None

    def read(path: str) -> bytes | str:
        file = tmp_path / path
        return file.read_bytes() if file.is_file() else "the file does not exist"

    data = (tmp_path / "predictions.csv").read_bytes()
    return build_model_card(spec, read, (spec.predictions, "predictions.csv", data), {"lr": 0.1}), tmp_path


def test_facts_read_from_the_model_file_say_so(tmp_path: Path) -> None:
    card, _ = _project(tmp_path)
    (model,) = card.models
    assert isinstance(model.file, InspectedModel)
    assert model.type is not None and model.type.value == "LogisticRegression" and model.type.source == "model_file"
    assert model.library is not None and model.library.value.startswith("scikit-learn ")
    assert model.features_source is not None and model.features_source.source == "model_file"
    assert model.features[0].name == "age" and model.features[0].flags[0].startswith(DIRECT)  # for age_group
    assert model.features[1].flags == ()
    assert model.task is not None and model.task.source == "inferred"
    assert isinstance(card.performance, ClassifierPerformance)
    assert card.performance.threshold == 0.5 and card.performance.threshold_source == "params.yaml: threshold"
    sources = {(h.name, h.source) for h in card.hyperparameters}
    assert {("lr", "logged"), ("seed", "params_file"), ("model.C", "params_file"), ("C", "model_file")} <= sources


def test_declared_facts_win_and_keep_what_the_file_said(tmp_path: Path) -> None:
    extra = "    type: logistic regression\n    library: sklearn\n    features: [income]\n    task: classification"
    card, _ = _project(tmp_path, extra)
    (model,) = card.models
    assert model.type is not None and (model.type.value, model.type.source) == ("logistic regression", "declared")
    assert model.type.detail == "model file: LogisticRegression"
    assert model.features_source is not None and model.features_source.source == "declared"
    assert [f.name for f in model.features] == ["income"]
    assert model.task is not None and model.task.source == "declared"


def test_params_and_metrics_files(tmp_path: Path) -> None:
    card, _ = _project(tmp_path)
    params, gone = card.params_files
    assert params.values == {"seed": 42, "model.C": 2.0, "model.layers": "[1, 2]", "threshold": 0.5}
    assert gone.sha256 is None and gone.problem == "the file does not exist"
    (metrics,) = card.metrics_files
    assert (
        metrics.values
        == {
            "accuracy": 0.7,
            "eval.auc": 0.8,
        }
        and metrics.problem == "1 value that is not a number left out"
    )
    assert "gone.yaml: the file does not exist" in card.notes


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("p.yaml", "a: [1,\n", "not valid YAML"),
        ("p.json", "{", "not valid JSON"),
        ("p.yaml", "- 1\n- 2\n", "the top level is not a mapping"),
        ("p.yaml", "a: &x 1\nb: *x\n", "alias"),
    ],
)
def test_unparseable_files_say_why(name: str, text: str, problem: str) -> None:
    declared = read_declared(name, lambda _: text.encode(), numbers_only=False)
    assert declared.problem is not None and problem in declared.problem and declared.values == {}


def test_the_decision_threshold_is_found_by_name() -> None:
    files = (read_declared("p.yaml", lambda _: b"train:\n  decision_threshold: 0.35\n", numbers_only=False),)
    assert decision_threshold(files) == (0.35, "p.yaml: train.decision_threshold")
    assert decision_threshold(()) == (None, "not declared")


def test_sensitive_inputs_and_the_proxy_hook() -> None:
    flags = {
        f.name: f.flags
        for f in feature_flags(
            ["sex_male", "age", "Sex", "job", "zip"],
            ["sex", "age_group"],
            {"zip": "associated with sex (Cramér's V 0.4)"},
        )
    }
    assert flags["Sex"] == (DIRECT,)
    assert flags["sex_male"][0].startswith(DIRECT) and flags["age"][0].startswith(DIRECT)
    assert flags["job"] == ()
    assert flags["zip"] == ("likely proxy: associated with sex (Cramér's V 0.4)",)


def test_a_numeric_label_makes_a_regressor(tmp_path: Path) -> None:
    spec = parse_spec(
        "version: 1\nproject: {name: p}\npredictions: {path: p.csv, label_column: y, prediction_column: yhat, "
        "sensitive_columns: [g], favourable_outcome: '1'}\n",
        "auditor.yaml",
    )
    assert spec.predictions is not None
    rows = "y,yhat,g\n" + "".join(f"{i * 1.5},{i * 1.4},a\n" for i in range(40))
    card = build_model_card(spec, lambda _: "absent", (spec.predictions, "p.csv", rows.encode()), {})
    assert isinstance(card.performance, RegressionPerformance)
    assert "no model declared" in card.notes[0]


def test_older_records_say_they_predate_the_model_card() -> None:
    data = {"schema_version": "1.3", "kind": "auditor.run-record"}
    assert upgrade(data)["model_card"] == Missing(reason="record schema 1.3 predates model card capture").model_dump()


def test_an_ingested_run_gets_the_model_card_its_tool_allows(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from auditor.ingest.ingested import Ingested, build_record
    from auditor.record.lineage import ModelArtifact
    from auditor.record.models import Metric
    from auditor.render.dossier.build_model import model_card as view

    moment = datetime(2026, 1, 1, tzinfo=UTC)
    ingested = Ingested(
        tool="MLflow",
        tool_version="3.1.0",
        source_uri="mlruns",
        source_run_id="abc",
        project="p",
        started_at=moment,
        ended_at=moment,
        status="succeeded",
        models=(
            ModelArtifact(
                id="model", path="mlruns/1/abc/artifacts/model", annotations={"flavors": "python_function, sklearn"}
            ),
        ),
        params={"C": 0.5, "seed": 3},
        metrics=(Metric(name="auc", value=0.8, logged_at=moment), Metric(name="auc", value=0.81, logged_at=moment)),
    )
    record = build_record(ingested, run_id="01JGZ0000000000000000000AA")
    card = record.model_card
    assert isinstance(card, ModelCard)
    (model,) = card.models
    assert model.type is not None and (model.type.value, model.type.source) == ("sklearn", "reported")
    assert model.library is not None and model.library.value == "scikit-learn"
    assert isinstance(model.file, Missing) and "MLflow recorded no model file auditor can read" in model.file.reason
    assert {(h.name, h.source) for h in card.hyperparameters} == {("C", "logged"), ("seed", "logged")}
    assert isinstance(card.performance, Missing) and "MLflow recorded no predictions file" in card.performance.reason
    shown = view(record)
    assert shown.logged_metrics == (("auc", "0.81"),) and shown.performance_missing

    import pickle

    from sklearn.linear_model import LogisticRegression

    from auditor.capture.model.inspect import inspect_model

    fitted = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    ingested.inspected_models = {"model": inspect_model(pickle.dumps(fitted), "mlruns/1/abc/artifacts/model/model.pkl")}
    (model,) = build_record(ingested, run_id="01JGZ0000000000000000000AA").model_card.models  # type: ignore[union-attr]
    assert model.type is not None and (model.type.value, model.type.source) == ("LogisticRegression", "model_file")
    assert isinstance(model.file, InspectedModel) and model.file.path.endswith("model.pkl")


def test_secrets_in_params_files_are_masked_in_the_model_card_too() -> None:
    from auditor.capture.secretnames import SECRET_MASK, mask_named
    from auditor.record.model_card import DeclaredFile, Hyperparameter

    card = ModelCard(
        models=(),
        params_files=(DeclaredFile(path="p.yaml", sha256="0" * 64, values={"db.password": "hunter2", "seed": 1}),),
        metrics_files=(DeclaredFile(path="m.json", sha256="0" * 64, values={"api_token": 5, "auc": 0.7}),),
        hyperparameters=(Hyperparameter(name="db.password", value="hunter2", source="params_file", origin="p.yaml"),),
        performance=Missing(reason="none"),
    )
    data = {"model_card": card.model_dump(mode="json")}
    mask_named(data)
    masked = ModelCard.model_validate(data["model_card"])
    assert masked.params_files[0].values == {"db.password": SECRET_MASK, "seed": 1}
    assert masked.metrics_files[0].values == {"auc": 0.7}
    assert masked.hyperparameters[0].value == SECRET_MASK
