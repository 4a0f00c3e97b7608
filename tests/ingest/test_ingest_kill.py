"""A real `auditor ingest mlflow` killed (SIGKILL) at random moments while it writes: the store it
leaves verifies (`auditor log verify`, and every folder in runs/ is a run the log vouches for),
every source run is either fully there or absent, and ingesting the same source again completes
it with no run twice."""

from __future__ import annotations

import importlib.util
import json
import random
import signal
import subprocess
import time
from pathlib import Path

from auditor.store.runs import RunStore
from tests.conftest import AUDITOR, base_env

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "ingest_speed.py"
RUNS = 800  # several batches: most kills find runs still unwritten
KILLS = 6


def _source(tmp_path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("ingest_speed", BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_store(tmp_path / "mlruns", RUNS, 4, 4, 1)
    return tmp_path / "mlruns"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _staged(store_path: Path) -> set[str]:
    staging = store_path / "staging"
    return {p.name for p in staging.iterdir()} if staging.is_dir() else set()


def _writing(store_path: Path, entries_before: int, staged_before: set[str]) -> bool:
    """Whether the ingest started writing: a new folder in staging/ (a killed one's stay there,
    invisible), or the log grew."""
    return bool(_staged(store_path) - staged_before) or _size(store_path / "log" / "entries") != entries_before


def _check(store_path: Path, tmp_path: Path) -> dict[str, str]:
    """The store verifies, and each folder in runs/ is a whole run: source run id -> auditor run id."""
    done = subprocess.run(
        [str(AUDITOR), "log", "verify", "--store", str(store_path)],
        cwd=tmp_path,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    store = RunStore.open(store_path)
    names = store.folder_names()
    assert store.run_ids() == names  # no folder the log does not hold
    found: dict[str, str] = {}
    for name in names:
        origin = json.loads(store.verify(name))["origin"]
        assert origin["source_run_id"] not in found, f"{origin['source_run_id']} ingested twice"
        found[origin["source_run_id"]] = name
    return found


def test_an_ingest_killed_while_it_writes_leaves_a_store_that_verifies(tmp_path: Path) -> None:
    source = _source(tmp_path)
    store_path = tmp_path / "store"
    entries = store_path / "log" / "entries"
    argv = [str(AUDITOR), "ingest", "mlflow", str(source), "--store", str(store_path)]
    rng = random.Random(19)  # noqa: S311 - kill moments, not secrets
    killed_midway = 0
    for _ in range(KILLS):
        before, staged = _size(entries), _staged(store_path)
        process = subprocess.Popen(
            argv, cwd=tmp_path, env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while not _writing(store_path, before, staged) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)  # until it writes its first batch: records in staging/, or entries in the log
        time.sleep(rng.uniform(0, 0.3))  # a batch or two in: records, syncs, log, renames
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=60)
        assert process.returncode in (0, -signal.SIGKILL), err
        found = _check(store_path, tmp_path)
        if process.returncode == -signal.SIGKILL and len(found) < RUNS:
            killed_midway += 1
    assert killed_midway >= 2, "the kills came too late to interrupt a write: the test proved nothing"
    done = subprocess.run(argv, cwd=tmp_path, env=base_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    found = _check(store_path, tmp_path)
    assert len(found) == RUNS
    assert sorted(found.values()) == sorted(p.name for p in (store_path / "runs").iterdir())
    again = subprocess.run(argv, cwd=tmp_path, env=base_env(), capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stderr
    assert _check(store_path, tmp_path) == found  # idempotent: nothing new
