"""Interrupts, kills and concurrency: a record is complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AUDITOR, CliRunner, base_env

pytestmark = pytest.mark.slow

CHILD = (
    "import os, signal, sys, time\n"
    "if len(sys.argv) > 2:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "open(sys.argv[1] + '.pid', 'w').write(str(os.getpid()))\n"
    "os.rename(sys.argv[1] + '.pid', sys.argv[1])\n"
    "print('started', flush=True)\n"
    "time.sleep(60)\n"
)


def _start(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    marker = tmp_path / "child.pid"
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--", sys.executable, "-c", CHILD, str(marker), *extra],
        cwd=tmp_path,
        env=env or base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    return proc, marker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().split()
    return stat[2] != "Z"


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _records(store: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads((d / "record.json").read_text()) for d in sorted((store / "runs").iterdir())]


def test_ctrl_c_stops_the_command_and_records_the_run(tmp_path: Path, reaper: list) -> None:  # type: ignore[type-arg]
    proc, marker = _start(tmp_path)
    reaper.append(proc)
    child = int(marker.read_text())
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert not _alive(child)
    (record,) = _records(tmp_path / ".auditor")
    assert record["identity"]["status"] == "interrupted"
    assert record["identity"]["error"] == "interrupted by SIGINT"
    run_dir = tmp_path / ".auditor" / "runs" / record["identity"]["run_id"]
    assert (run_dir / "stdout.log").read_text() == "started\n"


def test_a_command_that_ignores_signals_is_killed_after_the_grace_period(
    tmp_path: Path,
    reaper: list,  # type: ignore[type-arg]
) -> None:
    proc, marker = _start(tmp_path, "ignore-signals", env=base_env(AUDITOR_STOP_GRACE_S="1"))
    reaper.append(proc)
    child = int(marker.read_text())
    proc.send_signal(signal.SIGTERM)  # as a CI runner cancelling the job
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not _alive(child)
    (record,) = _records(tmp_path / ".auditor")
    ident = record["identity"]
    assert (ident["status"], ident["signal"], ident["exit_code"]) == ("interrupted", "SIGKILL", 137)


def test_killed_auditor_leaves_no_partial_record(cli: CliRunner, tmp_path: Path, reaper: list) -> None:  # type: ignore[type-arg]
    proc, _ = _start(tmp_path)
    reaper.append(proc)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait()
    store = tmp_path / ".auditor"
    assert list((store / "runs").iterdir()) == []
    assert len(list((store / "staging").iterdir())) == 1  # evidence of the crash, never read as a run
    listed = cli("runs", cwd=tmp_path)
    assert (listed.returncode, listed.stdout.strip()) == (0, "no runs in this store yet")
    assert cli("run", "--", "true", cwd=tmp_path).returncode == 0
    assert len(_records(store)) == 1


def test_concurrent_runs_into_one_new_store_never_collide(tmp_path: Path) -> None:
    store = tmp_path / "shared-store"
    procs = [
        subprocess.Popen(
            [str(AUDITOR), "run", "--store", str(store), "--name", f"r{i}", "--", sys.executable, "-c", f"print({i})"],
            cwd=tmp_path,
            env=base_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    for proc in procs:
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    records = _records(store)
    assert sorted(r["identity"]["name"] for r in records) == ["r0", "r1", "r2", "r3"]
    assert len({r["identity"]["run_id"] for r in records}) == 4
    for record in records:
        run_dir = store / "runs" / record["identity"]["run_id"]
        assert (run_dir / "stdout.log").read_text() == record["identity"]["name"][1] + "\n"
    assert list((store / "staging").iterdir()) == []
