"""The store's log at scale: append one entry to a log of 1,000,000 entries, and prove an entry's
inclusion. Target (issue #13): each under 10 ms.

Builds the log once in a temporary folder (as `auditor store migrate` does, in one go), then times
appends (each made durable: entry, offset, level hashes and head fdatasync'ed, as a commit does)
and inclusion proofs of random entries (read from the level files and checked), and prints the
medians. The temporary folder is on the file system of --dir (default: the system's temp dir);
fsync costs depend on it, so say which one a figure comes from.

    .venv/bin/python benchmarks/log_speed.py [--entries 1000000] [--repeat 200] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from auditor.store.log import MerkleLog, build, entry_line


def line(i: int) -> bytes:
    return entry_line(
        {"v": 1, "kind": "record", "run_id": f"01JGZ{i:021d}", "sha256": hashlib.sha256(str(i).encode()).hexdigest()}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp) / "log"
        started = time.perf_counter()
        build(folder, [line(i) for i in range(args.entries)])
        print(f"built a log of {args.entries} entries in {time.perf_counter() - started:.1f} s ({folder.parent})")
        log = MerkleLog(folder)
        appends, proofs = [], []
        rng = random.Random(13)  # noqa: S311 - which entries to prove, not a secret
        for n in range(args.repeat):
            started = time.perf_counter()
            index, head = log.append(line(args.entries + n))
            appends.append(time.perf_counter() - started)
            target = rng.randrange(head.size)
            started = time.perf_counter()
            proof = log.prove(target, head)
            proofs.append(time.perf_counter() - started)
            assert proof.verify() and index == head.size - 1
        print(f"append: median {statistics.median(appends) * 1000:.2f} ms, max {max(appends) * 1000:.2f} ms")
        print(f"inclusion proof: median {statistics.median(proofs) * 1000:.2f} ms, max {max(proofs) * 1000:.2f} ms")
        started = time.perf_counter()
        view = log.view()
        print(f"(reading the whole log once, as a reader's first look-up does: {time.perf_counter() - started:.2f} s)")
        started = time.perf_counter()
        view.inclusion(rng.randrange(view.head.size)).verify()
        print(f"(an inclusion proof from that view: {(time.perf_counter() - started) * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
