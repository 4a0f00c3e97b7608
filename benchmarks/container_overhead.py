"""Overhead of `auditor run --image` over a plain `podman run --rm` of the same command.

Both run `python3 -c pass` in the same image on the same engine (podman serving the Docker
API, started by `.ci/engine start`), alternating, `--repeat` times each. Prints both medians
and their difference. Target (issue: containers): under 1.5 s, most of it the in-container
environment collection.

    DOCKER_HOST=unix://$PWD/.cache/engine/podman.sock .venv/bin/python benchmarks/container_overhead.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AUDITOR = Path(sys.prefix) / "bin" / "auditor"
IMAGE = "localhost/auditor-python:bookworm"


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--image", default=IMAGE)
    args = parser.parse_args()
    if not os.environ.get("DOCKER_HOST"):
        sys.exit("set DOCKER_HOST (`.ci/engine start` prints it)")
    env = {**os.environ, "CONTAINERS_CONF": str(REPO / ".cache" / "engine" / "containers.conf")}
    plain_argv = ["podman", "run", "--rm", "--network", "none", args.image, "python3", "-c", "pass"]
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as folder:
        project = Path(folder)
        audited_argv = [str(AUDITOR), "run", "--image", args.image, "--", "python3", "-c", "pass"]
        timed(plain_argv, project, env)  # warm both paths once (page cache, image layers)
        timed(audited_argv, project, env)
        plain, audited = [], []
        for _ in range(args.repeat):
            plain.append(timed(plain_argv, project, env))
            audited.append(timed(audited_argv, project, env))
    p, a = statistics.median(plain), statistics.median(audited)
    print(f"podman run --rm:       median {p:.3f} s over {args.repeat} runs")
    print(f"auditor run --image:   median {a:.3f} s over {args.repeat} runs")
    print(f"overhead:              {a - p:.3f} s (target < 1.5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
