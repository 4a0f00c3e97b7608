"""Run the credit-scoring pipeline: fetch_data, prepare, train.

Each step runs as its own Python subprocess with this interpreter
(sys.executable), exactly as a person would run it by hand, so every step is a
separate, observable process with its own exit code. The pipeline stops at the
first failing step and exits with that step's code.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STEPS = ["fetch_data", "prepare", "train"]


def main() -> int:
    """Run every step in order, then print the held-out metrics."""
    for number, step in enumerate(STEPS, start=1):
        print(f"[{number}/{len(STEPS)}] {step}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(ROOT / "src" / f"{step}.py")], cwd=ROOT, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            print(f"[{number}/{len(STEPS)}] {step} failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
        print(f"[{number}/{len(STEPS)}] {step} done in {elapsed:.1f}s", flush=True)

    metrics = json.loads((ROOT / "outputs" / "metrics.json").read_text(encoding="utf-8"))
    print("metrics: " + ", ".join(f"{name}={value}" for name, value in metrics.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
