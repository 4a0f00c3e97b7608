"""OpenLineage data-quality assertions: read from events the real client wrote, judged by AUD-DATA-005,
shown in the dossier, and hostile facets read without a crash."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from auditor.ingest.openlineage.assertions import MAX_ASSERTIONS, SOURCE
from auditor.ingest.openlineage.reader import read
from tests.conftest import CliRunner
from tests.ingest.test_openlineage import produce

DATASET = "food_delivery.public.delivery_7_days"
FAILED = f"not_null on driver_id of {DATASET} failed"
SCRIPT = "<script>alert('dq')</script>"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("openlineage-dq") / "events.jsonl"
    return path, produce(path, "append", "--quality")


def test_assertions_are_read_as_the_client_wrote_them(events: tuple[Path, dict[str, Any]]) -> None:
    source, manifest = events
    runs = {r.source_run_id: r for r in read(source)}
    quality = runs[manifest["quality"]["run_id"]]
    by_id = {d.id: d for d in quality.datasets}
    recorded = [(a.assertion, a.column, a.success) for a in by_id[DATASET].assertions]
    assert recorded == [tuple(a) for a in manifest["quality"]["assertions"]]
    assert {a.source for a in by_id[DATASET].assertions} == {SOURCE}
    assert by_id["food_delivery.public.drivers"].assertions == ()
    assert not any(k.startswith("facet.dataQualityAssertions") for k in by_id[DATASET].annotations)
    train = runs[manifest["train"]["run_id"]]
    assert all(d.assertions == () for d in train.datasets)


def ingest(cli: CliRunner, tmp_path: Path, source: Path) -> dict[str, str]:
    done = cli("ingest", "openlineage", str(source), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pairs = [line.split() for line in done.stdout.splitlines() if line.startswith("ingested")]
    return {p[-1].rstrip(")"): p[1] for p in pairs}


def findings(cli: CliRunner, tmp_path: Path, run: str) -> tuple[int, list[dict[str, Any]]]:
    done = cli("check", run, "--store", str(tmp_path / "store"), "--format", "json", cwd=tmp_path)
    report = json.loads(done.stdout)
    return done.returncode, [f for f in report["findings"] if f["rule_id"] == "AUD-DATA-005"]


def test_a_failed_assertion_fails_the_check_and_shows_in_the_dossier(
    cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]
) -> None:
    source, manifest = events
    runs = ingest(cli, tmp_path, source)
    quality = runs[manifest["quality"]["run_id"]]
    code, found = findings(cli, tmp_path, quality)
    assert code == 1
    assert [(f["subject"], f["outcome"], f["message"]) for f in found] == [(f"dataset:{DATASET}", "fail", FAILED)]
    assert found[0]["evidence"] == {
        "assertion": "not_null",
        "column": "driver_id",
        "dataset": DATASET,
        "source": SOURCE,
    }
    text = cli("check", quality, "--store", str(tmp_path / "store"), cwd=tmp_path).stdout
    assert "AUD-DATA-005" in text and FAILED in text

    _, held = findings(cli, tmp_path, runs[manifest["quality_ok"]["run_id"]])
    assert [(f["outcome"], f["message"]) for f in held] == [
        ("pass", "1 recorded assertion(s) held: not_null on delivery_id")
    ]
    _, none = findings(cli, tmp_path, runs[manifest["train"]["run_id"]])
    assert [(f["subject"], f["outcome"], f["message"]) for f in none] == [
        ("lineage", "not_applicable", "no data-quality assertions recorded")
    ]

    out = tmp_path / "dossier"
    done = cli("report", quality, "--store", str(tmp_path / "store"), "-o", str(out), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (out / "dossier.html").read_text()
    lineage = html[html.index('<section id="lineage">') : html.index("</section>", html.index('id="lineage"'))]
    assert "Data-quality assertions" in lineage and f'<span class="mono">{DATASET}</span>: 1 of 4 failed' in lineage
    assert '<td class="mono wrap">not_null</td><td class="mono wrap">driver_id</td><td class="o-fail">' in lineage
    assert '<td class="mono wrap">row_count</td><td class="mono wrap">whole dataset</td><td class="o-pass">' in lineage
    assert SCRIPT not in html and "&lt;script&gt;alert(&#39;dq&#39;)&lt;/script&gt;" in lineage
    assert FAILED in html  # the finding, in the findings section


def test_machine_readable_formats_carry_the_failed_assertion(
    cli: CliRunner, tmp_path: Path, events: tuple[Path, dict[str, Any]]
) -> None:
    source, manifest = events
    quality = ingest(cli, tmp_path, source)[manifest["quality"]["run_id"]]
    store = str(tmp_path / "store")
    sarif = json.loads(cli("check", quality, "--store", store, "--format", "sarif", cwd=tmp_path).stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AUD-DATA-005"]
    assert [r["message"]["text"] for r in results if r.get("kind", "fail") == "fail"] == [
        f"dataset:{DATASET}: {FAILED}"
    ]
    assert any(r["id"] == "AUD-DATA-005" for r in sarif["runs"][0]["tool"]["driver"]["rules"])
    junit = ET.fromstring(cli("check", quality, "--store", store, "--format", "junit", cwd=tmp_path).stdout)  # noqa: S314 - our own output
    failures = [c.find("failure") for c in junit.iter("testcase") if c.get("classname") == "AUD-DATA-005"]
    assert any(f is not None and FAILED in (f.get("message") or "") + (f.text or "") for f in failures)
    github = cli("check", quality, "--store", store, "--format", "github", cwd=tmp_path).stdout
    assert any(line.startswith("::error") and "AUD-DATA-005" in line and FAILED in line for line in github.splitlines())


def hostile_events(source: Path, tmp_path: Path, facet: object) -> Path:
    """The real client's events, with the quality run's assertions facet replaced."""
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    for event in lines:
        for dataset in event.get("inputs", []):
            if "dataQualityAssertions" in dataset.get("inputFacets", {}):
                dataset["inputFacets"]["dataQualityAssertions"] = facet
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


@pytest.mark.parametrize(
    ("assertions", "kept", "note"),
    [
        ("not a list", 0, "assertions is not a list (str): no assertion read"),
        ({"assertion": "not_null"}, 0, "assertions is not a list (dict)"),
        (
            [
                7,
                {"assertion": "", "success": False},
                {"assertion": "x", "success": "false"},
                {"assertion": "ok", "success": True},
            ],
            1,
            "3 of 4 entries could not be read and were left out (first: inputs[0].inputFacets.dataQualityAssertions"
            ".assertions[0] is not a JSON object (int))",
        ),
        ([{"assertion": "x", "column": 3, "success": False}], 0, "has a column that is not a string"),
    ],
)
def test_a_malformed_facet_is_one_note_never_a_failed_ingest(
    tmp_path: Path, events: tuple[Path, dict[str, Any]], assertions: object, kept: int, note: str
) -> None:
    source, manifest = events
    path = hostile_events(source, tmp_path, {"assertions": assertions})
    run = next(r for r in read(path) if r.source_run_id == manifest["quality"]["run_id"])
    dataset = next(d for d in run.datasets if d.id == DATASET)
    assert len(dataset.assertions) == kept
    notes = [n for n in run.notes if "assertions" in n]
    assert len(notes) == 1 and note in notes[0] and notes[0].startswith(f"dataset {DATASET}: {path}")


def test_a_huge_assertion_list_is_bounded(tmp_path: Path, events: tuple[Path, dict[str, Any]]) -> None:
    source, manifest = events
    many = [{"assertion": "not_null", "column": f"c{i}", "success": i % 2 == 0} for i in range(100_000)]
    path = hostile_events(source, tmp_path, {"assertions": many})
    started = time.monotonic()
    run = next(r for r in read(path) if r.source_run_id == manifest["quality"]["run_id"])
    assert time.monotonic() - started < 30
    dataset = next(d for d in run.datasets if d.id == DATASET)
    assert len(dataset.assertions) == MAX_ASSERTIONS
    (note,) = [n for n in run.notes if "assertions" in n]
    assert f"{100_000 - MAX_ASSERTIONS} entries beyond the first {MAX_ASSERTIONS} were not kept" in note
