"""A record too large to show whole renders in bounded time and size, and says what it left out.

Measured on the development machine, before the views were bounded: a record with a 100 MB
project name made `auditor check` print 100 MB, and its PDF took 487 s and 11 GB; a record with
a million params made a 69 MB dossier.html and a PDF still growing past 12 GB after seven minutes.
After: 2 to 11 s and under 450 MB each, every output under 100 KB of text (README, "Limits").
Here the same shapes, smaller, so the suite stays fast; the sizes are what fails without the cut.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.record.io import dump_record
from auditor.record.models import Metric
from auditor.render.bounds import MAX_DOCUMENT_CHARS, MAX_ROWS, cut, first
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.factories import START, make_record

RUN_ID = "01JGZ0000000000000000000AA"
NAME = "p" * 3_000_000  # 3 MB: long enough that printing it whole shows
PARAMS = 20_000


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("huge")
    record = make_record(RUN_ID, project=NAME).model_copy(
        update={
            "params": {f"param_{n:06d}": n * 0.5 for n in range(PARAMS)},
            "metrics": tuple(Metric(name=f"m{n}", value=n, step=n, logged_at=START) for n in range(PARAMS)),
        }
    )
    store = RunStore.create(root / "store")  # committed as auditor does: the store refuses planted folders
    store.commit(store.begin(RUN_ID), record)
    (root / "pack.yaml").write_text(
        "pack: mini\nversion: 1\ndescription: d\nrules:\n  - id: T-RUN-1\n    title: ok\n    severity: high\n"
        "    rationale: r\n    remediation: r\n    references: [x]\n    check: {kind: run_succeeded}\n"
    )
    return root


def _run(cli: CliRunner, root: Path, *args: str) -> tuple[int, str, str]:
    env = base_env(AUDITOR_CACHE_DIR=str(root / "cache"))
    done = cli(*args, "--store", str(root / "store"), cwd=root, env=env, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_show_prints_a_bounded_summary(cli: CliRunner, project: Path) -> None:
    code, out, err = _run(cli, project, "show", RUN_ID)
    assert code == 0, err
    assert len(out) < 100_000, len(out)
    assert f"{PARAMS:,} params, first {MAX_ROWS} shown" in out and f"{PARAMS:,} metrics, first {MAX_ROWS} shown" in out
    assert f"[{len(NAME):,} characters, first 1,000 shown]" in out


def test_check_prints_a_bounded_report(cli: CliRunner, project: Path) -> None:
    code, out, err = _run(cli, project, "check", RUN_ID, "--policy", "pack.yaml")
    assert code == 0, err
    assert len(out) < 20_000 and f"[{len(NAME):,} characters, first 1,000 shown]" in out


def test_the_dossier_is_bounded_and_names_its_cuts(cli: CliRunner, project: Path) -> None:
    code, _, err = _run(cli, project, "report", RUN_ID, "--policy", "pack.yaml", "-o", "out")
    assert code == 0, err
    html = (project / "out" / "dossier.html").read_text()
    assert len(html) < 1_000_000, len(html)
    assert f"{PARAMS:,} params, first {MAX_ROWS} shown: the run record holds them all." in html
    assert f"{PARAMS:,} metric values, first {MAX_ROWS} shown" in html
    assert f"characters, first {MAX_DOCUMENT_CHARS:,} shown]" in html
    pdf = (project / "out" / "dossier.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) < 5_000_000


def test_first_and_cut() -> None:
    assert first([1, 2, 3], "items", 3) == ((1, 2, 3), None)
    assert first(list(range(1_000_001)), "params", 500)[1] == "1,000,001 params, first 500 shown"
    assert cut("abc", 3) == "abc" and cut("abcd", 3) == "abc… [4 characters, first 3 shown]"


def test_check_lists_a_bounded_number_of_findings(cli: CliRunner, tmp_path: Path) -> None:
    metrics = tuple(Metric(name=f"m{n}", value=n, step=n, logged_at=START) for n in range(MAX_ROWS + 100))
    (tmp_path / "rec.json").write_bytes(dump_record(make_record(RUN_ID).model_copy(update={"metrics": metrics})))
    (tmp_path / "pack.yaml").write_text(
        "pack: many\nversion: 1\ndescription: d\nrules:\n  - id: T-EACH-1\n    title: each\n    severity: high\n"
        "    rationale: r\n    remediation: r\n    references: [x]\n"
        "    check: {kind: expression, params: {for_each: record.metrics, expression: 'item.value < 0'}}\n"
    )
    done = cli("check", "rec.json", "--policy", "pack.yaml", cwd=tmp_path, env=base_env(), timeout=300)
    assert done.returncode == 1, done.stderr
    assert f"({MAX_ROWS + 100:,} findings, first {MAX_ROWS} shown: --format json lists them all)" in done.stdout
    assert done.stdout.count("T-EACH-1  high") <= MAX_ROWS + 1  # the table's rows and the rule's summary
