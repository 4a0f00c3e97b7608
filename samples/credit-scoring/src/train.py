"""Step 3: train the credit-risk model and evaluate it on the held-out applicants.

The model is a scikit-learn Pipeline (one-hot encoding and scaling, then a
logistic regression): a common, explainable choice for credit scoring whose
coefficients a reviewer can read. It is deterministic for a given input and
seed. Sex is deliberately not a feature while age is (the README says why);
sex and age_group are carried into predictions.csv only so that outcomes can
be compared across groups.
"""

import json
import sys
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import yaml
from sklearn import metrics
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
PROCESSED_DIR = ROOT / "data" / "processed"
MODEL = ROOT / "models" / "credit_model.joblib"
OUTPUTS_DIR = ROOT / "outputs"

LABEL = "risk"  # 1 = good credit risk, 0 = bad
GOOD = 1
CATEGORICAL = ["job", "housing", "saving_accounts", "checking_account", "purpose"]
NUMERIC = ["credit_amount", "duration", "age"]
PROTECTED = ["sex", "age_group"]  # reported with every prediction, never used as features
SCORE_DECIMALS = 6
METRIC_DECIMALS = 4


def load_params() -> dict[str, Any]:
    """Read params.yaml from the sample root."""
    with (ROOT / "params.yaml").open(encoding="utf-8") as f:
        params: dict[str, Any] = yaml.safe_load(f)
    return params


def build_model(c: float, max_iter: int, seed: int) -> Pipeline:
    """Return the untrained pipeline: encode, scale, then logistic regression."""
    features = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
            ("numeric", StandardScaler(), NUMERIC),
        ]
    )
    classifier = LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])


def evaluate(labels: pd.Series, predictions: pd.Series, scores: pd.Series) -> dict[str, float]:
    """Return the held-out metrics, with "good" (1) as the positive class."""
    values = {
        "accuracy": metrics.accuracy_score(labels, predictions),
        "roc_auc": metrics.roc_auc_score(labels, scores),
        "precision": metrics.precision_score(labels, predictions, pos_label=GOOD),
        "recall": metrics.recall_score(labels, predictions, pos_label=GOOD),
        "f1": metrics.f1_score(labels, predictions, pos_label=GOOD),
    }
    return {name: round(float(value), METRIC_DECIMALS) for name, value in values.items()}


def main() -> int:
    """Fit on train.csv, save the model, and write predictions and metrics for test.csv."""
    params = load_params()
    train = pd.read_csv(PROCESSED_DIR / "train.csv")
    test = pd.read_csv(PROCESSED_DIR / "test.csv")

    model = build_model(params["train"]["C"], params["train"]["max_iter"], params["seed"])
    model.fit(train[CATEGORICAL + NUMERIC], train[LABEL])
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, MODEL)

    good_column = list(model.classes_).index(GOOD)
    # Scores are rounded before thresholding so that predictions.csv is self-consistent:
    # every prediction there follows from the score printed next to it.
    probabilities = model.predict_proba(test[CATEGORICAL + NUMERIC])[:, good_column]
    scores = pd.Series(probabilities, index=test.index).round(SCORE_DECIMALS)
    predictions = (scores >= params["train"]["decision_threshold"]).astype(int)

    OUTPUTS_DIR.mkdir(parents=True, exist_ok=True)
    table = test[["applicant_id", *PROTECTED]].assign(label=test[LABEL], prediction=predictions, score=scores)
    table.to_csv(OUTPUTS_DIR / "predictions.csv", index=False, lineterminator="\n", float_format=f"%.{SCORE_DECIMALS}f")

    summary: dict[str, float | int] = {
        **evaluate(test[LABEL], predictions, scores),
        "n_train": len(train),
        "n_test": len(test),
    }
    (OUTPUTS_DIR / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"train: model written to {MODEL.relative_to(ROOT)}, {len(test)} held-out predictions scored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
