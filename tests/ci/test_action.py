"""The GitHub Action (action.yml) linted by the real actionlint, with shellcheck on its bash steps.

actionlint lints workflows, not action metadata on their own: it reads a local action's action.yml
when a workflow uses it (`uses: ./`), and reports bad metadata and unknown or missing inputs there.
The composite steps themselves are linted as the steps of a workflow job of their own (the action's
inputs as a reusable workflow's inputs), so their expressions, the actions they call and their bash
(through shellcheck) are all checked. Both with the binaries the test extra installs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.readme import snippet

BIN = Path(sys.prefix) / "bin"
ACTIONLINT = BIN / "actionlint"
SHELLCHECK = BIN / "shellcheck"
ACTION = yaml.safe_load((REPO / "action.yml").read_text())

USES_THE_ACTION = """\
name: audit
on: [push]
permissions:
  contents: read
  security-events: write
jobs:
  audit:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        id: auditor
        with:
          run: latest
          policy: |
            default
            eu-ai-act
          fail-on: high
      - run: echo "exit ${{ steps.auditor.outputs.exit-code }}"
"""


def actionlint(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    for tool in (ACTIONLINT, SHELLCHECK):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: install the test extra (pip install -e '.[test]')")
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", "-oneline", "-shellcheck", str(SHELLCHECK), "-pyflakes", "", *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def repository(tmp_path: Path, workflow: str) -> Path:
    """A repository holding the action and one workflow (actionlint finds a project by its .git)."""
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, timeout=60)
    shutil.copy(REPO / "action.yml", root / "action.yml")
    (root / ".github" / "workflows" / "audit.yml").write_text(workflow)
    return root


def as_workflow(action: dict[str, Any]) -> str:
    """The composite action's steps as a reusable workflow's job, its inputs as the workflow's."""
    inputs = {
        name: {"description": spec["description"], "type": "string", "required": False, "default": spec["default"]}
        for name, spec in action["inputs"].items()
    }
    steps = [
        # `github.action_path` exists only inside an action: the workspace stands in for it here
        yaml.safe_load(yaml.safe_dump(step).replace("github.action_path", "github.workspace"))
        for step in action["runs"]["steps"]
    ]
    workflow = {
        "name": "composite steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"check": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    return yaml.safe_dump(workflow, sort_keys=False)


def test_the_action_is_composite_and_installs_from_its_own_path() -> None:
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert "github/codeql-action/upload-sarif@v3" in uses
    install = next(step for step in steps if step.get("name") == "Install auditor")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}" and "pipx install" in install["run"]
    check = next(step for step in steps if step.get("id") == "check")
    assert '--format "sarif=$SARIF_FILE" --format github' in check["run"]  # one check, both outputs
    # every input reaches a step only through env: an input is never pasted into a script
    for step in steps:
        assert "${{ inputs." not in step.get("run", ""), step.get("name")


def test_a_workflow_using_the_action_lints_clean(tmp_path: Path) -> None:
    root = repository(tmp_path, USES_THE_ACTION)
    done = actionlint(root, ".github/workflows/audit.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_composite_steps_lint_clean_with_shellcheck(tmp_path: Path) -> None:
    root = repository(tmp_path, as_workflow(ACTION))
    done = actionlint(root, ".github/workflows/audit.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_wrong_input_and_a_shell_mistake(tmp_path: Path) -> None:
    """The two lints above can fail: an unknown input and an unquoted variable are reported."""
    root = repository(tmp_path, USES_THE_ACTION.replace("fail-on: high", "fail_on: high"))
    done = actionlint(root, ".github/workflows/audit.yml")
    assert done.returncode == 1 and 'input "fail_on" is not defined' in done.stdout
    broken = yaml.safe_load((REPO / "action.yml").read_text())
    check = next(step for step in broken["runs"]["steps"] if step.get("id") == "check")
    check["run"] = check["run"].replace('--format "sarif=$SARIF_FILE"', "--format sarif=$SARIF_FILE")
    root = repository(tmp_path / "b", as_workflow(broken))
    done = actionlint(root, ".github/workflows/audit.yml")
    assert done.returncode == 1 and "SC2086" in done.stdout


def test_the_readme_workflow_lints_clean_against_this_action(tmp_path: Path) -> None:
    """The README's example, with `uses:` pointed at this action: its inputs must be the action's."""
    workflow = snippet("github-workflow")
    assert "uses: OWNER/auditor@v0.1.0" in workflow
    root = repository(tmp_path, workflow.replace("uses: OWNER/auditor@v0.1.0", "uses: ./"))
    done = actionlint(root, ".github/workflows/audit.yml")
    assert done.returncode == 0, done.stdout + done.stderr
