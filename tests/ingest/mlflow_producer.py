"""Run inside an MLflow tool virtualenv (tests/ingest/tools/mlflow2.txt or mlflow3.txt), never by auditor.

Trains a tiny scikit-learn model the way a team would with MLflow (params, a metric history,
tags, two dataset inputs, a logged model, plain artifacts), plus a run that fails, then dumps
what MLflow's own client reports about every run to JSON, so the tests can compare auditor's
reading of the store with MLflow's.

usage: python mlflow_producer.py TRACKING_URI WORKDIR OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

warnings.simplefilter("ignore")  # MLflow's hints about integer columns and dataset sources
MAJOR = int(mlflow.__version__.split(".")[0])
EVAL_SOURCE = "https://reader:s3cr3t-token@data.example.com/credit/eval.csv"


def train(workdir: Path) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 60), "age": rng.integers(18, 80, 60).astype("int64")})
    frame["default"] = (frame["income"] + rng.normal(0, 5, 60) < 48).astype("int64")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    frame.to_csv(data / "train.csv", index=False)
    train_set = mlflow.data.from_pandas(frame, source=str(data / "train.csv"), name="credit-train", targets="default")
    eval_set = mlflow.data.from_pandas(frame.iloc[:20], source=EVAL_SOURCE, name="credit-eval")

    mlflow.set_experiment("credit-scoring")
    with mlflow.start_run(run_name="train-logreg") as run:
        mlflow.log_input(train_set, context="training")
        mlflow.log_input(eval_set, context="evaluation")
        mlflow.log_params({"C": 0.5, "max_iter": 200, "solver": "lbfgs", "features": "income,age"})
        mlflow.set_tags(
            {
                "team": "risk",
                "mlflow.source.git.commit": "3f2c1e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
                "mlflow.gitRepoURL": "https://ci-bot:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/acme/credit.git",
                "mlflow.note.content": "baseline model",
            }
        )
        features, target = frame[["income", "age"]], frame["default"]
        for step in range(5):
            model = LogisticRegression(C=0.5, max_iter=40 * (step + 1)).fit(features, target)
            mlflow.log_metric("loss", float(1.0 / (step + 2)), step=step)
            mlflow.log_metric("train_accuracy", float(model.score(features, target)), step=step)
        mlflow.log_metric("loss", 0.125, step=5)  # a later value for the same key: history and latest differ
        mlflow.log_metrics({"auc": 0.91, "f1": 0.78})
        signature = infer_signature(features, model.predict(features))
        if MAJOR >= 3:
            mlflow.sklearn.log_model(model, name="model", signature=signature)
        else:
            mlflow.sklearn.log_model(model, artifact_path="model", signature=signature)
        report = workdir / "report.txt"
        report.write_text("accuracy on the training set\n")
        mlflow.log_artifact(str(report))
        plots = workdir / "plots"
        plots.mkdir(exist_ok=True)
        (plots / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
        (plots / "pr.csv").write_text("precision,recall\n1,0\n0,1\n")
        mlflow.log_artifacts(str(plots), artifact_path="plots")
    print(run.info.run_id)

    try:
        with mlflow.start_run(run_name="broken"):
            mlflow.log_param("C", "oops")
            raise RuntimeError("the training data were empty")
    except RuntimeError:
        pass


def dump(out: Path) -> None:
    client = MlflowClient()
    experiment = client.get_experiment_by_name("credit-scoring")
    runs = []
    for found in client.search_runs([experiment.experiment_id]):
        run = client.get_run(found.info.run_id)
        runs.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                "start_time": run.info.start_time,
                "end_time": run.info.end_time,
                "artifact_uri": run.info.artifact_uri,
                "params": run.data.params,
                "metrics": run.data.metrics,
                "history": {
                    key: [[m.value, m.step, m.timestamp] for m in client.get_metric_history(run.info.run_id, key)]
                    for key in run.data.metrics
                },
                "tags": run.data.tags,
                "datasets": [
                    {
                        "name": d.dataset.name,
                        "digest": d.dataset.digest,
                        "source_type": d.dataset.source_type,
                        "source": d.dataset.source,
                        "schema": d.dataset.schema,
                        "context": {t.key: t.value for t in d.tags}.get("mlflow.data.context"),
                    }
                    for d in (run.inputs.dataset_inputs if run.inputs else [])
                ],
            }
        )
    models = []
    if MAJOR >= 3:
        for model in client.search_logged_models([experiment.experiment_id]):
            models.append({"model_id": model.model_id, "name": model.name, "source_run_id": model.source_run_id})
    payload = {"mlflow_version": mlflow.__version__, "experiment_id": experiment.experiment_id}
    out.write_text(json.dumps({**payload, "runs": runs, "models": models}, indent=1, sort_keys=True))


def main() -> None:
    uri, workdir, out = sys.argv[1], Path(sys.argv[2]).absolute(), Path(sys.argv[3]).absolute()
    os.chdir(workdir)
    mlflow.set_tracking_uri(uri)
    train(workdir)
    dump(out)


if __name__ == "__main__":
    main()
