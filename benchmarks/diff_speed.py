"""`auditor diff` wall time on a store: the CLI as a user runs it (start-up, two runs resolved and
verified against the store's log, both checked with the same policy, rendered).
Target (issue #16): under 1 s on a store of 100,000 records.

    python -m benchmarks.diff_speed --store PATH [--a REF --b REF] [--repeat 5]
    python -m benchmarks.diff_speed              # a store of 300 factory records, built here

A store of 100,000 records comes from benchmarks/bigstore.py (helper "index"); this script only
reads the store it is given. The vulnerability rule reads the PyPA snapshot in tests/fixtures
(a local database, as CI would use), so no network is involved. Prints one line per format with
the median and the slowest run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.record.models import Metric
from tests.conftest import ADVISORY_SNAPSHOT, AUDITOR, base_env
from tests.factories import START
from tests.portfolio.diff_records import base, commit, lineage

ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def small_store(root: Path, count: int) -> Path:
    """`count` factory records (each with its own input data hash and metric), committed one by one."""
    records = []
    for i in range(count):
        run_id = "01JGZ" + "".join(ULID[(i >> shift) & 31] for shift in range(100, -5, -5))[-21:]
        records.append(
            base(
                run_id,
                lineage=lineage(raw_sha=f"{i:064x}"),
                metrics=(Metric(name="auc", value=0.8 + i / 1e4, logged_at=START),),
            )
        )
    commit(root, records)
    return root


def run_ids(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "runs").iterdir() if (p / "record.json").is_file())


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=base_env(), capture_output=True, text=True, check=False, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"auditor diff exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="A store to read (never written)")
    parser.add_argument("--a", help="Run A [default: the store's first run]")
    parser.add_argument("--b", help="Run B [default: latest]")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--records", type=int, default=300, help="Factory records for the store built here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="diff-speed-") as tmp:
        store = args.store or small_store(Path(tmp) / "store", args.records)
        ids = run_ids(store)
        a, b = args.a or ids[0], args.b or "latest"
        print(f"store {store}: {len(ids)} runs; diff {a} {b}; {args.repeat} runs per format")
        for fmt in ("text", "json", "html"):
            argv = [str(AUDITOR), "diff", a, b, "--store", str(store), "--format", fmt]
            argv += ["--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT)]
            timed(argv, Path(tmp))  # the advisory index cache and the file cache, warm as in daily use
            times = [timed(argv, Path(tmp)) for _ in range(args.repeat)]
            verdict = "under" if statistics.median(times) < 1.0 else "OVER"
            median = statistics.median(times)
            print(f"{fmt:5s} median {median:.3f} s, slowest {max(times):.3f} s ({verdict} the 1 s target)")


if __name__ == "__main__":
    main()
