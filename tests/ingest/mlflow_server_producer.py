"""Run inside the MLflow 3 tool virtualenv (tests/ingest/tools/mlflow3.txt), never by auditor.

What a team's tracking server holds, beyond mlflow_producer.py's two runs (a trained, logged
model and a failed run): a model logged with pip_requirements=["jinja2==2.10"] (a declared
environment with a known-vulnerable pin), a run still RUNNING, a deleted run, and an experiment
of SWEEP small runs (more than one page of runs/search when the reader asks for small pages).
Then dumps what MLflow's own client reports about every run, deleted ones included.

usage: python mlflow_server_producer.py TRACKING_URI WORKDIR OUT.json [all|pinned]
("pinned": only the jinja2 run, for the local stores)
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
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
from mlflow_producer import train  # beside this file

warnings.simplefilter("ignore")
SWEEP = 12


def pinned() -> None:
    mlflow.set_experiment("credit-scoring")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"income": rng.normal(50, 10, 40), "age": rng.integers(18, 80, 40).astype("int64")})
    target = (frame["income"] < 50).astype("int64")
    with mlflow.start_run(run_name="pinned-env"):
        mlflow.log_param("C", 1.0)
        model = LogisticRegression().fit(frame, target)
        mlflow.log_metric("accuracy", float(model.score(frame, target)))
        mlflow.sklearn.log_model(model, name="model", pip_requirements=["jinja2==2.10"])


def others() -> None:
    client = MlflowClient()
    experiment = client.get_experiment_by_name("credit-scoring").experiment_id
    running = client.create_run(experiment, run_name="still-running")
    client.log_param(running.info.run_id, "epochs", "10")
    client.log_metric(running.info.run_id, "loss", 0.9, step=0)  # never terminated: RUNNING
    gone = client.create_run(experiment, run_name="deleted")
    client.log_param(gone.info.run_id, "C", "2.0")
    client.set_terminated(gone.info.run_id)
    client.delete_run(gone.info.run_id)
    sweep = client.create_experiment("sweep")
    for n in range(SWEEP):
        run = client.create_run(sweep, run_name=f"trial-{n:02d}")
        metrics = [Metric("loss", 1.0 / (n + step + 1), 1_700_000_000_000 + step, step) for step in range(3)]
        params = [Param("lr", str(0.1 * (n + 1))), Param("trial", str(n))]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("sweep", "grid")])
        client.set_terminated(run.info.run_id)


def dump(out: Path) -> None:
    client = MlflowClient()
    runs, models = [], []
    for experiment in client.search_experiments():
        for found in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
            run = client.get_run(found.info.run_id)
            runs.append(
                {
                    "run_id": run.info.run_id,
                    "experiment": experiment.name,
                    "run_name": run.info.run_name,
                    "status": run.info.status,
                    "user_id": run.info.user_id,
                    "lifecycle_stage": run.info.lifecycle_stage,
                    "start_time": run.info.start_time,
                    "end_time": run.info.end_time,
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
                            "context": {t.key: t.value for t in d.tags}.get("mlflow.data.context"),
                        }
                        for d in (run.inputs.dataset_inputs if run.inputs else [])
                    ],
                    "model_ids": [m.model_id for m in (run.outputs.model_outputs if run.outputs else [])],
                    "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
                }
            )
        for model in client.search_logged_models([experiment.experiment_id]):
            models.append({"model_id": model.model_id, "name": model.name, "source_run_id": model.source_run_id})
    out.write_text(json.dumps({"mlflow_version": mlflow.__version__, "runs": runs, "models": models}, indent=1))


def main() -> None:
    uri, workdir, out = sys.argv[1], Path(sys.argv[2]).absolute(), Path(sys.argv[3]).absolute()
    mode = sys.argv[4] if len(sys.argv) > 4 else "all"
    os.chdir(workdir)
    mlflow.set_tracking_uri(uri)
    if mode == "all":
        train(workdir)
    pinned()
    if mode == "all":
        others()
    dump(out)


if __name__ == "__main__":
    main()
