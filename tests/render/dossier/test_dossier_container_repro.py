"""Schema 1.3 in the dossier: container runs, reproductions (found through a real run store), ingested runs.

Records are built in code; the HTML is read with the standard library's parser, by section and by
table, the way a reader finds things; one PDF is rendered and read back with poppler.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import pytest

from auditor.capture.lineage import lineage_graph
from auditor.check.evaluate import CheckRequest
from auditor.check.packs import load_pack, packs_folder
from auditor.check.vulns.sources import SourceChoice
from auditor.files import write_atomic
from auditor.record import Missing, RunRecord
from auditor.record.io import dump_record
from auditor.record.lineage import (
    Column,
    ContentHash,
    Dataset,
    Datasheet,
    FileHash,
    IdentityHint,
    Lineage,
    ModelArtifact,
    ProjectInfo,
    Step,
)
from auditor.record.models import (
    Container,
    ContainerConfig,
    EnvVar,
    Hardware,
    Links,
    Mount,
    Origin,
    Outputs,
    ReportedSource,
    ReproDifference,
    Reproduction,
    SystemPackage,
    SystemPackages,
    ToleranceSetting,
)
from auditor.render.dossier.make import make_report
from auditor.render.dossier.pdf import PdfResult, render_pdf
from auditor.store.runs import RunStore
from tests.conftest import FIXTURES
from tests.factories import START, make_record


def write_pdf(html: str, out: Path, **options: Any) -> PdfResult:
    """Render, then write the bytes as `auditor report` does (atomically)."""
    result = render_pdf(html, **options)
    write_atomic(out, result.data)
    return result


FIXED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SMALL_DB = FIXTURES / "advisories" / "small"
ORIGINAL, FIRST, SECOND = "01JGZ0000000000000000000AA", "01JGZ0000000000000000000AB", "01JGZ0000000000000000000AC"
HOSTILE_SQL = "SELECT 1 -- </pre><script>alert(1)</script>\n"
VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"})


# --- reading the HTML ----------------------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.classes):
                    found.append(child)
                found += child.all(tag, cls)
        return found

    def by_id(self, ident: str) -> Node:
        for child in self.children:
            if isinstance(child, Node):
                if child.attrs.get("id") == ident:
                    return child
                try:
                    return child.by_id(ident)
                except KeyError:
                    pass
        raise KeyError(ident)

    def kv(self) -> dict[str, str]:
        """A label/value table's rows."""
        return {row.all("th")[0].words(): row.all("td")[0].words() for row in self.all("tr")}

    def rows(self) -> list[list[str]]:
        return [[cell.words() for cell in row.all("td")] for row in self.all("tr") if row.all("td")]


class Tree(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(markup: str) -> Node:
    return Tree(markup).root


def h2_block(section: Node, title: str) -> list[Node]:
    """The elements after the <h2> whose words are `title`, up to the next <h2>."""
    out: list[Node] = []
    inside = False
    for child in section.children:
        if isinstance(child, Node) and child.tag == "h2":
            if inside:
                break
            inside = child.words() == title
        elif inside and isinstance(child, Node):
            out.append(child)
    assert inside or out, f"no <h2>{title}</h2>"
    return out


# --- records ---------------------------------------------------------------------------------------------------


def container_record(run_id: str = ORIGINAL) -> RunRecord:
    record = make_record(run_id=run_id)
    packages = tuple(
        SystemPackage(name=f"lib{i:03d}", version=f"1.{i}-1+deb12u1", architecture="all" if i % 50 == 0 else "amd64")
        for i in range(300)
    )
    container = Container(
        image_ref="python:3.11-slim",
        image_id="sha256:" + "1" * 64,
        repo_digests=("docker.io/library/python@sha256:" + "2" * 64,),
        engine="Docker Engine",
        engine_version="27.1.1",
        platform="linux/amd64",
        config=ContainerConfig(
            workdir="/work",
            user="1000:1000",
            network="none",
            cpus=2.0,
            memory_bytes=4 * 2**30,
            gpus=None,
            timeout_s=3600.0,
            mounts=(
                Mount(source="/home/alice/proj", target="/work", read_only=True),
                Mount(source="/home/alice/proj/out", target="/work/out", read_only=False),
            ),
            variables=(EnvVar(name="PYTHONHASHSEED", disposition="kept", value="0"),),
        ),
        system_packages=SystemPackages(manager="dpkg", packages=packages),
    )
    env = record.environment.model_copy(update={"python": Missing(reason="no Python in image")})
    origin = Origin(kind="executed", executor="container")
    return record.model_copy(update={"container": container, "environment": env, "origin": origin})


def rerun(run_id: str, verdict: Literal["identical", "equivalent", "diverged"], minutes: int) -> RunRecord:
    differences: tuple[ReproDifference, ...] = ()
    if verdict == "diverged":
        differences = (
            ReproDifference(kind="metric", name="auc", original="0.8123", reproduced="0.7712", within_tolerance=False),
            ReproDifference(
                kind="output", name="dataset:scores", original="a" * 64, reproduced="b" * 64, within_tolerance=True
            ),
        )
    reproduction = Reproduction(
        original_run_id=ORIGINAL,
        verdict=verdict,
        differences=differences,
        tolerances={"*": ToleranceSetting(rel=1e-6, abs=1e-9), "auc": ToleranceSetting(rel=1e-3, abs=0)},
        inputs_checked=("raw",),
        environment_check="the recorded image sha256:" + "1" * 64,
    )
    record = container_record(run_id)
    ident = record.identity.model_copy(update={"started_at": START.replace(minute=START.minute + minutes)})
    return record.model_copy(
        update={"identity": ident, "links": Links(reproduces=ORIGINAL), "reproduction": reproduction}
    )


def ingested_record() -> RunRecord:
    record = make_record(exit_code=None, user=None, host=None, argv=(), cwd="")
    datasets = (
        Dataset(
            id="train-data",
            role="input",
            uri="s3://bucket/train.parquet",
            datasheet=Datasheet(source="s3: s3://bucket/train.parquet"),
            before=IdentityHint(
                tool="MLflow",
                algorithm="mlflow-dataset-digest",
                value="d1g35t",
                meaning="MLflow's digest fingerprints a sample of the data; it does not prove the bytes",
            ),
            columns=(Column(name="age", type="long", description="Age in years"), Column(name="income")),
            annotations={"mlflow.context": "training", "mlflow.profile": '{"num_rows": 1000}'},
        ),
        Dataset(
            id="scores",
            role="output",
            path="out/scores.csv",
            datasheet=Datasheet(),
            after=ContentHash(
                kind="file",
                sha256="c" * 64,
                size=10,
                files=(FileHash(path="", sha256="c" * 64, size=10),),
                hashed_at=START,
            ),
        ),
    )
    step = Step(
        name="score",
        command=HOSTILE_SQL,
        inputs=("train-data",),
        outputs=("scores",),
        annotations={"sql": HOSTILE_SQL + "x" * 5000, "sql.dialect": "postgres"},
    )
    model = ModelArtifact(
        id="model", path="artifacts/model", annotations={"mlflow.flavors": "python_function, sklearn"}
    )
    gap = Missing(reason="not captured by MLflow")
    lineage = Lineage(
        spec_path=None,
        spec_sha256=None,
        project=ProjectInfo(name="demo"),
        datasets=datasets,
        steps=(step,),
        models=(model,),
        observed=gap,
        graph=lineage_graph(datasets, (step,), (model,), ORIGINAL, gap).node_link_data(),
        notes=("dataset 'train-data': credentials removed from its source",),
    )
    env = record.environment.model_copy(
        update={"os": gap, "python": gap, "packages": gap, "variables": (), "declared": gap}
    )
    return record.model_copy(
        update={
            "origin": Origin(
                kind="ingested",
                tool="MLflow",
                tool_version="2.16.0",
                source_uri="https://user:secret@mlflow.example.invalid/#/experiments/1",
                source_run_id="5f1e2d",
                not_captured=("environment.os", "hardware", "outputs.logs", "lineage.observed"),
            ),
            "source": ReportedSource(tool="MLflow", repo_url="https://example.invalid/r.git", commit="c" * 40),
            "environment": env,
            "hardware": Hardware(cpu=gap, memory=gap, gpus=gap),
            "resources": record.resources.model_copy(
                update={"user_cpu_s": None, "system_cpu_s": None, "peak_rss_bytes": None}
            ),
            "outputs": Outputs(stdout=None, stderr=None, notes=("MLflow keeps no command logs",)),
            "lineage": lineage,
            "tags": {"team": "risk", "mlflow.note.content": "line one\nline two", "mlflow.user": "alice"},
        }
    )


# --- reports -------------------------------------------------------------------------------------------------


def report(record: RunRecord, record_path: Path, out: Path) -> str:
    """`auditor report` as make_report runs it (HTML only), for a record at `record_path`."""
    if not record_path.exists():
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_bytes(dump_record(record))
    request = CheckRequest(
        record=record,
        record_path=record_path,
        run_folder=record_path.parent if record_path.parent.parent.name == "runs" else None,  # as `prepare` says
        record_sha256="ab" * 32,
        pack=load_pack(packs_folder() / "eu-ai-act.yaml"),
        fail_on="low",
        location="auditor.yaml",
        now=FIXED,
        vuln_source=SourceChoice(source="local", database=SMALL_DB),
        cache_dir=out / "cache",
    )
    make_report(request, out, ("html",), pdfa=False, now=FIXED)
    return (out / "dossier.html").read_text(encoding="utf-8")


def commit(store: RunStore, record: RunRecord) -> None:
    store.commit(store.begin(record.identity.run_id), record)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    store = RunStore.create(tmp_path_factory.mktemp("repro") / "store")
    commit(store, container_record())
    commit(store, rerun(FIRST, "diverged", 5))
    commit(store, rerun(SECOND, "identical", 10))
    return store


@pytest.fixture(scope="module")
def original_html(store: RunStore) -> str:
    return report(store.load(ORIGINAL), store.record_path(ORIGINAL), store.root.parent / "out-original")


# --- container -----------------------------------------------------------------------------------------------


def test_the_container_section_spells_out_image_engine_limits_and_mounts(original_html: str) -> None:
    environment = parse(original_html).by_id("environment")
    (facts,) = [n for n in h2_block(environment, "Container") if n.tag == "table" and "kv" in n.classes]
    kv = facts.kv()
    assert kv["Image"] == "python:3.11-slim" and kv["Image id"] == "sha256:" + "1" * 64
    assert kv["Repository digests"] == "docker.io/library/python@sha256:" + "2" * 64
    assert kv["Container engine"] == "Docker Engine 27.1.1" and kv["Image platform"] == "linux/amd64"
    assert kv["Network"] == "no network"
    assert (kv["CPU limit"], kv["Memory limit"], kv["Timeout"]) == ("2 CPUs", "4.0 GiB", "3600 s")
    assert kv["GPUs"] == "none given to the container"
    assert kv["Ran as user"] == "1000:1000" and kv["Mounts"] == "2: 1 read-only, 1 writable"
    assert "PYTHONHASHSEED" in kv["Variables"]
    (mounts,) = environment.all("table", "mounts")
    assert mounts.rows() == [
        ["/home/alice/proj", "/work", "read-only"],
        ["/home/alice/proj/out", "/work/out", "writable"],
    ]
    platform = environment.all("table", "kv")[0].kv()
    assert platform["Python"] == "not captured: no Python in image"  # the image had none: said, not hidden
    assert platform["OS packages"] == (
        "300 packages in the image, listed by Debian (dpkg); the full list is in appendix B"
    )


def test_os_packages_are_listed_compactly_in_the_appendix(original_html: str) -> None:
    appendix = parse(original_html).by_id("appendix-packages")
    (listing,) = appendix.all("ul", "os-packages")
    items = [li.words() for li in listing.all("li")]
    assert len(items) == 300 and items[0] == "lib000 1.0-1+deb12u1 all" and items[1] == "lib001 1.1-1+deb12u1 amd64"
    headings = [h.words() for h in appendix.all("h2")]
    assert headings == ["Python packages", "Operating-system packages of the container image"]


def test_limits_read_no_limit_when_absent(tmp_path: Path) -> None:
    record = container_record()
    assert record.container is not None and record.container.config is not None
    config = record.container.config.model_copy(
        update={"cpus": None, "memory_bytes": None, "timeout_s": None, "network": "bridge", "gpus": "all"}
    )
    container = record.container.model_copy(update={"config": config, "system_packages": None})
    html = report(record.model_copy(update={"container": container}), tmp_path / "record.json", tmp_path / "out")
    environment = parse(html).by_id("environment")
    kv = environment.all("table", "kv")[1].kv()
    assert (kv["CPU limit"], kv["Memory limit"], kv["Timeout"]) == ("no limit", "no limit", "no limit")
    assert kv["Network"] == "bridge (network access allowed)" and kv["GPUs"] == "all"
    assert environment.all("table", "kv")[0].kv()["OS packages"] == "not recorded (a schema 1.2 record)"
    assert not parse(html).by_id("appendix-packages").all("ul", "os-packages")


# --- reproductions -------------------------------------------------------------------------------------------


def test_the_original_lists_its_reproductions_with_verdicts_and_differences(original_html: str) -> None:
    page = parse(original_html)
    cover = page.by_id("cover").all("table", "cover-facts")[0].kv()
    assert cover["Reproduced"] == (
        f"diverged reproduced 2 times (1 diverged, 1 identical); the latest, run {SECOND}: identical (section 1)"
    )
    (badge,) = [b for b in page.by_id("cover").all("span", "badge") if b.words() == "diverged"]
    assert "outcome-fail" in badge.classes  # a divergence stays visible, even after a later identical re-run
    summary = page.by_id("summary")
    (listing,) = summary.all("table", "reproductions")
    rows = listing.rows()
    assert [r[:3] for r in rows] == [
        [FIRST, "2026-01-02 03:09:05 UTC", "diverged"],
        [SECOND, "2026-01-02 03:14:05 UTC", "identical"],
    ]
    verdicts = {b.words(): b.classes for b in listing.all("span", "badge")}
    assert "outcome-pass" in verdicts["identical"] and "outcome-fail" in verdicts["diverged"]
    (differences,) = summary.all("table", "differences")
    assert differences.rows() == [
        ["metric", "auc", "0.8123", "0.7712", "\u2717 outside tolerance"],
        ["output", "dataset:scores", "a" * 64, "b" * 64, "\u2260 content differs; the metrics decide"],
    ]
    assert "o-fail" in differences.all("td")[4].classes


def test_a_reproduction_says_what_it_reproduces_and_how(store: RunStore) -> None:
    html = report(store.load(FIRST), store.record_path(FIRST), store.root.parent / "out-first")
    summary = parse(html).by_id("summary")
    (block,) = summary.all("div", "repro")
    assert block.all("h3")[0].words() == f"This run reproduces run {ORIGINAL}: diverged"
    assert block.all("p")[0].words().startswith("Diverged: a metric is outside its tolerance")
    details = block.all("table", "kv")[0].kv()
    assert details["Tolerances"] == "*: rel 1e-06, abs 1e-09; auc: rel 0.001, abs 0 (* applies to every other metric)"
    assert (
        details["Inputs verified"].startswith("1 declared input had the content hash")
        and "raw" in details["Inputs verified"]
    )
    assert details["Environment"] == "the recorded image sha256:" + "1" * 64
    assert len(block.all("table", "differences")[0].rows()) == 2
    cover = parse(html).by_id("cover").all("table", "cover-facts")[0].kv()
    assert cover["Reproduces"] == f"run {ORIGINAL}: diverged"
    assert cover["Reproduced"] == "not reproduced yet (section 1)"
    assert f"auditor reproduce {FIRST}" in summary.words()


def test_an_unreproduced_run_and_a_loose_record_say_so(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "store")
    commit(store, make_record())
    html = report(store.load(ORIGINAL), store.record_path(ORIGINAL), tmp_path / "out")
    summary = parse(html).by_id("summary")
    (code,) = summary.all("code")
    assert code.words() == f"auditor reproduce {ORIGINAL}"
    assert "Not reproduced yet" in summary.words()
    loose = report(make_record(), tmp_path / "loose" / "record.json", tmp_path / "out-loose")
    words = parse(loose).by_id("summary").words()
    assert "Not looked up: the record was read from a file outside a run store." in words


# --- ingested runs ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("ingested")
    return report(ingested_record(), folder / "record.json", folder / "out")


def test_an_ingested_run_says_so_on_the_cover_and_names_what_was_not_captured(ingested_html: str) -> None:
    page = parse(ingested_html)
    (banner,) = page.by_id("cover").all("div", "ingested")
    words = banner.words()
    assert words.startswith(
        "Evidence from another tool Ingested from MLflow 2.16.0, https://mlflow.example.invalid/#/experiments/1,"
        " run 5f1e2d: auditor did not execute this run"
    )
    assert "secret" not in ingested_html
    assert "Not captured by MLflow: operating system, hardware, command logs, observed file access." in words
    identity = page.by_id("identity")
    assert [li.words() for li in identity.all("ul", "not-captured-list")[0].all("li")] == [
        "operating system",
        "hardware",
        "command logs",
        "observed file access",
    ]
    cover = page.by_id("cover").all("table", "cover-facts")[0].kv()
    assert "Captured" not in cover and cover["Reproduced"].startswith(
        "cannot be reproduced the run was ingested from MLflow"
    )


def test_no_package_verdict_is_claimed_when_none_were_captured(ingested_html: str) -> None:
    assert "No installed packages were captured, so none could be checked." in ingested_html
    assert "has no known vulnerability" not in ingested_html


def test_values_the_tool_did_not_record_never_read_none(ingested_html: str) -> None:
    page = parse(ingested_html)
    run, source = page.by_id("identity").all("table", "kv")[:2]
    kv = run.kv()
    assert kv["Status"] == "succeeded, exit code not recorded by MLflow"
    assert kv["User and host"] == "not recorded by MLflow"
    assert kv["Command"] == kv["Working folder"] == "not recorded by MLflow"
    assert kv["Recorded by"] == "MLflow 2.16.0: auditor did not run it" and kv["MLflow run id"] == "5f1e2d"
    src = source.kv()
    assert src["Source"] == "as reported by MLflow, not verified by auditor"
    assert src["Branch"] == src["Entry point"] == "not recorded by MLflow"
    hardware = page.by_id("hardware").all("table", "kv")[0].kv()
    assert hardware["CPU"] == hardware["Memory"] == "not captured by MLflow"  # said once, not "not captured: not ..."
    resources = page.by_id("hardware").all("table", "kv")[-1].kv()
    assert resources["CPU time"] == resources["Peak memory (largest process)"] == "not recorded by MLflow"
    logs = page.by_id("appendix-logs").words()
    assert "No logs: the command's output was not recorded by MLflow (MLflow keeps no command logs)." in logs
    for section in ("identity", "environment", "hardware", "reproducibility"):
        assert "None" not in page.by_id(section).words().split(), section


def test_tags_columns_and_annotations_are_shown(ingested_html: str) -> None:
    page = parse(ingested_html)
    (tags,) = page.by_id("identity").all("table", "tags")
    assert [r[0] for r in tags.rows()] == ["mlflow.note.content", "mlflow.user", "team"]
    assert tags.all("pre", "note-text")[0].text() == "line one\nline two"  # multi-line: preformatted
    sheets = page.by_id("datasheets")
    first = sheets.all("div", "datasheet")[0]
    (columns,) = first.all("table", "columns")
    assert columns.rows() == [["age", "long", "Age in years"], ["income", "", ""]]
    fields = [p.words() for p in first.all("p", "field")]
    assert "mlflow.context: training" in fields
    hash_line = next(f for f in fields if f.startswith("Content hash"))
    assert hash_line.startswith(
        "Content hash: not an integrity hash: MLflow recorded an identity hint, mlflow-dataset-digest d1g35t."
    )
    model = sheets.all("div", "datasheet")[-1]
    assert model.all("h3")[0].words() == "model model"
    assert "mlflow.flavors: python_function, sklearn" in [p.words() for p in model.all("p", "field")]
    notes = page.by_id("lineage").all("ul", "warnings")[0].words()
    assert notes == "dataset 'train-data': credentials removed from its source"


def test_hostile_sql_is_escaped_text_cut_at_4_kb(ingested_html: str) -> None:
    assert "<script" not in ingested_html.lower()
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in ingested_html
    lineage = parse(ingested_html).by_id("lineage")
    (step,) = lineage.all("div", "annotated")
    sql = next(pre for pre in step.all("pre", "note-text") if pre.text().startswith("SELECT"))
    assert sql.text().startswith(HOSTILE_SQL) and len(sql.text()) == 4096
    assert "Shown: the first 4,096 of 5,044 characters; the whole text is in the run record." in step.words()
    assert "sql.dialect: postgres" in step.words()


# --- the PDF -------------------------------------------------------------------------------------------------


def test_the_pdf_renders_container_and_reproduction_content(original_html: str, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext missing: `./dev setup` installs poppler-utils")
    pdf = tmp_path / "dossier.pdf"
    write_pdf(original_html, pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for words in ("Reproducibility", "\u2717 outside", "Operating-system packages", "lib299", "no network"):
        assert words in text, words
