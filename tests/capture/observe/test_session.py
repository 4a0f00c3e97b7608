"""The start-up hook in real interpreters: auditor's own, and a virtualenv without auditor."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from auditor.capture.observe.session import ObservationSession
from tests.conftest import base_env

SCRIPT = """\
import os, subprocess, sys
open('data.csv').read()
with open('out.txt', 'w') as handle:
    handle.write('x')
os.rename('out.txt', 'final.txt')
subprocess.run([sys.executable, '-c', "open('child.csv').read()"], check=True)
import auditor
auditor.log_metric('accuracy', 0.75, step=3)
auditor.log_params({'seed': 7, 'C': 1.5, 'when': object()})
print('done', flush=True)
"""


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with nothing installed: auditor is not importable there."""
    target = tmp_path_factory.mktemp("bare") / "env"
    venv.create(target, with_pip=False)
    return target / "bin" / "python"


@pytest.mark.parametrize("interpreter", ["auditor", "bare"])
def test_reads_writes_subprocesses_and_events(interpreter: str, bare_python: Path, tmp_path: Path) -> None:
    python = sys.executable if interpreter == "auditor" else str(bare_python)
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / "child.csv").write_text("b\n2\n")
    session = ObservationSession()
    try:
        done = subprocess.run(
            [python, "-c", SCRIPT],
            cwd=tmp_path,
            env=session.environment(base_env()),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = session.collect()
    finally:
        session.close()
    assert len(result.processes) == 2
    reads = {p for proc in result.processes for p in proc.reads}
    writes = {p for proc in result.processes for p in proc.writes}
    assert {str(tmp_path / "data.csv"), str(tmp_path / "child.csv")} <= reads
    assert {str(tmp_path / "out.txt"), str(tmp_path / "final.txt")} <= writes
    kinds = [e["kind"] for e in result.events]
    assert kinds == ["metric", "params"]
    assert result.events[0]["name"] == "accuracy" and result.events[0]["step"] == 3
    assert result.events[1]["params"]["seed"] == 7 and result.events[1]["params"]["when"].startswith("<object")
    assert not session.root.exists()


def test_a_shadowed_sitecustomize_still_runs(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import builtins\nbuiltins.SHADOWED_RAN = True\n")
    session = ObservationSession()
    try:
        env = session.environment(base_env(PYTHONPATH=str(own)))
        done = subprocess.run(
            [sys.executable, "-c", "print(SHADOWED_RAN)"], env=env, capture_output=True, text=True, check=False
        )
    finally:
        session.close()
    assert done.stdout.strip() == "True", done.stderr


def test_logging_outside_a_run_warns_once_and_does_nothing(tmp_path: Path) -> None:
    code = (
        "import warnings, auditor\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    auditor.log_metric('a', 1.0); auditor.log_params({'b': 2}); auditor.log_dataset('x.csv')\n"
        "print(len(seen), seen[0].message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=base_env(), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "1 auditor: not inside `auditor run`; log_* calls are ignored"
    assert list(tmp_path.iterdir()) == []


def test_broken_event_lines_are_reported_not_fatal(tmp_path: Path) -> None:
    session = ObservationSession()
    try:
        session.events_file.write_text('{"kind": "metric", "name": "a", "value": 1, "time": 0}\nnot json\n')
        result = session.collect()
    finally:
        session.close()
    assert len(result.events) == 1
    assert result.problems == ["event line 2 is not JSON; ignored"]


def test_read_write_opens_report_both(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    session = ObservationSession()
    try:
        code = "open('a.csv', 'r+').read(); import os; os.close(os.open('a.csv', os.O_RDWR))"
        subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=session.environment(base_env()), check=True)
        (report,) = session.collect().processes
    finally:
        session.close()
    assert str(tmp_path / "a.csv") in report.reads and str(tmp_path / "a.csv") in report.writes


ODD_NAMES = """\
import json, os
os.makedirs('sub/.hidden', exist_ok=True)
opened = {'w': [], 'r': []}
def touch(name, mode):
    open(name, mode).close()
    opened[mode].append(os.path.abspath(os.fsdecode(name)))
for name in ['a.csv', './a.csv', 'sub/../a.csv', 'sub//b.csv', 'sub/.hidden/c.csv', 'sub/./b.csv', b'sub/b.csv']:
    touch(name, 'w')
os.chdir('sub')
for name in ['b.csv', '../a.csv', '.hidden/c.csv']:
    touch(name, 'r')
os.chdir('/')
touch('etc/hostname' if os.path.isfile('etc/hostname') else 'etc/passwd', 'r')
print(json.dumps(opened))
"""


def test_opened_paths_are_reported_as_os_path_abspath_has_them(tmp_path: Path) -> None:
    """Relative, dotted, doubled and bytes names, before and after a change of folder: each as abspath."""
    session = ObservationSession()
    try:
        done = subprocess.run(
            [sys.executable, "-c", ODD_NAMES],
            cwd=tmp_path,
            env=session.environment(base_env()),
            capture_output=True,
            text=True,
            check=True,
        )
        (report,) = session.collect().processes
    finally:
        session.close()
    opened = json.loads(done.stdout)
    written = {str(tmp_path / "a.csv"), str(tmp_path / "sub" / "b.csv"), str(tmp_path / "sub" / ".hidden" / "c.csv")}
    assert set(opened["w"]) == written
    assert set(opened["w"]) <= set(report.writes)
    assert set(opened["r"]) <= set(report.reads)
    assert len(set(opened["r"])) == 4
    assert not {p for p in [*report.reads, *report.writes] if "//" in p or "/./" in p or "/../" in p}


def test_close_soon_removes_the_folder_and_close_waits_for_it() -> None:
    session = ObservationSession()
    (session.root / "access" / "1.json").write_text("{}")
    session.close_soon()
    session.close_soon()  # once started, not started again
    session.close()
    assert not session.root.exists()
