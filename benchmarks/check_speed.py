"""`auditor check` on a large synthetic record: 2,000 packages, 10,000 datasets, the local advisory DB.

Builds the record in a scratch store, then times the installed CLI end to end (process start,
record parse, every rule of the default pack, the vulnerability audit, text output):
once with a cold advisory-index cache and `--repeat` times warm. Prints the cold time and the
warm median. Target (issue: policy engine): under 2 s warm, the index built once and cached.

    .venv/bin/python benchmarks/check_speed.py [--repeat 5] [--db tests/fixtures/advisories/pypa-snapshot]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from auditor.record.lineage import (
    ContentHash,
    Dataset,
    Datasheet,
    FileAccess,
    FileHash,
    Lineage,
    Observation,
    ProjectInfo,
)
from auditor.record.models import Distribution, Packages
from auditor.store.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.factories import make_record  # noqa: E402 - after the path is set

AUDITOR = Path(sys.prefix) / "bin" / "auditor"
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def packages(db: Path, count: int) -> Packages:
    """Real names from the advisory database (so the audit does real range evaluation), padded."""
    names = sorted(p.name for p in (db / "vulns").iterdir())[: count // 2]
    names += [f"synthetic-package-{i}" for i in range(count - len(names))]
    dists = tuple(
        Distribution(
            name=n,
            version=f"1.{i % 7}.{i % 3}",
            installer="pip",
            requested=False,
            install_kind="index",
            location="/venv/lib/python3.11/site-packages",
        )
        for i, n in enumerate(names)
    )
    return Packages(distributions=dists)


def lineage(count: int) -> Lineage:
    sheet = Datasheet(description="d", source="s", owner="o", licence="CC-BY-4.0", personal_data=False)
    datasets, files = [], []
    for i in range(count):
        path = f"data/part-{i:05d}.csv"
        digest = f"{i:064x}"
        content = ContentHash(
            kind="file", sha256=digest, size=100, files=(FileHash(path="", sha256=digest, size=100),), hashed_at=NOW
        )
        datasets.append(Dataset(id=f"part-{i}", role="input", path=path, datasheet=sheet, before=content))
        files.append(FileAccess(path=path, read=True, written=False, dataset=f"part-{i}", verdicts=("declared_read",)))
    observed = Observation(
        method="audit-hook",
        processes=1,
        files=tuple(files),
        declared_unread=(),
        environment_reads={},
    )
    return Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(name="bench"),
        datasets=tuple(datasets),
        steps=(),
        models=(),
        observed=observed,
        graph={"directed": True, "multigraph": False, "graph": {}, "nodes": [], "edges": []},
    )


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        sys.exit(f"auditor check failed ({done.returncode}): {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, default=REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot")
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--datasets", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        record = make_record().model_copy(
            update={
                "environment": make_record().environment.model_copy(
                    update={"packages": packages(args.db, args.packages)}
                ),
                "lineage": lineage(args.datasets),
            }
        )
        store = RunStore.create(root / "store")  # committed as auditor commits runs (the store refuses others)
        store.commit(store.begin(record.identity.run_id), record)
        size = store.record_path(record.identity.run_id).stat().st_size
        env = {**os.environ, "AUDITOR_CACHE_DIR": str(root / "cache")}
        command = [str(AUDITOR), "check", "latest", "--store", str(root / "store"), "--advisory-db", str(args.db)]
        cold = timed(command, env)
        warm = [timed(command, env) for _ in range(args.repeat)]
    print(f"record: {args.packages} packages, {args.datasets} datasets, {size / 2**20:.1f} MiB")
    print(f"auditor check, cold advisory index: {cold:.2f} s")
    print(f"auditor check, warm (median of {args.repeat}): {statistics.median(warm):.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
