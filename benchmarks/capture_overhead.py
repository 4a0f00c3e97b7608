"""Capture overhead: `auditor run -- python -c pass` against plain `python -c pass`.

Prints both medians (of --repeat runs each, interleaved) and the difference.
Target (issue: run capture): under 0.5 s added on a 2-core machine.

    .venv/bin/python benchmarks/capture_overhead.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDITOR = Path(sys.prefix) / "bin" / "auditor"


def timed(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        plain_cmd = [sys.executable, "-c", "pass"]
        captured_cmd = [str(AUDITOR), "run", "--store", f"{work}/store", "--", *plain_cmd]
        timed(captured_cmd, work)  # warm the page cache and create the store
        plain, captured = [], []
        for _ in range(args.repeat):
            plain.append(timed(plain_cmd, work))
            captured.append(timed(captured_cmd, work))
    p, c = statistics.median(plain), statistics.median(captured)
    print(f"plain python -c pass:           median {p:.3f} s over {args.repeat} runs")
    print(f"auditor run -- python -c pass:  median {c:.3f} s over {args.repeat} runs")
    print(f"capture overhead:               {c - p:.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
