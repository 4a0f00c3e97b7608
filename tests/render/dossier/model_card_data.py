"""A deterministic model card for dossier tests: numbers computed by capture's own functions on fixed
rows, a model file described as the inspector reports it (no pickle: its hash would follow the
installed scikit-learn)."""

from __future__ import annotations

import json

from auditor.capture.model.card import build_model_card
from auditor.capture.model.sensitive import feature_flags
from auditor.project.spec import parse_spec
from auditor.record.model_card import Estimator, Fact, InspectedModel, ModelCard

SPEC = """\
version: 1
project: {name: demo}
params_files: [params.yaml]
metrics_files: [metrics.json]
models:
  - id: scorer
    path: model.joblib
    description: A logistic regression <b>scoring</b> applicants.
    limitations: Trained on 120 synthetic rows.
    ethical_considerations: Age is an input.
predictions:
  path: predictions.csv
  label_column: label
  prediction_column: prediction
  score_column: score
  sensitive_columns: [sex, age_group]
  favourable_outcome: "1"
  bootstrap_resamples: 100
  seed: 3
"""


def predictions() -> bytes:
    lines = ["label,prediction,score,sex,age_group"]
    for i in range(120):
        score = ((i * 37) % 100) / 100
        label = 1 if (i % 10) < 7 else 0
        lines.append(
            f"{label},{int(score >= 0.4)},{score:.2f},{'female' if i % 3 else 'male'},{'<25' if i % 4 else '25+'}"
        )
    return ("\n".join(lines) + "\n").encode()


def model_card() -> ModelCard:
    spec = parse_spec(SPEC, "auditor.yaml")
    files = {
        "params.yaml": b"seed: 42\ntrain:\n  C: 0.5\n  decision_threshold: 0.4\n",
        "metrics.json": json.dumps({"accuracy": 0.6, "roc_auc": 0.51, "n_test": 120}).encode(),
    }
    assert spec.predictions is not None
    predicted = (spec.predictions, "predictions.csv", predictions())
    card = build_model_card(spec, lambda path: files.get(path, "the file does not exist"), predicted, {"lr": 0.1})
    assert card.models[0].file.state == "missing"  # model.joblib is not among the files: described below
    inspected = InspectedModel(
        path="model.joblib",
        sha256="ab" * 32,
        bytes=4673,
        format="joblib",
        class_name="LogisticRegression",
        module="sklearn.linear_model._logistic",
        library="scikit-learn",
        library_version="1.9.1",
        summary="LogisticRegression (scikit-learn 1.9.1) in a Pipeline: StandardScaler on 2 columns",
        estimators=(
            Estimator(path="", class_name="Pipeline", module="sklearn.pipeline", hyperparameters={"memory": "None"}),
            Estimator(
                path="classifier",
                class_name="LogisticRegression",
                module="sklearn.linear_model._logistic",
                hyperparameters={"C": "0.5", "random_state": "42"},
            ),
        ),
        features=("income", "age", "<script>x</script>"),
        classes=("0", "1"),
    )
    entry = card.models[0].model_copy(
        update={
            "file": inspected,
            "type": Fact(value="LogisticRegression", source="model_file", detail=inspected.summary),
            "library": Fact(value="scikit-learn 1.9.1", source="model_file", detail=inspected.module),
            "features": feature_flags(inspected.features or (), ("sex", "age_group")),
            "features_source": Fact(value="3 features", source="model_file", detail="feature_names_in_"),
        }
    )
    return card.model_copy(update={"models": (entry,)})
