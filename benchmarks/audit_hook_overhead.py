"""Audit-hook overhead: the sample's training step with and without auditor's start-up hook.

Runs `samples/credit-scoring/src/train.py` in the sample's own virtualenv, alternating
plain runs with runs under the observation hook (every open() recorded), and prints
both medians and the ratio. Target (issue: data lineage): under 5 % added.

    .venv/bin/python benchmarks/audit_hook_overhead.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from auditor.capture.observe.session import ObservationSession

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "credit-scoring"
PYTHON = SAMPLE / ".venv" / "bin" / "python"


def timed(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(PYTHON), "src/train.py"], cwd=SAMPLE, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ)
    subprocess.run([str(PYTHON), "run_pipeline.py"], cwd=SAMPLE, env=env, check=True, stdout=subprocess.DEVNULL)
    plain, hooked, reports = [], [], 0
    for _ in range(args.repeat):
        plain.append(timed(env))
        session = ObservationSession()
        try:
            hooked.append(timed(session.environment(env)))
            reports = len(session.collect().processes)
        finally:
            session.close()
    if reports != 1:
        raise SystemExit(f"the hook did not report (processes: {reports}): the figure would be meaningless")
    p, h = statistics.median(plain), statistics.median(hooked)
    print(f"train.py plain:           median {p:.3f} s over {args.repeat} runs")
    print(f"train.py with audit hook: median {h:.3f} s over {args.repeat} runs")
    print(f"overhead:                 {(h / p - 1) * 100:+.1f} % (ratio {h / p:.3f}; target < 5 %)")


if __name__ == "__main__":
    main()
