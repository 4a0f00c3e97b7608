"""Interrupts, kills and concurrency: a record is complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
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


# -- after the command: the record is still being made ------------------------------------------

SPEC = "version: 1\nproject: {name: p}\ndatasets:\n  - {id: big, role: output, path: outputs/big.bin}\n"
# A sparse output: costly to hash (SHA-256 of every byte), free to write.
WRITE_OUTPUT = (
    "import os, sys\n"
    "os.makedirs('outputs', exist_ok=True)\n"
    "with open('outputs/big.bin', 'wb') as f:\n"
    "    f.truncate(int(sys.argv[2]))\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
)


def _start_hashing(tmp_path: Path, size: int) -> subprocess.Popen[bytes]:
    """auditor, once the command has ended and auditor has the output open to hash it."""
    (tmp_path / "auditor.yaml").write_text(SPEC)
    marker = tmp_path / "command.pid"
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--", sys.executable, "-c", WRITE_OUTPUT, str(marker), str(size)],
        cwd=tmp_path,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    big = str(tmp_path / "outputs" / "big.bin")
    deadline = time.monotonic() + 60
    while not (marker.exists() and not _alive(int(marker.read_text())) and _has_open(proc.pid, big)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "auditor never started hashing the output"
        time.sleep(0.01)
    return proc


def _has_open(pid: int, path: str) -> bool:
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == path:
                    return True
    return False


def _output_hash(record: dict) -> dict:  # type: ignore[type-arg]
    (dataset,) = [d for d in record["lineage"]["datasets"] if d["id"] == "big"]
    return dataset["after"]  # type: ignore[no-any-return]


def test_ctrl_c_while_outputs_are_hashed_records_the_run_as_interrupted(tmp_path: Path, reaper: list) -> None:  # type: ignore[type-arg]
    proc = _start_hashing(tmp_path, 1 << 30)
    reaper.append(proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    (record,) = _records(tmp_path / ".auditor")
    ident = record["identity"]
    assert (ident["status"], ident["exit_code"], ident["signal"]) == ("interrupted", 0, None)  # the command's own
    assert ident["error"] == "interrupted by SIGINT after the command ended, while its evidence was being collected"
    assert _output_hash(record)["state"] == "hashed"  # one Ctrl-C costs no evidence


def test_a_second_ctrl_c_gives_up_hashing_at_once_and_says_what_is_missing(tmp_path: Path, reaper: list) -> None:  # type: ignore[type-arg]
    proc = _start_hashing(tmp_path, 16 << 30)  # some 20 s of hashing on this machine
    reaper.append(proc)
    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(0.5)  # two signals at once would reach Python's handler once: let the first be handled
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert time.monotonic() - sent < 5, "the second interrupt did not stop the hashing"
    assert proc.returncode == 130, err
    (record,) = _records(tmp_path / ".auditor")
    ident = record["identity"]
    assert (ident["status"], ident["exit_code"]) == ("interrupted", 0)
    assert ident["error"].startswith("interrupted by SIGTERM after the command ended")
    assert _output_hash(record)["reason"] == (
        "outputs/big.bin was not hashed: hashing was cancelled (auditor was interrupted)"
    )


# -- auditor killed: the command must not run on -------------------------------------------------

FAMILY = (
    "import os, subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "open(sys.argv[1] + '.tmp', 'w').write(f'{os.getpid()} {child.pid}')\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "time.sleep(300)\n"
)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    members.append(int(entry.name))
    return members


@pytest.mark.parametrize("kill", ["auditor", "auditor's process group"])
def test_a_killed_auditor_leaves_no_orphan(tmp_path: Path, reaper: list, kill: str) -> None:  # type: ignore[type-arg]
    marker = tmp_path / "family"
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--", sys.executable, "-c", FAMILY, str(marker)],
        cwd=tmp_path,
        env=base_env(AUDITOR_STOP_GRACE_S="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    reaper.append(proc)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    command, child = (int(p) for p in marker.read_text().split())
    group = int(Path(f"/proc/{command}/stat").read_text().rsplit(")", 1)[1].split()[2])
    try:
        if kill == "auditor":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # a CI runner cancelling the job
        proc.wait()
        deadline = time.monotonic() + 5
        while (_alive(command) or _alive(child) or _group_members(group)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(command) and not _alive(child) and _group_members(group) == []
    finally:
        for pid in (command, child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- on a terminal: the command stays in the foreground job --------------------------------------


def _on_terminal(tmp_path: Path, *command: str) -> tuple[int, int]:
    """A shell on a new terminal (its session leader, as a login shell would be) running `auditor
    run -- command` as its foreground job; the shell's pid and the terminal's master side."""
    pid, master = pty.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.chdir(tmp_path)
            argv = ["sh", "-c", '"$@"; echo "auditor exited $?"; sleep 60', "sh", str(AUDITOR), "run", "--", *command]
            os.execvpe("sh", argv, base_env(AUDITOR_STOP_GRACE_S="1"))  # noqa: S606 - sh is the shell under test
        finally:
            os._exit(127)
    return pid, master


def _read_until(master: int, wanted: bytes, timeout_s: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in seen:
        assert time.monotonic() < deadline, f"never saw {wanted!r}; saw {seen!r}"
        if select.select([master], [], [], 0.1)[0]:
            with contextlib.suppress(OSError):
                seen += os.read(master, 4096)
    return seen


def test_on_a_terminal_the_command_can_read_it(tmp_path: Path) -> None:
    """A command in a background group would be stopped (SIGTTIN) on reading its terminal, and
    auditor would wait for it forever: in the foreground job the command reads it as usual."""
    shell, master = _on_terminal(tmp_path, sys.executable, "-c", "print('got', input())")
    try:
        os.write(master, b"typed\n")  # kept by the terminal until the command reads it
        _read_until(master, b"auditor exited 0")
        (record,) = _records(tmp_path / ".auditor")
        run_dir = tmp_path / ".auditor" / "runs" / record["identity"]["run_id"]
        assert (run_dir / "stdout.log").read_text() == "got typed\n"
    finally:
        os.kill(shell, signal.SIGKILL)
        os.waitpid(shell, 0)
        os.close(master)


def test_on_a_terminal_a_killed_auditor_leaves_no_orphan_and_spares_the_shell(tmp_path: Path) -> None:
    """The command shares the shell's job here, so the watchdog stops the command's own process
    tree, never the job's group (that would take the shell with it)."""
    marker = tmp_path / "family"
    shell, master = _on_terminal(tmp_path, sys.executable, "-c", FAMILY, str(marker))
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        command, child = (int(p) for p in marker.read_text().split())
        auditor = int(Path(f"/proc/{command}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert Path(f"/proc/{auditor}/cmdline").read_bytes().split(b"\0")[1].endswith(b"auditor")
        os.kill(auditor, signal.SIGKILL)
        _read_until(master, b"auditor exited 137")
        deadline = time.monotonic() + 5
        while (_alive(command) or _alive(child)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(command) and not _alive(child)
        assert _alive(shell)
    finally:
        os.kill(shell, signal.SIGKILL)
        os.waitpid(shell, 0)
        os.close(master)
        for pid in (command, child) if "child" in locals() else ():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
