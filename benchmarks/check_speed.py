"""`auditor check` on a large synthetic record: 2,000 packages, 10,000 datasets, the local advisory DB.

Builds the record in a scratch store, then times the installed CLI end to end (process start,
record parse, every rule of the default pack, the vulnerability audit, text output), alternating
cold (the advisory-index cache removed first) and warm runs, `--repeat` of each, and prints both
medians and their ratio to the targets (issue #19: under 1 s warm, under 2 s with a cold index).
Cold is timed twice: on the advisory folder given (`--advisory-db`: every advisory parsed again), and
on the same advisories installed by `auditor advisories update` (which keeps their index in the
database), the cache removed but the database kept ("cold, installed").
The package's bytecode is compiled first, as an installed wheel's is (PYTHONDONTWRITEBYTECODE
would otherwise make every run compile the new modules from source), and one run under `python -v`
must load every module from bytecode (else the benchmark stops and names one).

`--baseline SRC` also times another version of auditor (a folder holding its `auditor` package, e.g.
`git archive <commit> auditor rules report_templates | tar -x -C SRC`: its links need those) on the
same record, interleaved, and prints the ratios.
`--profile DIR` also writes, for one warm and one cold run, a cProfile dump (`warm.prof`,
`cold.prof`; read with `python -m pstats`) and `-X importtime` output (`*.importtime.txt`), and
prints the top functions by cumulative time.

    .venv/bin/python benchmarks/check_speed.py [--repeat 5] [--db tests/fixtures/advisories/pypa-snapshot]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
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

# How the console script starts auditor; PYTHONPATH picks which version. `-P`: the working folder
# (this repository, when the benchmark is run from it) is not put first on sys.path, or every
# version timed would be this one.
LAUNCH = "import sys; sys.argv[0] = 'auditor'; from auditor.cli import main; main()"
# main() leaves with os._exit, which `python -m cProfile -o` never sees: dump the profile just before.
PROFILED = (
    "import cProfile, os, sys; sys.argv[0] = 'auditor'; p = cProfile.Profile(); leave = os._exit; "
    "os._exit = lambda code: (p.disable(), p.dump_stats(os.environ['BENCH_PROFILE']), leave(code)); "
    "p.enable(); from auditor.cli import main; main()"
)
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


def timed(args: list[str], env: dict[str, str], cpu: list[float]) -> float:
    """Wall seconds of one run; its CPU seconds (user + system, its workers included) appended to `cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1, 3):
        sys.exit(f"auditor check failed ({done.returncode}): {done.stderr}")
    return elapsed


def from_source(command: list[str], env: dict[str, str]) -> list[str]:
    """The modules one run compiles from source instead of loading their cached bytecode (`python -v`
    says "code object from" the file it read): an installed wheel has none, so the timings count none."""
    done = subprocess.run([command[0], "-v", *command[1:]], env=env, capture_output=True, text=True, check=False)
    return [line for line in done.stderr.splitlines() if line.startswith("# code object from") and ".pyc'" not in line]


def profile(arguments: list[str], env: dict[str, str], cache: Path, out: Path) -> None:
    """cProfile and -X importtime of one cold and one warm run, into `out`."""
    import pstats

    out.mkdir(parents=True, exist_ok=True)
    script = LAUNCH
    for kind in ("cold", "warm"):
        if kind == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        prof = out / f"{kind}.prof"
        run = [sys.executable, "-P", "-c", PROFILED, *arguments]
        subprocess.run(run, env={**env, "BENCH_PROFILE": str(prof)}, capture_output=True, check=False)
        if kind == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        imports = subprocess.run([sys.executable, "-P", "-X", "importtime", "-c", script, *arguments], env=env,
                                 capture_output=True, text=True, check=False)  # fmt: skip
        (out / f"{kind}.importtime.txt").write_text(imports.stderr)
        if prof.exists():
            print(f"--- {kind}: top functions by cumulative time ({prof})")
            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(25)


def install(db: Path, source: Path, home: Path, cache: Path) -> None:
    """`auditor advisories update --from` a tarball of `db` (pypa/advisory-database's layout) into `home`."""
    archive = home.parent / "advisories.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(db / "vulns", arcname="advisory-database-main/vulns")
    env = {
        **os.environ,
        "AUDITOR_CACHE_DIR": str(cache),
        "AUDITOR_ADVISORIES_DIR": str(home),
        "PYTHONPATH": str(source),
    }
    done = subprocess.run([sys.executable, "-P", "-c", LAUNCH, "advisories", "update", "--from", str(archive)], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"auditor advisories update failed ({done.returncode}): {done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, default=REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot")
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--datasets", type=int, default=10000)
    parser.add_argument("--profile", type=Path, help="write cProfile and -X importtime output here")
    parser.add_argument("--baseline", type=Path, help="a folder holding another version's auditor package")
    args = parser.parse_args()
    versions = {"this": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    for source in versions.values():
        compileall.compile_dir(source / "auditor", quiet=1)
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
        cache = root / "cache"
        arguments = ["check", "latest", "--store", str(root / "store"), "--advisory-db", str(args.db)]
        kinds = ("cold", "warm", "installed")
        times: dict[str, dict[str, list[float]]] = {
            name: {k: [] for kind in kinds for k in (kind, f"{kind}_cpu")} for name in versions
        }
        for name, source in versions.items():  # each version installs the advisories as it does
            install(args.db, source, root / f"advisories-{name}", root / "install-cache")
        for name, source in versions.items():  # bytecode compiled above is what the runs load
            env = {**os.environ, "AUDITOR_CACHE_DIR": str(root / "bytecode-cache"), "PYTHONPATH": str(source)}
            if compiled := from_source([sys.executable, "-P", "-c", LAUNCH, *arguments], env):
                sys.exit(f"{name}: {len(compiled)} modules compiled from source, e.g. {compiled[0]}")
        for _ in range(args.repeat):
            for name, source in versions.items():
                env = {**os.environ, "AUDITOR_CACHE_DIR": str(cache), "PYTHONPATH": str(source)}
                command = [sys.executable, "-P", "-c", LAUNCH, *arguments]
                shutil.rmtree(cache, ignore_errors=True)
                times[name]["cold"].append(timed(command, env, times[name]["cold_cpu"]))
                times[name]["warm"].append(timed(command, env, times[name]["warm_cpu"]))
                shutil.rmtree(cache, ignore_errors=True)
                installed = {**env, "AUDITOR_ADVISORIES_DIR": str(root / f"advisories-{name}")}
                command = [sys.executable, "-P", "-c", LAUNCH, *arguments[:-2]]  # the installed database
                times[name]["installed"].append(timed(command, installed, times[name]["installed_cpu"]))
        if args.profile:
            env = {**os.environ, "AUDITOR_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
            profile(arguments, env, cache, args.profile)
    print(f"record: {args.packages} packages, {args.datasets} datasets, {size / 2**20:.1f} MiB; {args.db.name}")
    median = {name: {kind: statistics.median(t) for kind, t in runs.items()} for name, runs in times.items()}
    for name, runs in times.items():
        cold_s, warm_s = median[name]["cold"], median[name]["warm"]
        print(f"{name}: cold index {cold_s:.2f} s ({cold_s / 2:.2f}x the 2 s target), ", end="")
        print(f"warm {warm_s:.2f} s ({warm_s:.2f}x the 1 s target), medians of {args.repeat}")
        cold, warm = (" ".join(f"{t:.2f}" for t in runs[kind]) for kind in ("cold", "warm"))
        print(f"  cold runs: {cold}; warm: {warm}")
        installed_s = median[name]["installed"]
        print(
            f"  cold, installed database: {installed_s:.2f} s ({installed_s / 2:.2f}x the 2 s target); runs: ", end=""
        )
        print(" ".join(f"{t:.2f}" for t in runs["installed"]))
        print(
            f"  CPU seconds (medians): cold {median[name]['cold_cpu']:.2f}, warm {median[name]['warm_cpu']:.2f}, ",
            end="",
        )
        print(f"cold installed {median[name]['installed_cpu']:.2f}")
    if "baseline" in median:
        for kind in ("cold", "warm", "installed", "cold_cpu", "warm_cpu", "installed_cpu"):
            print(f"{kind}: this / baseline = {median['this'][kind] / median['baseline'][kind]:.2f}")


if __name__ == "__main__":
    main()
