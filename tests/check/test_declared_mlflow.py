"""End to end: a model logged by real MLflow 3 with `pip_requirements=["jinja2==2.10", "requests>=2"]`,
ingested from its file store and checked through the CLI against the real PyPA advisory snapshot."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADVISORY_SNAPSHOT, AUDITOR, CliRunner, base_env
from tests.ingest.conftest import tool_python

PRODUCER = Path(__file__).parent / "mlflow_declared_producer.py"
VULNS = ("--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the folder holding the auditor store, the ingested run id)."""
    work = tmp_path_factory.mktemp("declared")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "MLFLOW_ALLOW_FILE_STORE": "true"}
    env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}
    argv = [str(tool_python("mlflow3")), str(PRODUCER), f"file://{work}/mlruns"]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    ingest = subprocess.run(
        [str(AUDITOR), "ingest", "mlflow", str(work / "mlruns"), "--store", str(work / "store")],
        cwd=work,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stderr
    (run,) = [line.split()[1] for line in ingest.stdout.splitlines() if line.startswith("ingested")]
    return work, run


def check(cli: CliRunner, work: Path, run: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = cli("check", run, "--store", str(work / "store"), *VULNS, "--format", "json", *args, cwd=work)
    return done.returncode, json.loads(done.stdout)


def test_the_declared_vulnerable_pin_is_a_finding_labelled_declared(cli: CliRunner, ingested: tuple[Path, str]) -> None:
    work, run = ingested
    record = json.loads(cli("show", run, "--store", str(work / "store"), "--json", cwd=work).stdout)
    files = record["environment"]["declared"]["files"]
    model_file = next(f["path"] for f in files if f["path"].endswith("artifacts/requirements.txt"))
    code, report = check(cli, work, run)
    assert code == 1
    vulns = {f["subject"]: f for f in report["findings"] if f["rule_id"] == "AUD-VULN-001"}
    jinja = vulns["package:jinja2"]
    assert jinja["outcome"] == "fail"
    assert re.search(r"PYSEC-2019-217|GHSA-", jinja["message"])
    assert jinja["message"].startswith(f"declared requirement jinja2==2.10 in {model_file} line ")
    assert jinja["message"].endswith("(declared, not observed installed)")
    assert jinja["evidence"]["environment"] == "declared" and jinja["evidence"]["file"] == model_file
    assert vulns["environment"]["outcome"] == "could_not_evaluate"  # the installed packages: never a pass
    assert "installed packages not captured" in vulns["environment"]["message"]
    assert vulns["package:requests"]["outcome"] == "could_not_evaluate"
    pins = {f["subject"]: f for f in report["findings"] if f["rule_id"] == "AUD-ENV-001"}
    requests = pins["package:requests"]
    assert requests["outcome"] == "fail" and requests["evidence"]["environment"] == "declared"
    assert re.fullmatch(
        rf"declared requirement requests>=2 in {re.escape(model_file)} line \d+ is not an exact == pin",
        requests["message"],
    )
    assert not any(
        "None" in f["message"] for f in report["findings"] if f["rule_id"] in ("AUD-ENV-001", "AUD-VULN-001")
    )
    assert [p["name"] for p in report["vulnerabilities"]["packages"] if p["name"] == "jinja2"] == ["jinja2"]


def test_the_dossier_lists_the_declared_requirements_as_declared(cli: CliRunner, ingested: tuple[Path, str]) -> None:
    work, run = ingested
    out = work / "dossier"
    done = cli("report", run, "--store", str(work / "store"), *VULNS, "-o", str(out), "--format", "html", cwd=work)
    assert done.returncode == 0, done.stderr
    page = (out / "dossier.html").read_text()
    section = page[page.index('<section id="environment">') : page.index("</section>", page.index('id="environment"'))]
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)))
    assert "6 declared requirements, shown as declared: what should be installed, not what was" in text
    assert "(the installed packages: not captured by MLflow" in text
    assert "(declared exact pins; the installed packages were not captured)" in text
    assert re.search(r"jinja2 2\.10 declared \(\S+artifacts/requirements\.txt line \d+\)", text)
    assert "PYSEC-2019-217" in text
