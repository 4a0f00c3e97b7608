"""The run index at 1,000 / 10,000 / 100,000 records (stores from benchmarks/bigstore.py).

    python -m benchmarks.index_speed [N ...]          # default: 1000 10000 100000

For each store, wall times of the real CLI, as a user runs it (a new process each time):
- `auditor index rebuild` from no index (every record verified and summarised once);
- `auditor runs --project P` on a current index (median of 5), target < 0.5 s at 100,000;
- `auditor show RUN` (median of 5) against the same command on a 10-record store, target within
  10% (issue #19: no command reads the whole store to answer a question about one run);
- `auditor show latest` and `auditor runs` of everything, for how they grow.
The 10-record baseline is measured in the same call, on the same machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bigstore import big_store

AUDITOR = Path(sys.prefix) / "bin" / "auditor"


def wall(*args: str, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([str(AUDITOR), *args], capture_output=True, check=False, timeout=3600)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"auditor {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def middle_run(store: Path) -> str:
    names = sorted(p.name for p in (store / "runs").iterdir())
    return names[len(names) // 2]


def measure(count: int, baseline_show: float) -> None:
    store = big_store(count)
    for path in store.glob("index.sqlite*"):
        path.unlink()
    rebuild = wall("index", "rebuild", "--store", str(store))
    runs_p = wall("runs", "--store", str(store), "--project", "project-03", repeat=5)
    runs_all = wall("runs", "--store", str(store), repeat=3)
    show = wall("show", middle_run(store), "--store", str(store), repeat=5)
    latest = wall("show", "latest", "--store", str(store), repeat=5)
    print(
        f"{count:>7} records: rebuild {rebuild:7.1f} s | runs --project {runs_p:5.2f} s | runs (all) {runs_all:6.2f} s"
        f" | show RUN {show:5.2f} s ({show / baseline_show:4.2f}x the 10-record store) | show latest {latest:5.2f} s",
        flush=True,
    )


def main(counts: list[int]) -> None:
    small = big_store(10)
    wall("runs", "--store", str(small))  # its index exists before `show` is timed, as at N
    baseline = wall("show", middle_run(small), "--store", str(small), repeat=5)
    print(f"     10 records: show RUN {baseline:5.2f} s (baseline)", flush=True)
    for count in counts:
        measure(count, baseline)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10_000, 100_000])
