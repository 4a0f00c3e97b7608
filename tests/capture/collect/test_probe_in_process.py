"""When the command's interpreter is auditor's own, started as auditor was, auditor reads the probe's
facts in its own process (probe_runner.OwnInterpreterProbe): they must be exactly what the probe
process reports, and every other case must still run the probe process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import AUDITOR, base_env

SCRIPT = """\
import json, os, sys
from auditor.capture.collect.probe_runner import RunningProbe, start_probe

argv = [sys.argv[1], "-c", "pass"]
env = dict(os.environ)
if len(sys.argv) > 2:
    env[sys.argv[2]] = "1"
here = start_probe(argv, env, os.getcwd(), at_start=True)
process = RunningProbe(here.interpreter, argv, env, os.getcwd())
print(json.dumps({"kind": type(here).__name__, "here": here.result(), "process": process.result()}))
"""


def _dist(folder: Path, name: str) -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\nA description.\n")


def _probe(tmp_path: Path, *args: str, options: tuple[str, ...] = ()) -> dict:  # type: ignore[type-arg]
    script = tmp_path / "probe_both.py"
    script.write_text(SCRIPT)
    extra = tmp_path / "extra"
    done = subprocess.run(
        [sys.executable, *options, str(script), *args],
        cwd=tmp_path / "work",
        env=base_env(PYTHONPATH=str(extra)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_own_interpreter_facts_are_the_probe_process_facts(tmp_path: Path) -> None:
    _dist(tmp_path / "work", "in-the-folder")  # found through '' (the folder), as `python -c` finds it
    _dist(tmp_path / "extra", "on-pythonpath")
    bin_dir = Path(sys.executable).parent
    names = {p.name for p in bin_dir.iterdir() if p.name in ("python", "python3") and p.samefile(sys.executable)}
    assert len(names) == 2  # the same interpreter under two names: each keeps its own spelling
    for name in sorted(names):
        got = _probe(tmp_path, str(bin_dir / name))
        assert got["kind"] == "OwnInterpreterProbe"
        assert got["here"] == got["process"]
        assert got["here"]["python"]["executable"] == str(bin_dir / name)
        found = {d["name"] for d in got["here"]["distributions"]}
        assert {"in-the-folder", "on-pythonpath", "pydantic"} <= found


def test_anything_else_runs_the_probe_process(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "extra").mkdir()
    assert _probe(tmp_path, sys.executable)["kind"] == "OwnInterpreterProbe"  # the control
    assert _probe(tmp_path, sys.executable, "AUDITOR_OTHER_ENV")["kind"] == "RunningProbe"  # another environment
    assert _probe(tmp_path, sys.executable, options=("-E",))["kind"] == "RunningProbe"  # an interpreter option
    other = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter this virtual environment is made from
    got = _probe(tmp_path, str(other))
    assert got["kind"] == "RunningProbe" and got["here"] == got["process"]


def test_a_run_records_the_same_environment_either_way(tmp_path: Path) -> None:
    """The real CLI: `auditor run` (auditor's console script: facts read in process) and `python -m
    auditor run` (started otherwise: the probe process), same store, same command."""
    work = tmp_path / "work"
    _dist(work, "in-the-folder")
    command = ["run", "--", sys.executable, "-c", "pass"]
    for argv in ([str(AUDITOR), *command], [sys.executable, "-m", "auditor", *command]):
        done = subprocess.run(argv, cwd=work, env=base_env(), capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    records = [json.loads((run / "record.json").read_text()) for run in sorted((work / ".auditor" / "runs").iterdir())]
    assert len(records) == 2
    assert records[0]["environment"] == records[1]["environment"]
    assert "in-the-folder" in {d["name"] for d in records[0]["environment"]["packages"]["distributions"]}
