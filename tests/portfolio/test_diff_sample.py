"""`auditor diff` on the sample project captured through the real CLI: two runs of the same commit
have no differences at all; a commit that changes the intended use, the training code and the seed
is found in exactly those sections, and the changed purpose is indicated."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADVISORY_SNAPSHOT, SAMPLE, CliRunner, base_env, git

pytestmark = pytest.mark.slow

CHECK = ("--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT))


def capture(cli: CliRunner, project: Path) -> str:
    done = cli("run", "--project", "credit-scoring", "--", ".venv/bin/python", "run_pipeline.py", cwd=project,
               env=base_env(), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = re.search(r"^auditor: run (\S+) succeeded", done.stderr + done.stdout, re.M)
    assert found is not None, done.stderr
    return found.group(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    from tests.conftest import AUDITOR

    def cli(*args: str, cwd: Path, env: dict[str, str], timeout: float) -> Any:
        import subprocess

        return subprocess.run([str(AUDITOR), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)  # fmt: skip

    project = tmp_path_factory.mktemp("diff-sample") / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")
    (project / ".gitignore").write_text(".auditor/\ndata/\nmodels/\noutputs/\n.venv\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")
    ids = [capture(cli, project), capture(cli, project)]
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42 ", "seed: 7  "))
    spec = project / "auditor.yaml"
    spec.write_text(spec.read_text().replace("    Illustrate an auditable", "    Decide on loans with an auditable"))
    train = project / "src" / "train.py"
    train.write_text(train.read_text() + "# reviewed\n")
    git(project, "commit", "-q", "-am", "second")
    ids.append(capture(cli, project))
    return project, ids


def test_two_runs_of_one_commit_have_no_differences(cli: CliRunner, runs: tuple[Path, list[str]]) -> None:
    project, (a, b, _) = runs
    done = cli("diff", a, b, "--exit-code", *CHECK, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences: every section is the same" in done.stdout
    assert "indicated\n" not in done.stdout.replace("not indicated\n", "")


def test_a_changed_purpose_code_and_seed(cli: CliRunner, runs: tuple[Path, list[str]]) -> None:
    project, (a, _, c) = runs
    done = cli("diff", a, c, "--format", "json", *CHECK, cwd=project)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    sections = {s["name"]: s for s in document["sections"]}
    assert {n for n, s in sections.items() if s["state"] == "same"} == {"environment", "hardware"} | (
        {"findings"} if sections["findings"]["state"] == "same" else set()
    )
    assert [(c["what"], c["kind"]) for c in sections["project"]["changes"]] == [("intended use", "changed")]
    assert {c["what"] for c in sections["code"]["changes"]} == {"commit", "code file src/train.py"}
    assert [c["what"] for c in sections["params"]["changes"]] == ["param seed (params.yaml)"]
    criteria = {c["criterion"]: c["verdict"] for c in document["substantial_modification"]["criteria"]}
    assert criteria == {
        "training data": "not indicated",
        "model type": "not indicated",
        "intended purpose": "indicated",
    }
