"""`auditor show RUN` on a 100,000-record store against a 10-record store (and `show latest`), and
`auditor runs --project` on the 100,000-record store (issue #19: no command reads the whole store to answer a
question about one run; target: show within 10% of the 10-record store).

The stores are benchmarks/bigstore.py's (.cache/bench-stores/N, built once, never rebuilt here).
A command may bring the store's run index up to date, so each store is used through a copy made
beside it in a temporary folder: its log and index copied, its run folders hard-linked (no
command here writes a record). Each command runs as a user runs it (the console script, a new
process), alternating between the stores, --repeat times; medians and their ratio are printed,
wall-clock (the target) and CPU time (user + system: what a loaded machine disturbs least).

    .venv/bin/python benchmarks/show_speed.py [--repeat 7] [--big 100000] [--small 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORES = ROOT / ".cache" / "bench-stores"
AUDITOR = ROOT / ".venv" / "bin" / "auditor"


def copy_store(source: Path, target: Path) -> Path:
    """A store that reads as `source` and may be written (its index, its log), sharing the records."""
    if not (source / "runs").is_dir():
        raise SystemExit(f"{source}: no store here: build it first with `python -m benchmarks.bigstore N`")
    target.mkdir()
    for item in source.iterdir():
        if item.name == "runs":
            subprocess.run(["cp", "-al", str(item), str(target / "runs")], check=True, timeout=3600)
        elif item.is_dir():
            shutil.copytree(item, target / item.name, symlinks=True)
        else:
            shutil.copy2(item, target / item.name)
    return target


def timed(argv: list[str], cpu: list[float] | None = None) -> float:
    """Wall seconds of the command; its CPU seconds (user + system) appended to `cpu` if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    if cpu is not None:
        cpu.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
    return seconds


def middle_run(store: Path) -> str:
    names = sorted(p.name for p in (store / "runs").iterdir())
    return names[len(names) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10)
    args = parser.parse_args()
    for size in (args.small, args.big):
        if not (STORES / str(size) / "runs").is_dir():
            raise SystemExit(
                f"{STORES / str(size)}: no store here: build it first with `python -m benchmarks.bigstore {size}`"
            )
    with tempfile.TemporaryDirectory(prefix="auditor-show-bench-", dir=STORES) as tmp:
        small = copy_store(STORES / str(args.small), Path(tmp) / "small")
        big = copy_store(STORES / str(args.big), Path(tmp) / "big")
        os.sync()  # the copies written back before timing: their writeback is not the commands' time
        shows = {small: ["show", middle_run(small)], big: ["show", middle_run(big)]}
        for store, command in shows.items():  # once each before timing: the index brought up to the copy
            timed([str(AUDITOR), *command, "--store", str(store)])
        times: dict[Path, list[float]] = {small: [], big: []}
        cpu: dict[Path, list[float]] = {small: [], big: []}
        for _ in range(args.repeat):
            for store, command in shows.items():
                times[store].append(timed([str(AUDITOR), *command, "--store", str(store)], cpu[store]))
        small_s, big_s = statistics.median(times[small]), statistics.median(times[big])
        small_c, big_c = statistics.median(cpu[small]), statistics.median(cpu[big])
        print(f"show RUN, {args.small:>7,} records: median {small_s:.3f} s of {args.repeat} (CPU {small_c:.3f} s)")
        print(f"show RUN, {args.big:>7,} records: median {big_s:.3f} s of {args.repeat} (CPU {big_c:.3f} s)")
        ratio = big_s / small_s
        verdict = "met" if ratio <= 1.10 else "MISSED"
        print(f"ratio: {ratio:.2f}x (target <= 1.10x: {verdict}); CPU time: {big_c / small_c:.2f}x")
        latest: dict[Path, list[float]] = {small: [], big: []}
        for _ in range(args.repeat):  # `latest`: the newest folder names, each asked of the log
            for store in (small, big):
                latest[store].append(timed([str(AUDITOR), "show", "latest", "--store", str(store)]))
        small_l, big_l = statistics.median(latest[small]), statistics.median(latest[big])
        print(
            f"show latest: {args.small:,} records {small_l:.3f} s, {args.big:,} records {big_l:.3f} s "
            f"(ratio {big_l / small_l:.2f}x)"
        )
        listing = [str(AUDITOR), "runs", "--project", "project-03", "--store", str(big)]
        timed(listing)
        runs_s = statistics.median(timed(listing) for _ in range(args.repeat))
        version = [str(AUDITOR), "--version"]
        floor = statistics.median(timed(version) for _ in range(args.repeat))
        print(f"runs --project project-03, {args.big:,} records: median {runs_s:.3f} s of {args.repeat}")
        print(f"  (auditor --version, the start-up floor: median {floor:.3f} s)")


if __name__ == "__main__":
    main()
