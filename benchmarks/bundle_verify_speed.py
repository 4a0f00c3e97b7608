"""Evidence bundles: median time to verify the sample run's bundle, and what signing adds to `report`.

Captures the sample credit-scoring pipeline once (its .venv from `./dev setup`), generates an ECDSA
P-256 key, bundles the run signed, then times --repeat times each:
- `verify_path` in process (what `auditor verify` does once it has started), and the whole
  `auditor verify BUNDLE --key PUB` command (with Python's and pyHanko's start-up);
- `auditor report --pdfa` unsigned and `--sign KEY` (the whole command): the difference is what
  signing adds. Targets (issue #13): verify under 1 s; signing adds under 1 s to `report`.

    .venv/bin/python benchmarks/bundle_verify_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from auditor.evidence.verify import verify_path  # noqa: E402
from auditor.sign.trust import load_verifiers  # noqa: E402

SAMPLE = REPO / "samples" / "credit-scoring"
AUDITOR = Path(sys.prefix) / "bin" / "auditor"
CHECK = ("--vuln-source", "local", "--advisory-db", str(REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot"))


def auditor(cwd: Path, *args: str) -> None:
    subprocess.run([str(AUDITOR), *args], cwd=cwd, check=True, capture_output=True, timeout=600)


def median_s(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "credit-scoring"
        shutil.copytree(
            SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor")
        )
        (project / ".venv").symlink_to(SAMPLE / ".venv")
        auditor(project, "run", "--", str(project / ".venv" / "bin" / "python"), "run_pipeline.py")
        auditor(
            project, "keys", "generate", "--name", "Bench", "-o", "k", "--no-passphrase", "--algorithm", "ecdsa-p256"
        )
        start = time.perf_counter()
        auditor(project, "bundle", "latest", "-o", "b.tar", "--sign", "k.key", *CHECK)
        print(f"bundle (whole command, once):         {time.perf_counter() - start:6.2f} s")
        bundle = project / "b.tar"
        print(f"bundle size:                          {bundle.stat().st_size / 1e6:6.2f} MB")
        verifiers = load_verifiers([project / "k.pub"])
        verify_path(bundle, verifiers)  # warm: imports, pyHanko's first use
        inside = median_s(args.repeat, lambda: verify_path(bundle, verifiers))
        print(f"verify, in process (median):          {inside:6.3f} s")
        whole = median_s(args.repeat, lambda: auditor(project, "verify", "b.tar", "--key", "k.pub"))
        print(f"auditor verify, whole command:        {whole:6.3f} s   (target < 1 s)")
        plain = median_s(args.repeat, lambda: auditor(project, "report", "latest", "--pdfa", "-o", "o1", *CHECK))
        signed = median_s(
            args.repeat, lambda: auditor(project, "report", "latest", "--pdfa", "-o", "o2", "--sign", "k.key", *CHECK)
        )
        print(f"auditor report --pdfa:                {plain:6.2f} s")
        print(f"auditor report --pdfa --sign KEY:     {signed:6.2f} s")
        print(f"signing adds:                         {signed - plain:6.2f} s   (target < 1 s)")


if __name__ == "__main__":
    main()
