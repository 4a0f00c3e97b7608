"""MLflow ingest speed: a file store of 1,000 runs x 20 params x 20 metrics, read and written.

The store is written directly in MLflow's file-store layout, as MLflow 2.22 and 3.17 write
it (tests/ingest/test_mlflow.py has MLflow's own client read such a store), which takes
seconds where MLflow's client would take minutes. Then it times, for the whole experiment:
reading the store (auditor.ingest.mlflow.reader.read), building the run records, and redacting,
validating and writing each into a fresh run store; then the same through dispatch.ingest,
the path `auditor ingest` takes (which also looks for an earlier ingest of each run in the
store). Target (issue #7): under 10 s.

Then the peer (issue #19): MlflowClient.search_runs over the same file store, with MLflow 3's own
client (the tool virtualenv in .cache/tools/mlflow3, `./dev tools`), against dispatch.ingest
into a fresh store. Both sides run in their own worker process and are timed the same way
inside it: after the imports and after one untimed warm-up call each (both load parts of
themselves on first use), wall clock and CPU time around the one call. The calls are
interleaved, round by round, so a busy machine slows both alike; medians of --repeat rounds,
and their ratio. Target: ingest <= 0.5x search_runs. --baseline DIR times another auditor too
(DIR holds its `auditor` package: `git archive main auditor | tar -x -C DIR`), in the same rounds.

    .venv/bin/python benchmarks/ingest_speed.py [--runs 1000] [--params 20] [--metrics 20] [--steps 1]
        [--repeat 5] [--baseline DIR] [--mlruns DIR]

--into-store N times something else, and only that (issue #19: no command reads the whole store to
answer a question about one run): `auditor ingest` of a 1-run MLflow store into a copy of
benchmarks/bigstore.py's N-record store against a copy of its 10-record store (copied as
show_speed.py does: run folders hard-linked, the originals never written). The first ingest into
each copy writes the run (and brings the copy's index up to date), untimed; each timed one finds
it already ingested (the earlier ingests looked up, the matching one verified). Medians of
--repeat interleaved rounds, and their ratio; --baseline-auditor PATH (another auditor's console
script, e.g. /work/main/.venv/bin/auditor) is timed in the same rounds, on copies of its own.

    .venv/bin/python benchmarks/ingest_speed.py --into-store 10000 [--repeat 5] [--baseline-auditor PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.ingest.ingested import build_record
from auditor.ingest.mlflow import reader as mlflow
from auditor.ingest.registry import ingest
from auditor.ingest.store import commit_many
from auditor.store.log import BATCH_MAX
from auditor.store.runs import RunStore

EXPERIMENT = "123456789012345678"
MLFLOW3 = Path(__file__).resolve().parents[1] / ".cache" / "tools" / "mlflow3" / "bin" / "python"
# The workers: each reads a line per call from stdin and answers "COUNT WALL_S CPU_S", timed inside.
SEARCH = """
import sys, time
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=sys.argv[1])
for _ in sys.stdin:
    began, cpu = time.perf_counter(), time.process_time()
    runs, token = [], None
    while True:
        page = client.search_runs([sys.argv[2]], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    print(len(runs), time.perf_counter() - began, time.process_time() - cpu, flush=True)
"""
INGEST = """
import sys, time
from pathlib import Path
from auditor.ingest.registry import ingest
from auditor.store.runs import RunStore
for line in sys.stdin:
    store = RunStore.create(Path(sys.argv[2]) / line.strip())
    began, cpu = time.perf_counter(), time.process_time()
    outcomes = ingest("mlflow", sys.argv[1], store)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(sum(o.new for o in outcomes), wall, cpu, flush=True)
"""
START_MS = 1_780_000_000_000


def write_store(root: Path, runs: int, params: int, metrics: int, steps: int) -> None:
    rng = random.Random(7)  # noqa: S311 - fixed test data, not secrets
    folder = root / EXPERIMENT
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text(
        f"artifact_location: file://{folder}\ncreation_time: {START_MS}\nexperiment_id: '{EXPERIMENT}'\n"
        f"last_update_time: {START_MS}\nlifecycle_stage: active\nname: benchmark\n"
    )
    for n in range(runs):
        run_id = f"{rng.getrandbits(128):032x}"
        run = folder / run_id
        for sub in ("params", "metrics", "tags", "artifacts"):
            (run / sub).mkdir(parents=True)
        start = START_MS + n * 60_000
        (run / "meta.yaml").write_text(
            f"artifact_uri: file://{run}/artifacts\nend_time: {start + 30_000}\nentry_point_name: ''\n"
            f"experiment_id: '{EXPERIMENT}'\nlifecycle_stage: active\nrun_id: {run_id}\nrun_name: run-{n}\n"
            f"source_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: {start}\nstatus: 3\n"
            "tags: []\nuser_id: analyst\n"
        )
        for p in range(params):
            (run / "params" / f"param_{p:02d}").write_text(str(rng.choice([0.1, 0.5, 1, 10, "adam", "relu"])))
        for m in range(metrics):
            lines = [f"{start + 1000 * s + m} {rng.random()} {s}" for s in range(steps)]
            (run / "metrics" / f"metric_{m:02d}").write_text("\n".join(lines) + "\n")
        tags = {"mlflow.user": "analyst", "mlflow.runName": f"run-{n}", "mlflow.source.name": "train.py"}
        tags |= {"mlflow.source.type": "LOCAL", "mlflow.source.git.commit": f"{rng.getrandbits(160):040x}"}
        for key, value in tags.items():
            (run / "tags" / key).write_text(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--params", type=int, default=20)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1, help="values logged per metric")
    parser.add_argument("--no-cli-path", action="store_true", help="skip timing dispatch.ingest (auditor ingest)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the ingest vs search_runs comparison")
    parser.add_argument("--baseline", type=Path, default=None, help="a folder holding another auditor package")
    parser.add_argument("--mlruns", type=Path, default=None, help="an existing store (made by this script) to read")
    parser.add_argument("--no-pieces", action="store_true", help="skip timing the pieces (read, build, write)")
    parser.add_argument("--into-store", type=int, default=None, help="time 1 run ingested into a bench store")
    parser.add_argument("--baseline-auditor", type=Path, default=None, help="another auditor console script")
    args = parser.parse_args()
    n = args.runs
    if args.into_store is not None:
        with tempfile.TemporaryDirectory(prefix="auditor-ingest-bench-") as tmp:
            one = Path(tmp) / "mlruns"
            write_store(one, 1, args.params, args.metrics, args.steps)
            into_store(one, args.into_store, args.repeat, args.baseline_auditor)
        return
    with tempfile.TemporaryDirectory(prefix="auditor-ingest-bench-") as tmp:
        mlruns = args.mlruns or Path(tmp) / "mlruns"
        if args.mlruns is None:
            began = time.perf_counter()
            write_store(mlruns, n, args.params, args.metrics, args.steps)
            print(f"store: {n} runs x {args.params} params x {args.metrics} metrics x {args.steps} values each")
            print(f"  made in {time.perf_counter() - began:.2f} s")
        if not args.no_pieces:
            pieces(mlruns, Path(tmp), n, args.params, cli_path=not args.no_cli_path)
        if args.repeat:
            compare(mlruns, Path(tmp), n, args.repeat, args.baseline)


def into_store(mlruns: Path, size: int, repeat: int, baseline: Path | None) -> None:
    """`auditor ingest` of one run into the `size`-record bench store against the 10-record one."""
    sys.path.insert(0, str(Path(__file__).parent))
    from show_speed import AUDITOR, STORES, copy_store, timed

    auditors = {"this auditor": AUDITOR, **({"baseline": baseline} if baseline else {})}
    sizes = (10, size)
    with tempfile.TemporaryDirectory(prefix="auditor-ingest-into-", dir=STORES) as tmp:
        stores = {
            (name, n): copy_store(STORES / str(n), Path(tmp) / f"{i}-{n}")
            for i, name in enumerate(auditors)
            for n in sizes
        }
        os.sync()

        def command(name: str, store: Path) -> list[str]:
            return [str(auditors[name]), "ingest", "mlflow", str(mlruns), "--store", str(store)]

        for (name, _), store in stores.items():
            timed(command(name, store))  # writes the run; each copy's index brought up to date
        times: dict[tuple[str, int], list[float]] = {key: [] for key in stores}
        cpu: dict[tuple[str, int], list[float]] = {key: [] for key in stores}
        for _ in range(repeat):
            for key, store in stores.items():
                times[key].append(timed(command(key[0], store), cpu[key]))
        for name in auditors:
            small, big = (statistics.median(times[(name, n)]) for n in sizes)
            small_c, big_c = (statistics.median(cpu[(name, n)]) for n in sizes)
            print(f"{name}: ingest of 1 MLflow run (already there), medians of {repeat}:")
            print(f"  {sizes[0]:>7,} records {small:.3f} s (CPU {small_c:.3f} s)")
            print(f"  {size:>7,} records {big:.3f} s (CPU {big_c:.3f} s)")
            print(f"  ratio {big / small:.2f}x, CPU {big_c / small_c:.2f}x")


def pieces(mlruns: Path, tmp: Path, n: int, params: int, *, cli_path: bool) -> None:
    """Where ingest's time goes, in this process (the first calls also import what they use)."""
    timings: dict[str, float] = {}
    began = time.perf_counter()
    runs = mlflow.read(str(mlruns))
    timings["read (auditor.ingest.mlflow.reader)"] = time.perf_counter() - began
    assert len(runs) == n and all(len(r.params) == params for r in runs)
    began = time.perf_counter()
    records = [build_record(run) for run in runs]
    timings["build the records"] = time.perf_counter() - began
    store = RunStore.create(tmp / "store")
    began = time.perf_counter()
    for at in range(0, len(records), BATCH_MAX):  # as `auditor ingest` writes them: a batch per sync
        commit_many(store, records[at : at + BATCH_MAX])
    timings["redact, validate, write"] = time.perf_counter() - began
    total = sum(timings.values())
    for what, seconds in timings.items():
        print(f"  {what:<30} {seconds:6.2f} s  {1000 * seconds / n:6.2f} ms per run")
    print(f"  {'ingest, all of it':<30} {total:6.2f} s  {1000 * total / n:6.2f} ms per run")
    if cli_path:
        began = time.perf_counter()
        outcomes = ingest("mlflow", str(mlruns), RunStore.create(tmp / "cli-store"))
        cli_s = time.perf_counter() - began
        assert len(outcomes) == n and all(o.new for o in outcomes)
        print(f"  {'as auditor ingest (dispatch)':<30} {cli_s:6.2f} s  {1000 * cli_s / n:6.2f} ms per run")
        total = cli_s
    print(f"target: ingest under 10 s: {'met' if total < 10 else 'MISSED'} ({total:.2f} s)")


class Worker:
    """A process that answers "COUNT WALL_S CPU_S" for each line it is sent."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], count: int, cwd: Path) -> None:
        self.name, self.count = name, count
        self.walls: list[float] = []
        self.cpus: list[float] = []
        # `python -c` puts its working folder first on sys.path, before PYTHONPATH: run from the
        # repository's root, every worker would import the auditor found there, the baseline's too.
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def call(self, line: str, *, timed: bool = True) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().split()
        if len(answer) != 3:
            raise SystemExit(f"{self.name}: the worker stopped (exit {self.process.wait()})")
        count, wall, cpu = int(answer[0]), float(answer[1]), float(answer[2])
        assert count == self.count, f"{self.name}: {count} runs, expected {self.count}"
        if timed:
            self.walls.append(wall)
            self.cpus.append(cpu)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)

    def medians(self) -> tuple[float, float]:
        return statistics.median(self.walls), statistics.median(self.cpus)


def compare(mlruns: Path, tmp: Path, n: int, repeat: int, baseline: Path | None) -> None:
    """dispatch.ingest into a fresh store vs MlflowClient.search_runs, interleaved, medians."""
    if not MLFLOW3.exists():
        raise SystemExit(f"{MLFLOW3}: missing: `./dev tools` installs MLflow 3, the peer this compares against")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "MLFLOW_ALLOW_FILE_STORE": "true"}
    here = str(Path(__file__).resolve().parents[1])
    mlruns, tmp = mlruns.resolve(), tmp.resolve()  # the workers run in tmp
    workers = [
        Worker("search_runs", [str(MLFLOW3), "-c", SEARCH, f"file://{mlruns}", EXPERIMENT], env, n, tmp),
        Worker(
            "ingest",
            [sys.executable, "-c", INGEST, str(mlruns), str(tmp / "ingest")],
            env | {"PYTHONPATH": here},
            n,
            tmp,
        ),
    ]
    if baseline is not None:
        argv = [sys.executable, "-c", INGEST, str(mlruns), str(tmp / "baseline")]
        workers.append(Worker("baseline", argv, env | {"PYTHONPATH": str(baseline.resolve())}, n, tmp))
    try:
        for worker in workers:
            worker.call("warm-up", timed=False)
        for round_ in range(repeat):
            for at in range(len(workers)):  # each round starts with the next worker
                workers[(round_ + at) % len(workers)].call(f"round-{round_}")
    finally:
        for worker in workers:
            worker.close()
    (search_s, search_cpu), (ingest_s, ingest_cpu) = workers[0].medians(), workers[1].medians()
    print(f"medians of {repeat} interleaved rounds, each timed inside its process (wall, CPU):")
    print(f"  peer: MlflowClient.search_runs (MLflow 3, file store): {search_s:6.2f} s  {search_cpu:6.2f} s CPU")
    print(f"  auditor ingest (dispatch, fresh store):               {ingest_s:6.2f} s  {ingest_cpu:6.2f} s CPU")
    if baseline is not None:
        base_s, base_cpu = workers[2].medians()
        print(f"  baseline ingest ({baseline}):  {base_s:6.2f} s  {base_cpu:6.2f} s CPU")
        print(f"  ingest / baseline: {ingest_s / base_s:.2f}x wall, {ingest_cpu / base_cpu:.2f}x CPU")
        print(f"  baseline / search_runs: {base_s / search_s:.2f}x wall, {base_cpu / search_cpu:.2f}x CPU")
    ratio = ingest_s / search_s
    print(
        f"ratio ingest / search_runs: {ratio:.2f}x wall (target <= 0.5x: {'met' if ratio <= 0.5 else 'MISSED'}), "
        f"{ingest_cpu / search_cpu:.2f}x CPU"
    )


if __name__ == "__main__":
    main()
