"""PDF dossier: CPU seconds per page over records of 500-2,000 packages and lineages of 50-800 nodes.

Each case builds a record, checks it against the default pack with the real PyPA advisory snapshot, builds
the dossier's HTML (the lineage laid out by Graphviz's `dot`, which runs as a subprocess: its CPU is the
"dot" column, from the children's rusage) and renders the PDF/A-3b with WeasyPrint in this process (the
"pdf cpu" column, `time.process_time`). Goal (issue 19): at most 0.1 s of CPU per page.

    nice .venv/bin/python benchmarks/pdf_speed.py [--repeat 1] [--case 2000x50] [--profile FILE] [--save DIR]

`--profile` writes a cProfile of the PDF rendering of the last case (read it with `python -m pstats`);
`--save` keeps each case's PDF as DIR/PACKAGESxNODES.pdf, to look at (`pdftoppm -r 60 -png`).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from auditor.check.evaluate import CheckRequest  # noqa: E402
from auditor.check.packs import load_pack, packs_folder  # noqa: E402
from auditor.check.vulns.sources import SourceChoice  # noqa: E402
from auditor.extras import need  # noqa: E402
from auditor.record import RunRecord  # noqa: E402
from auditor.record.io import dump_record  # noqa: E402
from auditor.record.lineage import Dataset, Datasheet, Lineage, ModelArtifact, Step  # noqa: E402
from auditor.record.models import Distribution, Packages  # noqa: E402
from auditor.render.dossier.make import render_dossier, render_dossier_pdf  # noqa: E402
from tests.factories import make_record  # noqa: E402
from tests.render.dossier.test_diagram import make_lineage  # noqa: E402 - the test suite's lineage builder

ADVISORY_DB = REPO / "tests" / "fixtures" / "advisories" / "pypa-snapshot"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# (packages, lineage nodes): packages grow with a small lineage, then the lineage grows with 100 packages.
CASES = ((500, 50), (1000, 50), (2000, 50), (100, 200), (100, 800))


def record_of(packages: int, nodes: int) -> RunRecord:
    """A record with `packages` distributions and a lineage of about `nodes` nodes (a fifth of them steps,
    each reading two inputs and writing one feature set; a few models; the rest files read undeclared)."""
    steps_n = max(1, nodes // 5)
    sheet = Datasheet(description="d", source="s", owner="o", licence="CC-BY-4.0", personal_data=False)
    inputs = [
        Dataset(id=f"part-{i}", role="input", path=f"data/p{i % 9}/part-{i}.csv", datasheet=sheet)
        for i in range(steps_n + 1)
    ]
    feats = [
        Dataset(id=f"feat-{i}", role="intermediate", path=f"features/f{i}.parquet", datasheet=Datasheet())
        for i in range(steps_n)
    ]
    steps = [
        Step(name=f"step-{i}", command=f"python src/step_{i}.py", inputs=(f"part-{i}", f"part-{i + 1}"),
             outputs=(f"feat-{i}",))
        for i in range(steps_n)
    ]  # fmt: skip
    models = [ModelArtifact(id=f"model-{i}", path=f"models/m{i}.joblib") for i in range(max(1, nodes // 40))]
    rest = max(0, nodes - 1 - len(inputs) - len(feats) - len(steps) - len(models))
    undeclared = [f"scratch/d{i}/read-{i}.csv" for i in range(rest)]  # own folders: not grouped into one node
    lineage = make_lineage([*inputs, *feats], steps, models, undeclared, run_id="01JGZ0000000000000000000AA")
    dists = tuple(
        Distribution(name=f"package-{i:04d}", version=f"1.{i % 10}.0", installer="pip", requested=False,
                     install_kind="index", location="/venv/lib/python3.11/site-packages")
        for i in range(packages)
    )  # fmt: skip
    record = make_record()
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    return record.model_copy(update={"environment": env, "lineage": lineage})


def request_of(record: RunRecord, cache: Path) -> CheckRequest:
    path = cache / "record.json"  # embedded in the PDF/A
    data = dump_record(record)
    path.write_bytes(data)
    return CheckRequest(
        record=record,
        record_path=path,
        record_sha256=hashlib.sha256(data).hexdigest(),
        pack=load_pack(packs_folder() / "default.yaml"),
        fail_on="low",
        location="auditor.yaml",
        now=NOW,
        vuln_source=SourceChoice(source="local", database=ADVISORY_DB),
        cache_dir=cache,
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(
    packages: int, nodes: int, cache: Path, profile: Path | None, save: Path | None
) -> tuple[int, int, float, float, float, float]:
    record = record_of(packages, nodes)
    assert isinstance(record.lineage, Lineage)
    drawn = len(record.lineage.graph["nodes"])
    request = request_of(record, cache)
    wall = time.perf_counter()
    cpu, dot = time.process_time(), children_cpu()
    rendered = render_dossier(request, NOW)
    html_cpu, dot_cpu = time.process_time() - cpu, children_cpu() - dot
    profiler = cProfile.Profile() if profile else None
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    pdf, pages = render_dossier_pdf(request, rendered, pdfa=True)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    pdf_cpu = time.process_time() - cpu
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / f"{packages}x{nodes}.pdf").write_bytes(pdf)
    return drawn, pages, html_cpu, dot_cpu, pdf_cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the medians are printed")
    parser.add_argument("--case", action="append", help="PACKAGESxNODES, e.g. 2000x50 (default: all five)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last case's PDF rendering here")
    parser.add_argument("--save", type=Path, help="keep each case's PDF in this folder")
    args = parser.parse_args()
    cases = [tuple(int(n) for n in c.split("x")) for c in args.case] if args.case else list(CASES)
    # WeasyPrint's import (about half a second, once a process) is no page's cost: it happens before the
    # clock starts, as it always did for every case after the first.
    need("weasyprint")
    print("packages  nodes  pages  html cpu s  dot cpu s  pdf cpu s  cpu/page s  total s (wall)")
    worst = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for index, (packages, nodes) in enumerate(cases):
            profile = args.profile if args.profile and index == len(cases) - 1 else None
            runs = [one(packages, nodes, Path(scratch), profile, args.save) for _ in range(args.repeat)]
            drawn, pages = runs[0][0], runs[0][1]
            html, dot, pdf, wall = (statistics.median(r[i] for r in runs) for i in (2, 3, 4, 5))
            worst = max(worst, pdf / pages)
            print(
                f"{packages:8d}  {drawn:5d}  {pages:5d}  {html:10.2f}  {dot:9.2f}  {pdf:9.2f}  "
                f"{pdf / pages:10.3f}  {wall:14.2f}"
            )
    print(f"worst PDF CPU per page: {worst:.3f} s (goal <= 0.100 s)")


if __name__ == "__main__":
    main()
