"""W&B ingest speed: 1,000 offline runs, read and written. Target (issue #15): under 20 s.

The real `wandb` (the tools virtualenv, .cache/tools/wandb, from tests/ingest/tools/wandb.txt)
writes four runs once through tests/ingest/wandb_producer.py: a finished training run (config,
12 history steps, summary, a dataset and a model artifact), a failed one, one killed with SIGKILL
(as much of it as W&B wrote), and a finished run of 1,500 history steps of three metrics (10% of
the folder by default). Starting wandb 1,000 times would take half an hour, so each
run is copied under new run ids: the id is replaced in every record by another of the same
length (no protobuf length changes) and the records are framed again with fresh checksums,
so every copy is a valid, distinct W&B run. Then it times, for the whole folder: reading
(auditor.ingest.wandb.reader.read), building the records, and redacting, validating and writing
each into a fresh run store; then the same through registry.ingest, the path `auditor ingest`
takes.

    .venv/bin/python benchmarks/ingest_wandb.py [--runs 1000] [--long-share 0.1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.ingest.ingested import build_record
from auditor.ingest.registry import ingest
from auditor.ingest.store import commit
from auditor.ingest.wandb import reader as wandb
from auditor.ingest.wandb.logfile import LogReader
from auditor.store.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.ingest.test_wandb_errors import framed  # noqa: E402 - the test suite's LevelDB log framing

PRODUCER = REPO / "tests" / "ingest" / "wandb_producer.py"
PYTHON = REPO / ".cache" / "tools" / "wandb" / "bin" / "python"


SCENARIOS = ("train", "broken", "killed", "long")


def produce(work: Path) -> dict[str, Path]:
    """Four real runs (train, broken, killed, long), by scenario."""
    if not PYTHON.exists():
        raise SystemExit(f"{PYTHON} is missing: run `./dev setup` (it installs tests/ingest/tools/wandb.txt)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work)}
    subprocess.run([str(PYTHON), str(PRODUCER), str(work), *SCENARIOS], cwd=work, env=env, check=True, timeout=300)
    found = {}
    for scenario in SCENARIOS:
        run_id = (work / f"logged-{scenario}.json").read_text().split('"run_id": "')[1].split('"')[0]
        found[scenario] = next((work / "wandb").glob(f"offline-run-*-{run_id}"))
    return found


def copies(template: Path, into: Path, count: int, start: int) -> None:
    old = template.name.rsplit("-", 1)[1]
    log = next(template.glob("*.wandb"))
    with log.open("rb") as handle:
        payloads = [payload for _, payload in LogReader(handle, log)]
    requirements = (template / "files" / "requirements.txt").read_bytes()
    for n in range(start, start + count):
        new = f"b{n:0{len(old) - 1}d}"  # as long as W&B's id, so no length inside a record changes
        folder = into / template.name.replace(old, new)
        (folder / "files").mkdir(parents=True)
        (folder / f"run-{new}.wandb").write_bytes(framed(*(p.replace(old.encode(), new.encode()) for p in payloads)))
        (folder / "files" / "requirements.txt").write_bytes(requirements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--long-share", type=float, default=0.1, help="share of runs with 1,500 history steps")
    parser.add_argument("--repeat", type=int, default=1, help="times to read the folder (the median is shown)")
    args = parser.parse_args()
    n = args.runs
    with tempfile.TemporaryDirectory(prefix="auditor-wandb-bench-") as tmp:
        work = Path(tmp) / "produced"
        work.mkdir()
        began = time.perf_counter()
        templates = produce(work)
        print(f"4 real runs written by wandb in {time.perf_counter() - began:.1f} s")
        runs_dir = Path(tmp) / "project" / "wandb"
        long = int(n * args.long_share)
        plan = {"long": long, "broken": n // 20, "killed": n // 20, "train": n - long - 2 * (n // 20)}
        began = time.perf_counter()
        start = 0
        for scenario, count in plan.items():
            copies(templates[scenario], runs_dir, count, start)
            start += count
        size = sum(p.stat().st_size for p in runs_dir.rglob("*.wandb"))
        mix = ", ".join(f"{c} {s}" for s, c in plan.items())
        print(f"folder: {n} runs ({mix}), {size / 1e6:.1f} MB of .wandb files")
        print(f"  copied in {time.perf_counter() - began:.2f} s")
        print(f"  {'':<30} {'wall':>8} {'CPU':>8}   (CPU: this process only; wall includes other load and fsync)")
        reads = []
        for _ in range(args.repeat):
            clock = Clock()
            runs = wandb.read(runs_dir.parent)
            reads.append(clock.stop())
        assert len(runs) == n and len({r.source_run_id for r in runs}) == n
        timings = {
            f"read (median of {args.repeat})": min(
                reads, key=lambda t: abs(t[0] - statistics.median(w for w, _ in reads))
            )
        }
        clock = Clock()
        records = [build_record(run) for run in runs]
        timings["build the records"] = clock.stop()
        store = RunStore.create(Path(tmp) / "store")
        clock = Clock()
        for record in records:
            commit(store, record)
        timings["redact, validate, write"] = clock.stop()
        timings["ingest, all of it"] = (sum(w for w, _ in timings.values()), sum(c for _, c in timings.values()))
        for what, (wall, cpu) in timings.items():
            print(f"  {what:<30} {wall:6.2f} s {cpu:6.2f} s  {1000 * wall / n:6.2f} ms per run")
        clock = Clock()
        outcomes = ingest("wandb", str(runs_dir.parent), RunStore.create(Path(tmp) / "cli-store"))
        wall, cpu = clock.stop()
        assert len(outcomes) == n and all(o.new for o in outcomes)
        print(f"  {'as auditor ingest (registry)':<30} {wall:6.2f} s {cpu:6.2f} s  {1000 * wall / n:6.2f} ms per run")
        shutil.rmtree(runs_dir)
    verdict = "met" if wall < 20 else "MISSED"
    print(f"target: 1,000 W&B runs ingested under 20 s: {verdict} ({wall:.2f} s wall, {cpu:.2f} s CPU for {n} runs)")


class Clock:
    """Wall and CPU seconds since it was made: on a shared machine the CPU figure is the stable one."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


if __name__ == "__main__":
    main()
