"""A store that fails under a run: a real full filesystem (a small tmpfs), and a real per-file
size limit (RLIMIT_FSIZE: EFBIG, with SIGXFSZ ignored as Python ignores it).

The tmpfs is mounted in a private mount namespace (`unshare --mount`, with a user namespace when
not root), so it disappears with the test however the test ends; the store is copied out of it
before it goes, for the checks. Whatever happens, auditor must end (never hang), with exit 74 and
one line naming the store and the reason, and the store must stay consistent: a complete record
in runs/ or none, and no staging folder left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.capture.data import HASH_CACHE_FILE, DataCapture
from tests.conftest import AUDITOR, base_env

pytestmark = pytest.mark.slow

EXIT_NOT_RECORDED = 74
HANG_S = 60
LIMIT = 200 * 1024  # RLIMIT_FSIZE, bytes

IN_SMALL_FS = r"""
set -u
size=$1 mnt=$2 out=$3 leave=$4
shift 4
mount -t tmpfs -o size="$size" tmpfs "$mnt" || exit 99
if [ "$leave" != "-" ]; then
    "$AUDITOR_TEST_PYTHON" - "$mnt/store" "$leave" <<'EOF' || exit 98
import os, sys
from pathlib import Path
from auditor.store.runs import RunStore
RunStore.create(Path(sys.argv[1]))
fd = os.open(Path(sys.argv[1]).parent / "filler", os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(65536))
except OSError:
    pass
os.ftruncate(fd, max(0, os.fstat(fd).st_size - int(sys.argv[2])))
EOF
fi
"$@"
rc=$?
cp -a "$mnt/store" "$out/" 2>/dev/null
exit $rc
"""

# Writes its pid where the test can see it, then output without end: only being stopped ends it.
ENDLESS = (
    "import os, sys\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "line = b'x' * 99 + b'\\n'\n"
    "while True:\n"
    "    os.write(1, line * 100)\n"
)


def _unshare() -> list[str]:
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private"]
    return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]


def _in_small_fs(tmp_path: Path, size: str, argv: list[str], leave: int | None = None) -> tuple[int, str, Path]:
    """Run `argv` with a tmpfs of `size` at tmp_path/mnt; the exit code, stderr and a copy of the store."""
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    proc = subprocess.Popen(
        [
            *_unshare(),
            "sh",
            "-c",
            IN_SMALL_FS,
            "sh",
            size,
            str(mnt),
            str(out),
            "-" if leave is None else str(leave),
            *argv,
        ],
        cwd=tmp_path,
        env=base_env(AUDITOR_TEST_PYTHON=sys.executable, AUDITOR_STOP_GRACE_S="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"auditor hung for {HANG_S} s on a full store")
    assert proc.returncode not in (98, 99), err  # the mount or the filler failed: not what is tested
    return proc.returncode, err.decode(errors="replace"), out / "store"


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def _consistent(store: Path) -> list[Path]:
    """The runs in the store, each complete; no staging left behind."""
    assert list((store / "staging").iterdir()) == []
    runs = sorted((store / "runs").iterdir())
    for run in runs:
        assert {p.name for p in run.iterdir()} == {"record.json", "stdout.log", "stderr.log"}
        json.loads((run / "record.json").read_text())
    return runs


def test_output_larger_than_the_store_stops_the_command_and_says_the_run_is_lost(tmp_path: Path) -> None:
    pid_file = tmp_path / "command.pid"
    code, err, store = _in_small_fs(
        tmp_path,
        "1m",
        [
            str(AUDITOR),
            "run",
            "--store",
            str(tmp_path / "mnt" / "store"),
            "--",
            sys.executable,
            "-c",
            ENDLESS,
            str(pid_file),
        ],
    )
    assert code == EXIT_NOT_RECORDED, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.fullmatch(
        r"auditor: error: \S+/mnt/store: run \w+ could not be recorded \(No space left on device\); the command "
        r"failed \(exit 143: stopped by auditor: stdout\.log could not be written \(No space left on device\)\); "
        r"nothing was kept",
        lines[0],
    ), lines[0]
    assert _gone(int(pid_file.read_text()))
    assert _consistent(store) == []


def test_room_for_the_logs_but_not_the_record(tmp_path: Path) -> None:
    code, err, store = _in_small_fs(
        tmp_path,
        "2m",
        [str(AUDITOR), "run", "--store", str(tmp_path / "mnt" / "store"), "--", sys.executable, "-c", "print('ok')"],
        leave=16 * 1024,  # a page per log; a record is tens of kB
    )
    assert code == EXIT_NOT_RECORDED, err
    assert re.fullmatch(
        r"auditor: error: \S+/mnt/store: run \w+ could not be recorded \(No space left on device\); the command "
        r"succeeded \(exit 0\); nothing was kept\n",
        err,
    ), err
    assert _consistent(store) == []


def test_a_log_over_the_file_size_limit_is_recorded_as_incomplete(tmp_path: Path) -> None:
    """RLIMIT_FSIZE fails only files past the limit (EFBIG): the small record still fits, so the
    run is recorded, failed, with its log as far as it was written, and auditor still exits 74."""
    pid_file = tmp_path / "command.pid"
    store = tmp_path / "store"
    command = (sys.executable, "-c", ENDLESS, str(pid_file))
    proc = subprocess.Popen(
        [*("prlimit", f"--fsize={LIMIT}", str(AUDITOR), "run", "--store", str(store), "--"), *command],
        cwd=tmp_path,
        env=base_env(AUDITOR_STOP_GRACE_S="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, raw = proc.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"auditor hung for {HANG_S} s on a log it could not write")
    err = raw.decode()
    assert proc.returncode == EXIT_NOT_RECORDED, err
    assert _gone(int(pid_file.read_text()))
    (run,) = _consistent(store)
    record = json.loads((run / "record.json").read_text())
    ident = record["identity"]
    assert (ident["status"], ident["exit_code"], ident["signal"]) == ("failed", 143, "SIGTERM")
    assert ident["error"] == "stopped by auditor: stdout.log could not be written (File too large)"
    stdout = record["outputs"]["stdout"]
    kept = (run / "stdout.log").read_bytes()
    assert stdout["bytes"] == len(kept) == LIMIT
    assert stdout["sha256"] == hashlib.sha256(kept).hexdigest()
    (note,) = record["outputs"]["notes"]
    assert note.startswith(f"stdout.log is incomplete: writing it failed after {len(kept)} bytes (File too large); ")
    assert err == (
        f"auditor: error: {store}: stdout.log could not be written (File too large); run {ident['run_id']} is "
        "recorded as failed (exit 143) with its output incomplete\n"
    )


def test_a_hash_cache_that_cannot_be_saved_costs_no_evidence(tmp_path: Path) -> None:
    """The cache only saves time: a store that refuses it (here a folder where the file goes, a
    real EISDIR from rename) is a warning, and the outputs' hashes are still recorded."""
    project = tmp_path / "project"
    (project / "outputs").mkdir(parents=True)
    (project / "auditor.yaml").write_text(
        "version: 1\nproject: {name: p}\ndatasets:\n  - {id: model, role: output, path: outputs/model.txt}\n"
    )
    (project / ".auditor" / HASH_CACHE_FILE).mkdir(parents=True)
    data = DataCapture(project, project / ".auditor", lambda: datetime.now(UTC))
    data.prepare()
    (project / "outputs" / "model.txt").write_text("weights")
    evidence = data.finish("run-1", "p")
    (dataset,) = getattr(evidence.lineage, "datasets", ())
    assert getattr(dataset.after, "state", None) == "hashed"
    assert evidence.warnings == [
        f"{project / '.auditor' / HASH_CACHE_FILE}: the hash cache could not be saved (Is a directory)"
    ]
