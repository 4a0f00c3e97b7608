"""The watchdog runs under -I, which ignores PYTHON* variables: auditor's own settings for bytecode (-B,
PYTHONDONTWRITEBYTECODE; -X pycache_prefix, PYTHONPYCACHEPREFIX) are passed on to it as options, so it
writes its cached bytecode where auditor would, or nowhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

START = """
import shutil, sys
from auditor.capture.execute.watchdog import Watchdog
shutil.rmtree(sys.pycache_prefix, ignore_errors=True)  # this process's own bytecode: only the watchdog's counts
dog = Watchdog.start()
assert dog is not None
proc = dog._proc
dog.release()
proc.wait(timeout=30)
"""


def _cached(prefix: Path) -> list[Path]:
    return sorted(prefix.rglob("watchdog.*.pyc"))


def test_the_watchdog_keeps_bytecode_where_auditor_would_or_nowhere(tmp_path: Path) -> None:
    kept, none = tmp_path / "kept", tmp_path / "none"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    for prefix, flags in ((kept, []), (none, ["-B"])):
        done = subprocess.run(
            [sys.executable, *flags, "-X", f"pycache_prefix={prefix}", "-c", START],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert [p.parent.name for p in _cached(kept)] == ["execute"]  # auditor/capture/execute, under the prefix
    assert _cached(none) == []
