"""Every registry entry works, and each registry is the one place its choices come from.

Ingest sources and executors are walked in `tests/ingest/test_registry.py` and
`tests/capture/test_executors.py`; output formats and vulnerability sources here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.check.report import CheckReport
from auditor.check.vulns.sources import SOURCES, SourceChoice, audit_packages
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.html import render_html
from auditor.render.dossier.pdf import render_pdf
from auditor.render.formats import CHECK_FORMATS, DOSSIER_FORMATS, check_format, dossier_formats
from auditor.vocabulary import VulnSource
from tests.check.vulns.osv_server import serve_osv
from tests.conftest import ADVISORY_SNAPSHOT, FIXTURES, REPO
from tests.factories import make_record

SMALL_DB = FIXTURES / "advisories" / "small"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    return run_check(
        CheckRequest(
            record=make_record(),
            record_path=Path("record.json"),
            record_sha256="ab" * 32,
            pack=load_pack(packs_folder() / "default.yaml"),
            fail_on="low",
            location="auditor.yaml",
            now=datetime(2026, 1, 3, tzinfo=UTC),
            vuln_source=SourceChoice(source="local", database=SMALL_DB),
            cache_dir=tmp_path_factory.mktemp("cache"),
        )
    )


PARSERS = {
    "text": lambda text: "VERDICT" in text,
    "json": lambda text: json.loads(text)["kind"] == "auditor.check-report",
    "sarif": lambda text: json.loads(text)["version"] == "2.1.0",
    "sarif-all": lambda text: any(r["kind"] == "pass" for r in json.loads(text)["runs"][0]["results"]),
    "codequality": lambda text: all({"check_name", "fingerprint"} <= set(i) for i in json.loads(text)),
    "junit": lambda text: ET.fromstring(text).tag == "testsuites",  # noqa: S314 - our own output
    "github": lambda text: all(line.startswith("::") for line in text.splitlines() if line),
}


def test_every_check_format_renders_the_report(report: CheckReport) -> None:
    assert set(PARSERS) == set(CHECK_FORMATS)
    for name, fmt in CHECK_FORMATS.items():
        text = check_format(name).render(report)
        assert PARSERS[name](text), name
        assert fmt.summary


def test_every_dossier_format_renders(report: CheckReport) -> None:
    dossier = build_dossier(make_record(), report, (), (), datetime(2026, 1, 3, tzinfo=UTC), default_drawing(), [], [])
    html = render_html(dossier)
    assert dossier_formats("pdf,html") == ("pdf", "html")
    assert set(DOSSIER_FORMATS) == {"html", "pdf"}  # a new format needs a renderer in render/dossier/make.py
    assert html.startswith("<!DOCTYPE html>")
    assert render_pdf(html).data.startswith(b"%PDF-")
    assert {f.file_name for f in DOSSIER_FORMATS.values()} == {"dossier.html", "dossier.pdf"}


@pytest.fixture(scope="module")
def osv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_osv(ADVISORY_SNAPSHOT, tmp_path_factory.mktemp("osv")) as server:  # the canary needs real data
        yield server.url


def test_every_vulnerability_source_answers_and_never_fails_open(osv: str, tmp_path: Path) -> None:
    """Each source audits a vulnerable pin: vulnerable where it can see the advisories, otherwise
    not audited with a reason (PyPI's per-version endpoint answers 404 here), never clean."""
    assert set(SOURCES) == set(get_args(VulnSource))
    choices = {
        "local": (SourceChoice(source="local", database=SMALL_DB), ("acme-gadgets", "1.0")),
        "osv": (SourceChoice(source="osv", osv_url=osv, timeout_s=120), ("PyYAML", "5.3")),
        "pypi": (SourceChoice(source="pypi", timeout_s=120), ("PyYAML", "5.3")),
    }
    assert set(choices) == set(SOURCES)
    for name, (choice, pin) in choices.items():
        audit = audit_packages(choice, [pin], tmp_path / name)
        (package,) = audit.packages
        assert package.status != "clean", name
        if name in ("local", "osv"):
            assert package.status == "vulnerable", (name, package)
        else:
            assert package.status == "vulnerable" or package.reason, (name, package)


def test_the_cli_takes_its_choices_from_the_registries() -> None:
    for command, option, names in (
        ("check", "--format", CHECK_FORMATS),
        ("check", "--vuln-source", SOURCES),
        ("report", "--format", DOSSIER_FORMATS),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "auditor", command, "--help"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=REPO,
            env={"COLUMNS": "200", "PATH": ""},
        )
        lines = done.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if option in line)
        # the option's help, with the lines it wraps onto (up to the next option)
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"\W*\s+-", lines[i])), len(lines))
        text = " ".join(lines[start:end])
        for name in names:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (command, option, name, text)
