"""The checkout itself: no file holds a merge's conflict markers (ruff and mypy only read Python)."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO


def test_no_tracked_file_holds_conflict_markers() -> None:
    done = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", "^(<{7} |>{7} |={7}$)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout  # git grep: 1 is "nothing found", 0 found, 2 failed
