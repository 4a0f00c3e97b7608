"""Run inside the MLflow 3 tool virtualenv (tests/ingest/tools/mlflow3.txt), never by auditor.

Logs a tiny scikit-learn model whose declared environment holds a known-vulnerable pin
(jinja2 2.10: PYSEC-2019-217 and others) and an unpinned requirement, the way a team would
with `pip_requirements=`, into the tracking store given, and prints the run id.

usage: python mlflow_declared_producer.py TRACKING_URI
"""

from __future__ import annotations

import sys
import warnings

import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("ignore")
REQUIREMENTS = ["jinja2==2.10", "requests>=2"]


def main() -> None:
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment("declared-environment")
    features = np.arange(20, dtype=float).reshape(10, 2)
    model = LogisticRegression().fit(features, [0, 1] * 5)
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_param("seed", 7)
        mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    print(run.info.run_id)


if __name__ == "__main__":
    main()
