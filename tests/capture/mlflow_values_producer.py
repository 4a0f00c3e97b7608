"""Run inside an MLflow tool virtualenv (tests/ingest/tools/mlflow2.txt or mlflow3.txt), never by auditor.

Logs values whose exact text is evidence: a list param with a space (`[64, 32]`), a JSON config
with unsorted keys, double spaces and a credential inside, a JSON tag, and a scikit-learn model with
a signature (MLflow 2 also writes the `mlflow.log-model.history` tag). Then dumps what MLflow's
own client reports for the run, so the test compares auditor's record with it byte for byte.

usage: python mlflow_values_producer.py TRACKING_URI OUT.json
"""

from __future__ import annotations

import json
import sys
import warnings

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("ignore")
CONFIG = '{"optimizer": {"name": "adam",  "lr": 1e-3}, "layers": [64, 32], "api_key": "sk-not-a-real-one", "b": 1.50}'


def main() -> None:
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment("verbatim")
    frame = pd.DataFrame({"income": np.arange(20.0), "age": np.arange(20.0) % 7})
    target = (frame["income"] > 9).astype("int64")
    with mlflow.start_run() as run:
        mlflow.log_params({"hidden_sizes": "[64, 32]", "config": CONFIG, "max_tokens": 512, "signature": "v2"})
        mlflow.log_param("db_password", "hunter2-not-real")
        mlflow.set_tags({"data_filter": '{"region": "EU", "age": [18, 65]}', "key_metric": "auc"})
        model = LogisticRegression().fit(frame, target)
        signature = infer_signature(frame, model.predict(frame))
        if int(mlflow.__version__.split(".")[0]) >= 3:
            mlflow.sklearn.log_model(model, name="model", signature=signature)
        else:
            mlflow.sklearn.log_model(model, artifact_path="model", signature=signature)
    found = MlflowClient().get_run(run.info.run_id)
    dump = {"run_id": run.info.run_id, "params": found.data.params, "tags": found.data.tags}
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(dump, out)


if __name__ == "__main__":
    main()
