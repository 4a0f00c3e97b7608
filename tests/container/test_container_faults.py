"""Container runs when auditor itself fails: killed outright, or unable to write a log."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.conftest import AUDITOR
from tests.container.conftest import BASE_IMAGE, leftover_containers, podman

LIMIT = 200 * 1024  # RLIMIT_FSIZE for auditor, bytes


def _remove_leftovers() -> None:
    for container in leftover_containers():
        podman("rm", "--force", container)


def test_a_killed_auditor_leaves_no_container_running(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """SIGKILL gives auditor no chance to remove its containers: its watchdog stops and removes them
    (the command's and the image probe's) through the engine."""
    script = "import time; print('ready', flush=True); time.sleep(300)"
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--image", BASE_IMAGE, "--", "python3", "-c", script],
        cwd=tmp_path,
        env={**engine_env, "AUDITOR_STOP_GRACE_S": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        assert leftover_containers() != []
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while leftover_containers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftover_containers() == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _remove_leftovers()


def test_a_log_that_cannot_be_written_stops_the_container(tmp_path: Path, engine_env: dict[str, str]) -> None:
    """The file size limit refuses stdout.log past LIMIT bytes (EFBIG): the container is stopped,
    the run recorded as failed with its log incomplete, and auditor exits 74, without hanging."""
    endless = "import os\nline = b'x' * 99 + b'\\n'\nwhile True:\n    os.write(1, line * 100)\n"
    done = subprocess.run(
        ["prlimit", f"--fsize={LIMIT}", str(AUDITOR), "run", "--image", BASE_IMAGE, "--", "python3", "-c", endless],
        cwd=tmp_path,
        env={**engine_env, "AUDITOR_STOP_GRACE_S": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        assert done.returncode == 74, done.stderr
        (run,) = (tmp_path / ".auditor" / "runs").iterdir()
        record = json.loads((run / "record.json").read_text())
        ident = record["identity"]
        assert (ident["status"], ident["error"]) == (
            "failed",
            "stopped by auditor: stdout.log could not be written (File too large)",
        )
        assert ident["exit_code"] in (143, 137)  # the init passes SIGTERM on; SIGKILL after the grace
        assert record["outputs"]["stdout"]["bytes"] == (run / "stdout.log").stat().st_size == LIMIT
        assert done.stderr.strip().splitlines() == [
            f"auditor: error: {tmp_path / '.auditor'}: stdout.log could not be written (File too large); "
            f"run {ident['run_id']} is recorded as failed (exit {ident['exit_code']}) with its output incomplete"
        ]
        assert leftover_containers() == []
    finally:
        _remove_leftovers()
