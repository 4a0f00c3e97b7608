"""`auditor portfolio` over a store of N runs: first generation (every run checked, dossiers
rendered) and regeneration into the same folder (checks kept by the run index, when the store has
one; dossiers reused from the previous site).

The store holds factory records (tests/factories.py) with lineage (input, output and model hashes,
pipeline steps) spread over `--projects` projects and 90 days, committed through the real RunStore;
the policy is the default pack with the local advisory snapshot (no network). Target (issue #16):
10,000 runs under 60 s.

    .venv/bin/python benchmarks/portfolio_speed.py [--runs 1000 10000] [--projects 50] [--keep DIR]

Measured on 2026-12-06 (2 cores shared with other jobs, load average 6 to 8; SQLite run index;
50 projects, so 50 dossiers rendered on first generation):
    1,000 runs:  first generation 27.0 s, regeneration 5.4 s  (1,105 pages)
    10,000 runs: first generation 57.0 s, regeneration 9.9 s  (10,105 pages)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from auditor.record.ids import new_ulid  # noqa: E402
from tests.factories import START  # noqa: E402
from tests.portfolio.xrun_records import Run, store_of  # noqa: E402

AUDITOR = Path(sys.prefix) / "bin" / "auditor"
SNAPSHOT = REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot"


def build_store(root: Path, runs: int, projects: int) -> None:
    base = int(START.timestamp() * 1000)
    planned = []
    for i in range(runs):
        p = i % projects
        planned.append(
            Run(
                run_id=new_ulid(base + i * 1000),
                project=f"project-{p:03d}",
                owner=f"owner-{p % 17}",
                inputs=((f"data/train-{p}.csv", f"train {p} {i // (projects * 10)}"), ("data/reference.csv", "ref")),
                outputs=((f"out/predictions-{p}.csv", f"predictions {i}"),),
                models=(("model.pkl", f"model {i}"),),
                steps=(("prepare", f"python prepare.py --part {p}"), ("train", "python train.py")),
                day=(i * 90) // runs,
            )
        )
    store_of(root, planned)


def portfolio(store: Path, out: Path) -> tuple[float, str]:
    argv = [str(AUDITOR), "portfolio", "--store", str(store), "-o", str(out)]
    argv += ["--vuln-source", "local", "--advisory-db", str(SNAPSHOT)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=dict(os.environ))
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"auditor portfolio exited {done.returncode}: {done.stderr.strip()}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="Build the stores and sites here (kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portfolio-bench-") as scratch:
        work = args.keep or Path(scratch)
        for n in args.runs:
            store, out = work / f"store-{n}", work / f"site-{n}"
            started = time.perf_counter()
            build_store(store, n, args.projects)
            built = time.perf_counter() - started
            first, said = portfolio(store, out)
            again, said_again = portfolio(store, out)
            pages = sum(1 for _ in out.rglob("*.html"))
            print(f"{n} runs, {args.projects} projects (store built in {built:.1f} s), {pages} pages:")
            print(f"  first generation {first:.1f} s  | {said}")
            print(f"  regeneration     {again:.1f} s  | {said_again}")


if __name__ == "__main__":
    main()
