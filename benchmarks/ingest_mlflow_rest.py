"""MLflow tracking-server ingest speed: 1,000 runs through the REST API into a fresh run store.

Starts a real `mlflow server` on loopback (tests/ingest/mlflow_server.py: SQLite backend, served
artifacts), fills it once with MLflow's own client (MlflowClient.log_batch, in the MLflow 3 tool
virtualenv): RUNS runs x 20 params x 5 metrics x 10 steps, 5 tags and one small artifact each.
Then times `auditor ingest mlflow http://...` (the console script, as a user runs it) into a
fresh store, REPEAT times, and MlflowClient.search_runs over the same server (which reads only the
runs' params, tags and latest metrics: no histories, no files), and prints both medians and their
ratio. Target (issue #15): under 60 s.

    .venv/bin/python benchmarks/ingest_mlflow_rest.py [--runs 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ingest.mlflow_server import quiet_env, start_server  # noqa: E402  (the repository's test helpers)

MLFLOW3 = ROOT / ".cache" / "tools" / "mlflow3" / "bin" / "python"
AUDITOR = ROOT / ".venv" / "bin" / "auditor"

FILL = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
runs = int(sys.argv[2])
experiment = client.create_experiment("benchmark")
def one(n):
    run = client.create_run(experiment, run_name=f"run-{n}")
    rid = run.info.run_id
    params = [Param(f"param_{p:02d}", str(0.1 * p + n)) for p in range(20)]
    metrics = [Metric(f"metric_{m}", 1.0 / (s + m + 1), 1_780_000_000_000 + 1000 * s, s)
               for m in range(5) for s in range(10)]
    tags = [RunTag(f"tag_{t}", f"value-{n}-{t}") for t in range(5)]
    client.log_batch(rid, metrics=metrics, params=params, tags=tags)
    client.log_text(rid, '{"seed": %d}' % n, "config.json")
    client.set_terminated(rid)
with ThreadPoolExecutor(4) as pool:
    list(pool.map(one, range(runs)))
"""

SEARCH = """
import sys, time, json
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("benchmark").experiment_id
times = []
for _ in range(int(sys.argv[3])):
    began = time.perf_counter()
    runs, token = [], None
    while True:
        page = client.search_runs([experiment], max_results=1000, page_token=token)
        runs += page
        token = page.token
        if not token:
            break
    times.append(time.perf_counter() - began)
    assert len(runs) == int(sys.argv[2]), len(runs)
print(json.dumps(times))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auditor-rest-bench-") as tmp:
        base = Path(tmp)
        began = time.perf_counter()
        server = start_server(base / "server")
        try:
            print(f"mlflow server at {server.url}, started in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            env = quiet_env(base)
            fill = [str(MLFLOW3), "-c", FILL, server.url, str(args.runs)]
            subprocess.run(fill, env=env, check=True, timeout=1800, stdout=subprocess.DEVNULL)
            print(f"filled with {args.runs} runs x 20 params x 5 metrics x 10 steps, 5 tags, 1 artifact each")
            print(f"  by MlflowClient in {time.perf_counter() - began:.1f} s")
            ingest_s = []
            for n in range(args.repeat):
                store = base / f"store-{n}"
                began = time.perf_counter()
                done = subprocess.run(
                    [str(AUDITOR), "ingest", "mlflow", server.url, "--store", str(store)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                ingest_s.append(time.perf_counter() - began)
                assert done.returncode == 0, done.stderr[-2000:]
                assert done.stdout.count("ingested ") == args.runs, done.stdout[-500:]
            search = subprocess.run(
                [str(MLFLOW3), "-c", SEARCH, server.url, str(args.runs), str(args.repeat)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            search_s = json.loads(search.stdout.strip().splitlines()[-1])
        finally:
            server.stop()
    ingest_median, search_median = statistics.median(ingest_s), statistics.median(search_s)
    print(f"  auditor ingest mlflow http://... : median {ingest_median:6.2f} s of {[round(s, 2) for s in ingest_s]}")
    print(f"  {1000 * ingest_median / args.runs:.1f} ms per run (histories, artifacts listed, downloaded, hashed)")
    print(f"  MlflowClient.search_runs         : median {search_median:6.2f} s of {[round(s, 2) for s in search_s]}")
    print(f"  ratio ingest / search_runs       : {ingest_median / search_median:.1f}x")
    print(f"target: under 60 s: {'met' if ingest_median < 60 else 'MISSED'} ({ingest_median:.2f} s)")


if __name__ == "__main__":
    main()
