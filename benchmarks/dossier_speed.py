"""Dossier rendering: a record with 500 packages and a 200-node lineage, to HTML and to PDF.

Times the installed CLI end to end (`auditor report --format html`, then `--format pdf`) with
the small test advisory database, median of `--repeat`, and prints the page count. Targets
(issue: the dossier): HTML under 1 s, PDF under 15 s on this machine.

    .venv/bin/python benchmarks/dossier_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from auditor.record import RunRecord  # noqa: E402
from auditor.record.lineage import Dataset, Datasheet, ModelArtifact, Step  # noqa: E402
from auditor.record.models import Distribution, Packages  # noqa: E402
from auditor.store.runs import RunStore  # noqa: E402
from tests.factories import make_record  # noqa: E402
from tests.render.dossier.test_diagram import make_lineage  # noqa: E402 - the test suite's lineage builder

AUDITOR = Path(sys.prefix) / "bin" / "auditor"
# The real snapshot, which declares it covers all of PyPI: the packages are audited (the small test
# database covers seven packages, so the others would each be a "could not evaluate" finding).
ADVISORY_DB = REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot"


def big_record() -> RunRecord:
    sheet = Datasheet(description="d", source="s", owner="o", licence="CC-BY-4.0", personal_data=False)
    datasets = [
        Dataset(id=f"part-{i}", role="input", path=f"data/p{i % 9}/part-{i}.csv", datasheet=sheet) for i in range(60)
    ]
    datasets += [
        Dataset(id=f"feat-{i}", role="intermediate", path=f"features/f{i}.parquet", datasheet=Datasheet())
        for i in range(40)
    ]
    steps = [
        Step(
            name=f"step-{i}",
            command=f"python src/step_{i}.py",
            inputs=(f"part-{i}", f"part-{i + 20}"),
            outputs=(f"feat-{i}",),
        )
        for i in range(40)
    ]
    models = [ModelArtifact(id=f"model-{i}", path=f"models/m{i}.joblib") for i in range(5)]
    undeclared = [f"scratch/tmp-{i}.csv" for i in range(55)]
    lineage = make_lineage(datasets, steps, models, undeclared, run_id="01JGZ0000000000000000000AA")
    dists = tuple(
        Distribution(name=f"package-{i:03d}", version=f"1.{i % 10}.0", installer="pip", requested=False,
                     install_kind="index", location="/venv/lib/python3.11/site-packages")
        for i in range(500)
    )  # fmt: skip
    record = make_record()
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    nodes = len(lineage.graph["nodes"])
    print(f"record: {len(dists)} packages, lineage of {nodes} nodes")
    return record.model_copy(update={"environment": env, "lineage": lineage})


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"auditor report failed ({done.returncode}): {done.stderr}")
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        store = RunStore.create(root / "store")  # committed as auditor commits runs (the store refuses others)
        record = big_record()
        store.commit(store.begin(record.identity.run_id), record)
        env = {**os.environ, "AUDITOR_CACHE_DIR": str(root / "cache")}
        base = [str(AUDITOR), "report", "latest", "--store", str(root / "store"), "-o", str(root / "out")]
        base += ["--vuln-source", "local", "--advisory-db", str(ADVISORY_DB)]
        html = [timed([*base, "--format", "html"], env)[0] for _ in range(args.repeat)]
        runs = [timed([*base, "--format", "pdf"], env) for _ in range(args.repeat)]
    pages = re.search(r"\((\d+) pages\)", runs[0][1])
    print(f"auditor report --format html: median {statistics.median(html):.2f} s of {args.repeat} (target < 1 s)")
    print(
        f"auditor report --format pdf:  median {statistics.median(t for t, _ in runs):.2f} s of {args.repeat}, "
        f"{pages.group(1) if pages else '?'} pages (target < 15 s)"
    )


if __name__ == "__main__":
    main()
