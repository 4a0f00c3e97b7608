"""The GitLab CI template (ci/gitlab/auditor.gitlab-ci.yml): its YAML, its script lines against
the real CLI's options, and the script itself run by bash (the install step aside: auditor is
this checkout's) on a real store, giving a JUnit and a Code Quality report that GitLab can read."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from junitparser import JUnitXml

from auditor.render.formats import CHECK_FORMATS
from auditor.store.runs import RunStore
from tests.conftest import ADVISORY_SNAPSHOT, REPO, CliRunner, base_env
from tests.factories import make_record
from tests.render.test_sarif_locations import assert_code_quality

TEMPLATE = REPO / "ci" / "gitlab" / "auditor.gitlab-ci.yml"


def template() -> dict[str, Any]:
    data = yaml.safe_load(TEMPLATE.read_text())
    assert isinstance(data, dict)
    return data


def auditor_lines(job: dict[str, Any]) -> list[list[str]]:
    """The `auditor ...` commands of the job's script, split as the shell would (variables kept as names)."""
    out = []
    for line in job["script"]:
        words = shlex.split(line.split("||")[0])
        if words and words[0] == "auditor":
            out.append(words)
    return out


def test_the_template_is_a_job_with_both_reports() -> None:
    data = template()
    job = data["auditor-check"]
    assert job["stage"] == "test" and job["image"].startswith("python:3")
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"] == {"junit": "auditor-junit.xml", "codequality": "gl-code-quality-report.json"}
    assert set(data["variables"]) == {"AUDITOR_VERSION", "AUDITOR_RUN", "AUDITOR_CHECK_ARGS"}
    assert any("pip install" in line and "auditor" in line for line in job["before_script"])


def test_script_lines_use_only_real_options(cli: CliRunner, tmp_path: Path) -> None:
    helped = cli("check", "--help", cwd=tmp_path, env=base_env(COLUMNS="200"))
    assert helped.returncode == 0, helped.stderr
    known = set(re.findall(r"--[a-z][a-z-]+", helped.stdout))
    lines = auditor_lines(template()["auditor-check"])
    assert [words[1] for words in lines] == ["check"]  # one check writes every report
    (words,) = lines
    options = [w for w in words if w.startswith("--")]
    assert set(options) <= known, set(options) - known
    formats = [words[i + 1].partition("=") for i, w in enumerate(words) if w == "--format"]
    assert formats == [
        ("codequality", "=", "gl-code-quality-report.json"),
        ("junit", "=", "auditor-junit.xml"),
        ("text", "", ""),
    ]
    assert {name for name, _, _ in formats} <= set(CHECK_FORMATS)


def test_the_script_runs_and_writes_reports_gitlab_reads(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "auditor.yaml").write_text("project: {name: p}\n")
    store = RunStore.create(tmp_path / "store")
    record = make_record()  # succeeded, no seed logged: a low failure under the default pack
    store.commit(store.begin(record.identity.run_id), record)
    job = template()["auditor-check"]
    script = "set -e\n" + "\n".join(job["script"])  # GitLab stops a job at the first failing line
    env = {
        **base_env(),
        "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}",
        **template()["variables"],
        "AUDITOR_STORE": str(store.root),
        "AUDITOR_CACHE_DIR": str(tmp_path / "cache"),
        "AUDITOR_CHECK_ARGS": f"--vuln-source local --advisory-db {ADVISORY_SNAPSHOT}",
    }
    done = subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the check's verdict: violations
    issues = json.loads((project / "gl-code-quality-report.json").read_text())
    assert_code_quality(issues)
    seeds = next(issue for issue in issues if issue["check_name"] == "AUD-REPRO-001")
    assert seeds["location"] == {"path": "auditor.yaml", "lines": {"begin": 1}}  # the record lies outside
    junit = JUnitXml.fromfile(str(project / "auditor-junit.xml"))
    assert sum(suite.tests for suite in junit) > 0 and sum(suite.failures for suite in junit) >= 1
