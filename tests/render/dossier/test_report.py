"""The dossier end to end: a golden HTML snapshot, the PDF read back with poppler, `auditor report` and `demo`.

Regenerate the golden file after a deliberate change to the templates or builders with
`AUDITOR_REGENERATE=1 ./dev test tests/render/dossier/test_report.py`, and review its diff. The golden file
holds the HTML with the lineage diagram's geometry normalised (see `without_layout`); the diagram itself is
tested on its own terms, fonts aside, in test_diagram.py.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markupsafe import Markup

from auditor.capture.fairness import compute_fairness
from auditor.capture.profile import Roles, profile_dataset
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.vulns.sources import SourceChoice
from auditor.record import RunRecord
from auditor.record.io import dump_record
from auditor.record.models import Distribution, Metric, Packages
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.diagram import placeholder_svg
from auditor.render.dossier.html import SECTIONS, as_images, render_html
from auditor.render.dossier.make import make_report
from auditor.store.runs import RunStore
from tests.conftest import FIXTURES, CliRunner, base_env
from tests.factories import make_record
from tests.render.dossier.model_card_data import model_card
from tests.render.dossier.test_diagram import pipeline

FIXED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GOLDEN = FIXTURES / "dossier" / "golden.html"
SMALL_DB = FIXTURES / "advisories" / "small"
POPPLER = ("pdfinfo", "pdftotext", "pdffonts", "pdfdetach", "pdftohtml")
_LAID_OUT = re.compile(r'<svg\b[^>]*\bclass="lineage"[^>]*>.*?</svg>', re.DOTALL)
_TAG = re.compile(r"<[^<>]+>")
_GEOMETRY = re.compile(r'(?<=\s)(viewBox|points|d|x|y|cx|cy|rx|ry|width|height|transform|style)="([^"]*)"')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _rows() -> str:
    lines = ["label,prediction,sex"]
    for i in range(120):
        sex = "female" if i % 3 == 0 else "male"
        lines.append(f"{i % 2},{1 if (i % 5) or sex == 'male' else 0},{sex}")
    return "\n".join(lines) + "\n"


def dossier_record(folder: Path) -> RunRecord:
    """A deterministic record with lineage, fairness, packages (one with a known advisory), params, metrics."""
    csv = folder / "predictions.csv"
    csv.write_text(_rows())
    fairness = compute_fairness(
        csv, display_path="outputs/predictions.csv", label_column="label", prediction_column="prediction",
        score_column=None, sensitive_columns=["sex"], favourable_outcome="1", min_group_size=30,
        reference_groups={"sex": "male"}, resamples=200, seed=7,
    )  # fmt: skip
    record = make_record(name="nightly training")
    dists = tuple(
        Distribution(name=n, version=v, installer="pip", requested=True, install_kind="index", location="/venv")
        for n, v in (("numpy", "2.1.0"), ("acme-widgets", "1.0"), ("acme-json", "0.9"))
    )
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    metric = Metric(name="auc", value=0.8123, step=None, logged_at=FIXED)
    lineage = pipeline()
    profile = profile_dataset(csv, Roles(label="label", sensitive=("sex",), favourable="1"))  # the scores' profile
    datasets = tuple(d.model_copy(update={"profile": profile}) if d.id == "scores" else d for d in lineage.datasets)
    return record.model_copy(
        update={
            "environment": env,
            "lineage": lineage.model_copy(update={"datasets": datasets}),
            "fairness": fairness,
            "params": {"seed": 42, "max_depth": 6},
            "metrics": (metric,),
            "model_card": model_card(),
        }
    )


def _request(folder: Path) -> CheckRequest:
    record = dossier_record(folder)
    path = folder / "record.json"
    path.write_bytes(dump_record(record))
    return CheckRequest(
        record=record,
        record_path=Path("runs") / record.identity.run_id / "record.json",  # as shown; no machine paths in golden
        record_sha256="ab" * 32,
        pack=load_pack(packs_folder() / "eu-ai-act.yaml"),
        fail_on="low",
        location="auditor.yaml",
        now=FIXED,
        vuln_source=SourceChoice(source="local", database=SMALL_DB),
        cache_dir=folder / "cache",
    )


def without_layout(html: str) -> str:
    """The HTML with the numbers of Graphviz's layout replaced by '#', in the lineage diagram's <svg> only.

    dot sizes every node to its label's text as measured with the fonts fontconfig finds, so the same DOT
    gives other widths, positions and spline points on a machine with other fonts installed (viewBox
    "0.00 0.00 875.00 123.19" on one, "944.00" on another). Inside the diagram, the values of the geometry
    attributes (viewBox, points, d, x, y, cx, cy, rx, ry, width, height), the graph's translate() and the
    svg's max-width in pt become '#'; a path's or polygon's whole value does, as the number of points on an
    edge's spline depends on the routing too. Everything else is still compared exactly: the text, elements
    and their order (so every node, label and edge), classes, colours, stroke styles, the font family and
    size (dot copies them from the DOT attributes), and all of the page outside the diagram. The fairness
    charts are left as they are: auditor computes their geometry itself, the same with any fonts.
    """

    def attribute(found: re.Match[str]) -> str:
        name, value = found[1], found[2]
        if name in ("points", "d"):
            value = "#"
        elif name == "transform":
            value = re.sub(r"translate\([^)]*\)", "translate(#)", value)
        elif name == "style":
            value = re.sub(r"max-width: [\d.]+pt", "max-width: #pt", value)
        elif not value.endswith("%"):  # the svg's width="100%" is the page's, not the layout's
            value = _NUMBER.sub("#", value)
        return f'{name}="{value}"'

    def diagram(found: re.Match[str]) -> str:
        return _TAG.sub(lambda tag: _GEOMETRY.sub(attribute, tag[0]), found[0])

    return _LAID_OUT.sub(diagram, html)


def test_without_layout_keeps_all_but_the_diagrams_numbers() -> None:
    svg = (
        '<svg width="100%" class="lineage" viewBox="0.00 0.00 875.00 123.19" style="max-width: 875pt; height: auto">'
        '<g class="graph" transform="scale(1 1) rotate(0) translate(4 119.19)"><g class="node">'
        '<path d="M1,-2C3,4 5,6 7,8" fill="#d6e8f4" /><text font-size="10.00" x="2.5" y="-76">x="1" 2.5</text>'
        "</g></svg>"
    )
    chart = '<svg class="fairness-chart" viewBox="0 0 640 226"><text x="8" y="18">Rates</text></svg>'
    outside = '<p x="1" style="max-width: 9pt">12.5</p>'
    assert (
        without_layout(outside + svg + chart)
        == outside
        + (
            '<svg width="100%" class="lineage" viewBox="# # # #" style="max-width: #pt; height: auto">'
            '<g class="graph" transform="scale(1 1) rotate(0) translate(#)"><g class="node">'
            '<path d="#" fill="#d6e8f4" /><text font-size="10.00" x="#" y="#">x="1" 2.5</text>'
            "</g></svg>"
        )
        + chart
    )


def test_the_pdf_copy_draws_the_lineage_as_images_and_writes_badge_glyphs_as_text(tmp_path: Path) -> None:
    request = _request(tmp_path)
    dossier = build_dossier(request.record, run_check(request), (), (), FIXED, default_drawing(), (), ())
    screen, paper = render_html(dossier), render_html(dossier, for_print=True)
    # The lineage's legend and drawing: inline SVG on screen, images with their SVG titles as alt text on paper.
    assert screen.count('class="lineage"') == 2 and 'class="drawing"' not in screen
    images = re.findall(
        r'<img class="drawing" alt="([^"]*)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', paper
    )
    assert [alt.split(":")[0].split(",")[0] for alt, _ in images] == ["Legend of the lineage diagram", "Data lineage"]
    drawn = [base64.b64decode(data).decode() for _, data in images]
    assert all(svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'class="lineage"' in svg for svg in drawn)
    assert 'class="lineage"' not in paper  # none left inline
    # Badges: the glyph is text in the copy for print (its ::before switched off), the ::before glyph on screen.
    assert '<span class="badge outcome-fail">fail</span>' in screen and "glyph" not in screen.split("</style>")[1]
    assert '<span class="badge outcome-fail glyph">\u2717\u2005fail</span>' in paper
    assert '<span class="badge outcome-pass glyph">\u2713\u2005pass</span>' in paper


def test_a_placeholder_or_anything_but_drawings_stays_inline_in_the_pdf_copy() -> None:
    placeholder = placeholder_svg("dot was not found")
    kept = Markup(placeholder)  # noqa: S704 - auditor's own SVG
    assert as_images(kept) == placeholder  # 100% wide: no size of its own for an image
    mixed = Markup(f"<p>x</p>{placeholder}")  # noqa: S704 - our own markup
    assert as_images(mixed) is mixed


def test_the_html_matches_the_golden_snapshot(tmp_path: Path) -> None:
    request = _request(tmp_path)
    report = run_check(request)
    html = render_html(build_dossier(request.record, report, (), (), FIXED, default_drawing(), (), ()))
    html = without_layout(html.replace(str(SMALL_DB), "<advisories>"))
    assert html.count('class="lineage"') == 2 and 'class="lineage-unavailable"' not in html, "no legend and diagram"
    if os.environ.get("AUDITOR_REGENERATE") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(html)
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: run with AUDITOR_REGENERATE=1 once"
    assert html == GOLDEN.read_text(), "the dossier changed: review, then AUDITOR_REGENERATE=1"


def test_the_html_is_one_self_contained_file_in_reading_order(tmp_path: Path) -> None:
    html = GOLDEN.read_text()
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in html
    assert "<script" not in html and "<link" not in html and "@import" not in html
    targets = re.findall(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", html)
    assert targets and all(t.startswith(("#", "data:")) for t in targets), "only in-page links and data: URIs"
    positions = [html.index(f'<section id="{anchor}"') for anchor, _ in SECTIONS]
    assert positions == sorted(positions), "sections out of order"
    assert html.index('id="cover"') < html.index('id="contents"') < positions[0]
    for text in (
        "Not ready for sign-off",
        "acme-widgets",
        "TEST-2024-",
        "nightly training",
    ):
        assert text in html, text
    assert html.count("<svg") >= 2  # the lineage diagram and one fairness chart, inline
    assert "<h2>Rules with nothing to report</h2>" not in html and "<h2>Rules with findings</h2>" in html
    assert 'class="ds-finding"><span class="badge outcome-could_not_evaluate">' in html  # raw has no hash
    assert "<h2>Checks not performed</h2>" in html and "<h2>Blockers</h2>" in html
    assert '<span class="badge outcome-inconclusive">inconclusive</span>' in html


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `./dev setup` installs poppler-utils")
    folder = tmp_path_factory.mktemp("dossier")
    request = _request(folder)
    raw = (folder / "record.json").read_bytes()
    real = CheckRequest(
        **{**request.__dict__, "record_path": folder / "record.json", "record_sha256": hashlib.sha256(raw).hexdigest()}
    )
    written = make_report(real, folder / "out", ("pdf",), pdfa=True, now=FIXED)
    return written.files[0]


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


def test_the_pdf_has_its_parts(pdf: Path) -> None:
    info = _run("pdfinfo", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert 8 <= pages <= 40, info
    assert "Title:           Audit dossier: demo" in info
    text = _run("pdftotext", "-layout", str(pdf), "-")
    for _, title in SECTIONS:
        assert title in text, title
    assert f"Page 3 of {pages}" in text and "Run 01JGZ0000000000000000000AA" in text  # running header and footer
    assert re.search(r"1 Verdict and what to do \.{5,} *2", text), "the table of contents has page numbers"
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), "every font embedded"
    outline = _run("pdftohtml", "-q", "-xml", "-i", "-stdout", str(pdf))
    bookmarks = re.findall(r'<item page="\d+">([^<]+)</item>', outline)
    assert [b for b in bookmarks if b in dict(SECTIONS).values()] == [title for _, title in SECTIONS]


def test_pdfa_carries_the_record_and_the_findings(pdf: Path, tmp_path: Path) -> None:
    listed = _run("pdfdetach", "-list", str(pdf))
    assert listed.splitlines()[1:] == ["1: findings.json", "2: record.json"]
    _run("pdfdetach", "-saveall", "-o", str(tmp_path), str(pdf))
    assert (tmp_path / "record.json").read_bytes() == (pdf.parent.parent / "record.json").read_bytes()
    assert '"kind": "auditor.check-report"' in (tmp_path / "findings.json").read_text()
    assert b"pdfaid:part" in pdf.read_bytes() or "3" in _run("pdfinfo", "-meta", str(pdf))


def test_auditor_report_writes_both_and_rejects_bad_options(cli: CliRunner, tmp_path: Path) -> None:
    record = dossier_record(tmp_path)
    store = RunStore.create(tmp_path / "store")
    staging = store.begin(record.identity.run_id)
    (staging.path / "stdout.log").write_text("epoch 1\nepoch 2 \x1b[31mred\x1b[0m\n")
    store.commit(staging, record)
    args = ("report", "latest", "--store", str(tmp_path / "store"), "--vuln-source", "local")
    done = cli(*args, "--advisory-db", str(SMALL_DB), "-o", str(tmp_path / "out"), cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"wrote {tmp_path / 'out' / 'dossier.html'}"
    assert re.match(
        rf"wrote {re.escape(str(tmp_path / 'out' / 'dossier.pdf'))} \(\d+ pages\)", done.stdout.splitlines()[1]
    )
    assert done.stdout.splitlines()[2] == "verdict: violations (`auditor check` would exit 1)"
    modes = {(tmp_path / "out" / name).stat().st_mode & 0o777 for name in ("dossier.html", "dossier.pdf")}
    umask = os.umask(0)
    os.umask(umask)
    assert modes == {0o666 & ~umask}  # as any file the user writes (the PDF was once 0600)
    html = (tmp_path / "out" / "dossier.html").read_text()
    assert "epoch 2 \ufffd[31mred" in html  # the log excerpt, its escape sequences made inert
    assert "the file DOES NOT MATCH the recorded sha256" in html  # the factory's record says sha256 0000...
    bad = cli(*args, "--format", "docx", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr == "auditor: error: --format: 'docx': give html, pdf or html,pdf\n"
    (tmp_path / "file").write_text("x")
    blocked = cli(*args, "--advisory-db", str(SMALL_DB), "--format", "html", "-o", str(tmp_path / "file"), cwd=tmp_path)
    assert blocked.returncode == 2 and "cannot create the output folder" in blocked.stderr


@pytest.mark.slow
def test_auditor_demo_end_to_end(cli: CliRunner, tmp_path: Path) -> None:
    from tests.check.vulns.test_osv_local import SNAPSHOT

    env = base_env(AUDITOR_ADVISORY_DB=str(SNAPSHOT), AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    done = cli("demo", "-o", str(tmp_path / "demo"), cwd=tmp_path, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"dossier:  {tmp_path / 'demo' / 'dossier.html'}" in lines
    pdf_line = rf"dossier:  {re.escape(str(tmp_path / 'demo' / 'dossier.pdf'))} \((\d+) pages, PDF/A-3b\)"
    (pages,) = [int(m[1]) for m in (re.fullmatch(pdf_line, x) for x in lines) if m]
    assert pages <= 20, f"the demo's dossier has {pages} pages: at most 20 with every section"
    assert any(line.startswith("verdict:  violations: ") and "critical failing" in line for line in lines)
    assert (tmp_path / "demo" / "store" / "runs").is_dir()
    html = (tmp_path / "demo" / "dossier.html").read_text()
    assert html.count("the file matches the recorded sha256") == 2  # stdout and stderr, as captured


def test_urls_shown_as_text_lose_their_credentials() -> None:
    from auditor.capture.redact import clean_url
    from auditor.render.dossier.format import safe_link

    # The dossier strips credentials with the same function capture uses (one definition).
    assert clean_url("https://user:pw@example.invalid:8443/x?q=1") == "https://example.invalid:8443/x?q=1"
    assert clean_url("s3://bucket/key") == "s3://bucket/key"
    assert safe_link("https://user:pw@example.invalid/x") is None
    assert safe_link("javascript:alert(1)") is None
    assert safe_link("https://example.invalid/data.csv") == "https://example.invalid/data.csv"
