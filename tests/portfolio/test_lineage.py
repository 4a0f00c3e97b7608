"""Cross-run lineage over runs committed into a real store, through the library and the real CLI."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.index.query import summaries
from auditor.portfolio.lineage import cross_run_lineage
from auditor.portfolio.lineage_render import drawing, render_dot, render_svg
from tests.conftest import CliRunner
from tests.portfolio.xrun_records import Run, key, store_of

FEATURES = "id,f1,f2\n1,0.5,0.25\n"
FEATURES_V2 = "id,f1,f2\n1,0.5,0.75\n"
MODEL = "pickled model bytes"
RAW = "raw,rows\n"

A = "01JGZ000000000000000000A01"  # ingest: reads raw data, writes features
A2 = "01JGZ000000000000000000A02"  # ingest again later: a new features version
B = "01JGZ000000000000000000B01"  # train (another project): reads features, writes a model
C = "01JGZ000000000000000000C01"  # reproduction of B
D = "01JGZ000000000000000000D01"  # score (a third project): reads the model as input
E = "01JGZ000000000000000000E01"  # unrelated


def runs() -> list[Run]:
    return [
        Run(A, "ingest", "ann", inputs=(("raw/loans.csv", RAW),), outputs=(("out/features.csv", FEATURES),), day=0),
        Run(B, "train", "bob", inputs=(("shared/features.csv", FEATURES),), models=(("model.pkl", MODEL),), day=1),
        Run(C, "train", "bob", inputs=(("shared/features.csv", FEATURES),), models=(("model.pkl", MODEL),), day=2,
            reproduces=B),
        Run(D, "score", "cid", inputs=(("models/model.pkl", MODEL),), outputs=(("scores.csv", "s\n1\n"),), day=3),
        Run(A2, "ingest", "ann", inputs=(("raw/loans.csv", RAW),), outputs=(("out/features.csv", FEATURES_V2),), day=4),
        Run(E, "other", "eve", inputs=(("x.csv", "x"),), day=5),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lineage") / "store"
    store_of(root, runs())
    return root


def _lineage(store: Path, project: str | None = None):  # type: ignore[no-untyped-def]
    from auditor.store.runs import RunStore

    return cross_run_lineage(summaries(RunStore.open(store)), project)


def test_producers_consumers_and_reproductions(store: Path) -> None:
    lineage = _lineage(store)
    features = lineage.versions[key(FEATURES)]
    assert (features.kind, features.produced_by, features.read_by) == ("dataset", [A], [B, C])
    assert features.names == ["out/features.csv", "shared/features.csv"]
    model = lineage.versions[key(MODEL)]
    assert (model.kind, model.produced_by, model.read_by) == ("model", [B, C], [D])
    assert lineage.versions[key(RAW)].produced_by == []
    assert lineage.versions[key(FEATURES_V2)].read_by == []
    links = {(x.source, x.target, x.kind, x.keys) for x in lineage.links}
    assert links == {
        (A, B, "data", (key(FEATURES),)),
        (A, C, "data", (key(FEATURES),)),
        (C, D, "model", (key(MODEL),)),  # the latest producer of the same bytes before D started
        (B, C, "reproduces", ()),
    }
    assert lineage.graph.has_edge(A, key(FEATURES)) and lineage.graph.has_edge(key(FEATURES), B)
    assert [v.key for v in lineage.artefacts("dataset")["out/features.csv"]] == [key(FEATURES), key(FEATURES_V2)]


def test_a_project_with_the_runs_of_other_projects_it_touches(store: Path) -> None:
    lineage = _lineage(store, "train")
    assert set(lineage.runs) == {A, B, C, D}
    assert lineage.outside == {
        A: "produced a version that train read",
        D: "read a version that train produced",
    }


def test_text_through_the_cli(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    done = cli("lineage", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Cross-run lineage of the whole store: 6 runs in 4 projects, 5 dataset versions, ")
    assert "  out/features.csv: 2 versions\n" in out
    short = key(FEATURES)[:19]
    assert f"    {short}  produced by run {A} (ingest, 2026-01-02 03:04:05 UTC); read by runs {B}, {C}\n" in out
    assert f"  {C} (train, 2026-01-04 03:04:05 UTC) is a reproduction (a re-execution) of {B} (train," in out
    assert f"  {D} (score, 2026-01-05 03:04:05 UTC) read a model produced by {C}" in out
    assert "produced by no run in the store (it came from outside)" in out
    scoped = cli("lineage", "--store", str(store), "--project", "train", cwd=tmp_path)
    assert scoped.returncode == 0, scoped.stderr
    assert "It includes 2 runs of other projects that produced what train read or read what train produced." in (
        scoped.stdout
    )
    assert E not in scoped.stdout


def test_json_is_versioned_and_complete(cli: CliRunner, store: Path, tmp_path: Path) -> None:
    target = tmp_path / "lineage.json"
    done = cli("lineage", "--store", str(store), "--format", "json", "-o", str(target), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "", done.stderr
    data = json.loads(target.read_text())
    assert data["lineage_version"] == 1 and data["project"] is None
    assert len(data["runs"]) == 6 and len(data["versions"]) == 6
    assert {"source": B, "target": C, "kind": "reproduces", "keys": []} in data["links"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--format", "png"), "auditor: error: --format: 'png' is not one of text, json, dot, svg, html"),
        (("--project", "nope"), "auditor: error: --project: no run of project 'nope' in the store; projects: "),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    cli: CliRunner, store: Path, tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    target = tmp_path / "out.txt"
    done = cli("lineage", "--store", str(store), *args, "-o", str(target), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    assert not target.exists()


HOSTILE = '<script>alert(1)</script>" ] ; x -> y [URL="javascript:alert(2)" label="\\N &#xD800; <b>'


def test_hostile_names_stay_text_in_dot_and_svg(tmp_path: Path) -> None:
    hostile = [
        Run(A, HOSTILE, HOSTILE, outputs=((HOSTILE, FEATURES),)),
        Run(B, "train", inputs=(("<features>", FEATURES),), day=1),
    ]
    lineage = cross_run_lineage(summaries(store_of(tmp_path / "store", hostile)))
    dot = render_dot(lineage)
    laid = subprocess.run(["dot", "-Tjson"], input=dot, capture_output=True, text=True, timeout=60, check=True)
    objects = json.loads(laid.stdout)["objects"]
    assert sorted(o["name"] for o in objects) == ["r0", "r1", "v0"]  # nothing injected a node
    labels = " ".join(o["label"] for o in objects)
    assert '<script>alert(1)</script>" ] ; x -> y [' in labels  # cut short, as text
    svg = render_svg(lineage)
    root = ET.fromstring(svg)  # noqa: S314 - auditor's own output
    tags = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert tags <= {"svg", "title", "desc", "g", "polygon", "polyline", "path", "ellipse", "text"}
    assert "javascript" not in svg and "<script" not in svg and "href" not in svg
    shown = " ".join(root.itertext())
    assert '<script>alert(1)</script>" ] ; x -> y' in shown  # the name, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_drawing_is_bounded_and_says_what_it_left_out(tmp_path: Path) -> None:
    many = [Run(f"01JGZ00000000000000000{i:04d}", "p", outputs=(("data.csv", f"v{i}"),), day=i) for i in range(12)]
    lineage = cross_run_lineage(summaries(store_of(tmp_path / "store", many)))
    drawn = drawing(lineage, max_runs=4, max_versions=2)
    assert drawn.left_out == (
        "Not drawn: 8 runs (the drawing keeps 4, linked and newest first) and 2 older versions "
        "(at most 2 per dataset or model); the text and JSON formats list everything."
    )
    assert drawn.dot.source.count("shape=box ") + drawn.dot.source.count("shape=box]") == 4
    svg = render_svg(lineage, max_runs=4, max_versions=2)
    assert "Not drawn: 8 runs" in svg and svg.count("run 01JGZ") == 4


def test_a_large_store_is_drawn_bounded_and_quickly() -> None:
    """3,000 runs in a chain (each reads what the one before produced), as summaries: the library's
    input, without 3,000 records to write. The text holds every link; the drawing keeps MAX_RUNS."""
    import time
    from datetime import timedelta

    from auditor.index.summary import DatasetRef, RunSummary
    from auditor.portfolio.lineage_render import MAX_RUNS, render_text
    from tests.factories import START

    def run(i: int) -> RunSummary:
        before = f"sha256:{i - 1:064x}" if i else None
        datasets = (DatasetRef("d", "intermediate", "data.csv", None, before, f"sha256:{i:064x}", "undocumented"),)
        return RunSummary(
            run_id=f"run-{i:05d}", record_sha256="0" * 64, schema_version="1.6", project=f"p{i % 40}", name=None,
            owner=None, intended_use=None, status="succeeded", origin="executed", tool="local",
            started_at=START + timedelta(minutes=i), ended_at=None, duration_s=None, user=None, host=None,
            commit=None, branch=None, dirty=None, repo_url=None, python=None, image=None, reproduces=None,
            reingests=None, reproduction_verdict=None, datasets=datasets,
        )  # fmt: skip

    started = time.perf_counter()
    lineage = cross_run_lineage([run(i) for i in range(3000)])
    assert len(lineage.links) == 2999
    assert render_text(lineage).count(" read data produced by ") == 2999
    svg = render_svg(lineage)
    assert svg.count(">run run-") == MAX_RUNS
    assert f"Not drawn: {3000 - MAX_RUNS} runs" in svg
    assert time.perf_counter() - started < 60
