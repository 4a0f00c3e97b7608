"""`auditor portfolio` on the shared scenario (real sample runs, real MLflow and DVC ingests, planted
duplicate work): the site shows every project and run, finds the planted pair and not the project that
only shares public reference data, and Chromium reads its pages without a console message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.portfolio.site.model import project_page
from tests.conftest import ADVISORY_SNAPSHOT
from tests.portfolio.scenario import ROLES, Scenario
from tests.portfolio.test_site import Tags
from tests.render.dossier.test_hostile_dossier import chromium, console_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    import subprocess

    from tests.conftest import AUDITOR, base_env

    out = tmp_path_factory.mktemp("scenario-site") / "site"
    argv = [str(AUDITOR), "portfolio", "--store", str(scenario.store), "-o", str(out)]
    argv += ["--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT)]
    done = subprocess.run(
        argv, cwd=scenario.root, env=base_env(), capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def text(path: Path) -> str:
    return " ".join("".join(Tags(path.read_text(encoding="utf-8")).text).split())


def test_every_project_and_run_has_its_page(scenario: Scenario, site: tuple[Path, str]) -> None:
    out, stdout = site
    assert f"{len(ROLES)} runs" in stdout
    index = text(out / "index.html")
    for project in set(scenario.projects.values()):
        assert (out / project_page(project)).is_file(), project
        assert project in index
    for owner in scenario.owners.values():
        assert owner in index
    for run_id in scenario.runs.values():
        assert (out / "runs" / f"{run_id}.html").is_file()
    mlflow = text(out / "runs" / f"{scenario.run('mlflow_train')}.html")
    assert "ingested (MLflow)" in mlflow


def test_duplicates_are_the_planted_pair_only(scenario: Scenario, site: tuple[Path, str]) -> None:
    out, _ = site
    page = (out / "duplicates.html").read_text(encoding="utf-8")
    pairs = re.findall(r"<tr><td><a href=\"projects/(p-[0-9a-f]+)\.html\">", page)
    assert len(pairs) == 1
    a, b = scenario.duplicate_projects
    assert {project_page(a), project_page(b)} <= set(re.findall(r"projects/p-[0-9a-f]+\.html", page))
    reference_only = scenario.projects["reference_only"]
    assert project_page(reference_only) not in page


def test_the_reference_table_is_listed_with_its_three_readers(scenario: Scenario, site: tuple[Path, str]) -> None:
    out, _ = site
    page = (out / "datasets.html").read_text(encoding="utf-8")
    row = next(r for r in page.split("<tr>") if scenario.reference_key.split(":", 1)[1][:16] in r)
    for role in ("dup_a", "dup_b", "reference_only"):
        assert project_page(scenario.projects[role]) in row


def test_chromium_reads_the_overview_without_a_console_message(site: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = site
    dom, stderr = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", (out / "index.html").as_uri())
    assert 'data-script="ran"' in dom
    assert console_lines(stderr) == []
