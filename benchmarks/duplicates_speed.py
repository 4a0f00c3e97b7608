"""Duplicate-work detection speed: find_duplicates over synthetic run summaries.

Sizes: 1,000 runs in 100 projects, 10,000 in 1,000 and 100,000 in 5,000 (as the issue's store sizes).
Each project reads one of 5 public reference datasets (read by hundreds of projects: reference data)
and two datasets of its own (a new version every few runs), runs 3 steps and holds 4 code files with
MinHash signatures of its own, and one label with two sensitive attributes from a small pool. One
project in 50 has a planted twin under another name and owner (the same data, steps and code, with a
few signature values changed). Prints the median time of --repeat calls per size, the growth between
sizes, and how many planted pairs were found and how many other pairs (false positives).

    .venv/bin/python benchmarks/duplicates_speed.py [--repeat 3] [--sizes 1000:100,10000:1000,100000:5000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from auditor.index.summary import CodeRef, DatasetRef, RunSummary, StepRef
from auditor.portfolio.duplicates import find_duplicates

START = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ("default", "churn", "fraud", "target")
ATTRIBUTES = ("age", "sex", "race", "region", "income_band")


def _hex(rng: random.Random) -> str:
    return f"sha256:{rng.getrandbits(256):064x}"


def _signature(rng: random.Random) -> tuple[int, ...]:
    return tuple(rng.getrandbits(32) for _ in range(64))


def _near(signature: tuple[int, ...], rng: random.Random, changed: int = 6) -> tuple[int, ...]:
    values = list(signature)
    for i in rng.sample(range(64), changed):
        values[i] = rng.getrandbits(32)
    return tuple(values)


def synthetic(runs: int, projects: int, seed: int = 16) -> tuple[list[RunSummary], set[tuple[str, str]]]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    public = [_hex(rng) for _ in range(5)]
    shapes = []
    planted: set[tuple[str, str]] = set()
    for p in range(projects):
        if p % 50 == 1:  # the twin of the project before it
            name = f"twin-{p:05d}"
            base = shapes[-1]
            code = tuple(CodeRef(f"other/{i}.py", _hex(rng)[7:], _near(c.minhash, rng)) for i, c in enumerate(base[4]))
            shapes.append((name, f"owner-{p}", base[2], base[3], code, base[5]))
            planted.add(tuple(sorted((base[0], name))))  # type: ignore[arg-type]
            continue
        name = f"project-{p:05d}"
        data = (rng.choice(public), _hex(rng), _hex(rng))
        steps = tuple(StepRef(s, f"python src/{s}_{p}.py --seed {p} data/in.csv") for s in ("prepare", "train", "eval"))
        code = tuple(CodeRef(f"src/{i}.py", _hex(rng)[7:], _signature(rng)) for i in range(4))
        label = (rng.choice(LABELS), tuple(sorted(rng.sample(ATTRIBUTES, 2))))
        shapes.append((name, f"owner-{p}", data, steps, code, label))
    summaries = []
    for i in range(runs):
        name, owner, data, steps, code, (label, sensitive) = shapes[i % projects]
        datasets = tuple(
            DatasetRef(f"d{j}", "input", f"data/{j}.csv", None, key if i % 7 else _hex(rng), None, "documented")
            for j, key in enumerate(data)
        )
        summaries.append(
            RunSummary(
                run_id=f"run-{i:07d}", record_sha256="0" * 64, schema_version="1.6", project=name, name=None,
                owner=owner, intended_use=None, status="succeeded", origin="executed", tool="local",
                started_at=START + timedelta(minutes=i), ended_at=None, duration_s=None, user=None, host=None,
                commit=None, branch=None, dirty=None, repo_url=None, python=None, image=None, reproduces=None,
                reingests=None, reproduction_verdict=None, datasets=datasets, steps=steps, label=label,
                sensitive=sensitive, code=code,
            )
        )  # fmt: skip
    return summaries, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000:100,10000:1000,100000:5000")
    args = parser.parse_args()
    previous: tuple[int, float] | None = None
    for size in args.sizes.split(","):
        runs, projects = (int(n) for n in size.split(":"))
        summaries, planted = synthetic(runs, projects)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            pairs = find_duplicates(summaries)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        found = {(p.a, p.b) for p in pairs}
        growth = ""
        if previous is not None:
            growth = f", x{median / previous[1]:.1f} time for x{runs / previous[0]:.0f} runs"
        print(
            f"{runs:>7} runs in {projects:>5} projects: median {median:.3f} s over {args.repeat}{growth}; "
            f"planted pairs found {len(found & planted)}/{len(planted)}, other pairs {len(found - planted)}"
        )
        previous = (runs, median)


if __name__ == "__main__":
    main()
