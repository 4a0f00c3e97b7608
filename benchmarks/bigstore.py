"""Realistic run stores of N records, built fast and cached: the stores the index, portfolio and
diff benchmarks measure against.

    python -m benchmarks.bigstore 10000            # -> .cache/bench-stores/10000 (built once)
    from benchmarks.bigstore import big_store; root = big_store(100_000)

Each record is a real `RunRecord` (validated by pydantic, written with `dump_record`, so every
reader parses it as it parses a captured one): 12 projects with owners and intended uses, 3-5
packages (one of 3 versions each), 2-4 input datasets hashed with SHA-256 (a shared public
reference set among them), an output model, two steps, params and metrics, a status mix, and 1 in
50 runs reproducing an earlier run of its project. The folders are written as `RunStore.commit`
writes them (runs/<id>/record.json, stdout.log, stderr.log); the log is built in one go by
`auditor.store.log.build` over the same `record` entries commit appends (as `auditor store
migrate` does): committing 100,000 runs one by one would spend most of its time in 400,000
fdatasyncs, and the result is the same store. A store is built in `<N>.partial` and renamed into
place, so a cached store is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.record import RunRecord, dump_record
from auditor.record.lineage import ContentHash, Dataset, Datasheet, FileHash, Lineage, ModelArtifact, ProjectInfo, Step
from auditor.record.models import Distribution, Links, Missing, Packages
from auditor.store.log import LOG_DIR, build
from auditor.store.runs import STORE_FORMAT, STORE_MARKER, record_entry
from tests.factories import make_record

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench-stores"
PROJECTS = [f"project-{i:02d}" for i in range(12)]
OWNERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
PACKAGES = ["numpy", "pandas", "scikit-learn", "torch", "xgboost", "scipy", "lightgbm"]
VERSIONS = ["1.0.0", "1.1.0", "2.0.1"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(moment: datetime, rng: random.Random) -> str:
    """A ULID for `moment` (48-bit milliseconds, 80 random bits), as auditor's run ids are."""
    value = (int(moment.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(ULID_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def _hash(tag: str, moment: datetime) -> ContentHash:
    digest = hashlib.sha256(tag.encode()).hexdigest()
    return ContentHash(
        kind="file", sha256=digest, size=1000, files=(FileHash(path="", sha256=digest, size=1000),), hashed_at=moment
    )


def make_run(index: int, rng: random.Random, earlier: list[str], template: RunRecord) -> RunRecord:
    project_no = index % len(PROJECTS)
    project = PROJECTS[project_no]
    started = EPOCH + timedelta(minutes=5 * index, seconds=rng.randrange(60))
    run_id = ulid(started, rng)
    status = rng.choices(["succeeded", "failed", "interrupted"], [90, 8, 2])[0]
    inputs = [
        Dataset(
            id="reference",
            role="input",
            path="data/reference.csv",
            datasheet=Datasheet(description="public reference data", source="https://example.invalid/ref"),
            before=_hash("reference-v1", started),
        )
    ]
    for n in range(rng.randrange(1, 4)):
        version = rng.randrange(5)
        inputs.append(
            Dataset(
                id=f"input-{n}",
                role="input",
                path=f"data/input-{n}.parquet",
                datasheet=Datasheet(description=f"input {n} of {project}"),
                before=_hash(f"{project}-input-{n}-v{version}", started),
            )
        )
    model = ModelArtifact(id="model", path="model.pkl", after=_hash(f"{run_id}-model", started))
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(
            name=project, owner=OWNERS[project_no % len(OWNERS)], intended_use=f"credit decisions ({project})"
        ),
        datasets=tuple(inputs),
        steps=(
            Step(name="prepare", command="python prepare.py", inputs=("reference",), outputs=()),
            Step(name="train", command="python train.py", inputs=tuple(d.id for d in inputs[1:]), outputs=()),
        ),
        models=(model,),
        observed=Missing(reason="not observed in this benchmark store"),
        graph={"directed": True, "multigraph": False, "graph": {}, "nodes": [], "edges": []},
    )
    packages = tuple(
        Distribution(
            name=name,
            version=rng.choice(VERSIONS),
            installer="pip",
            requested=True,
            install_kind="index",
            location="/venv/lib/python3.11/site-packages",
        )
        for name in rng.sample(PACKAGES, rng.randrange(3, 6))
    )
    assert not isinstance(template.environment.packages, Missing)
    env = template.environment.model_copy(update={"packages": Packages(distributions=packages)})
    identity = template.identity.model_copy(
        update={
            "run_id": run_id,
            "project": project,
            "name": f"train {project} #{index}",
            "started_at": started,
            "ended_at": started + timedelta(seconds=60),
            "status": status,
            "exit_code": 0 if status == "succeeded" else 1,
            "user": OWNERS[project_no % len(OWNERS)],
        }
    )
    reproduces = earlier[-rng.randrange(1, min(len(earlier), 40) + 1)] if earlier and index % 50 == 49 else None
    return template.model_copy(
        update={
            "identity": identity,
            "environment": env,
            "lineage": lineage,
            "links": Links(reproduces=reproduces),
            "params": {"seed": index, "learning_rate": 0.01 * (1 + index % 7), "max_depth": 3 + index % 5},
        }
    )


def write_store(root: Path, count: int, seed: int = 16) -> None:
    """Write a store of `count` runs into `root` (a new folder)."""
    rng = random.Random(seed)  # noqa: S311 - the same store for the same seed, not secrets
    template = make_record()
    (root / "runs").mkdir(parents=True)
    (root / "staging").mkdir()
    (root / STORE_MARKER).write_text(json.dumps(STORE_FORMAT, sort_keys=True) + "\n")
    (root / ".gitignore").write_text("# auditor's run store; remove this file to commit runs\n*\n")
    (root / "salt").write_bytes(os.urandom(32))
    lines: list[bytes] = []
    per_project: dict[str, list[str]] = {}
    for index in range(count):
        project = PROJECTS[index % len(PROJECTS)]
        earlier = per_project.setdefault(project, [])
        record = make_run(index, rng, earlier, template)
        run_id = record.identity.run_id
        earlier.append(run_id)
        data = dump_record(record)
        folder = root / "runs" / run_id
        folder.mkdir()
        (folder / "record.json").write_bytes(data)
        (folder / "stdout.log").write_bytes(b"")
        (folder / "stderr.log").write_bytes(b"")
        lines.append(record_entry(run_id, hashlib.sha256(data).hexdigest()))
        if index and index % 10_000 == 0:
            print(f"  {index} runs written", file=sys.stderr)
    build(root / LOG_DIR, lines)


def big_store(count: int) -> Path:
    """The cached store of `count` runs (built on first use; minutes for 100,000)."""
    final = CACHE / str(count)
    if (final / LOG_DIR).is_dir():
        return final
    partial = CACHE / f"{count}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_store(partial, count)
    partial.rename(final)
    print(f"built {final} ({count} runs) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return final


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(big_store(int(arg)))
