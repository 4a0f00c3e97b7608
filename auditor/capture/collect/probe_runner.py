"""Find the interpreter that runs the command and start the probe in it, early.

Standard library only, so the CLI can start the probe before it imports the
heavier parts of auditor: the probe's ~0.1 s then overlaps auditor's own start-up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

PYTHON_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?([dmu]*)?(\.exe)?$")
PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Interpreter:
    executable: str
    resolved_from: Literal["argv", "shebang", "path"]


def find_interpreter(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> Interpreter | None:
    """The Python that will run `argv`, or None if the command's PATH has none."""
    search_path = env.get("PATH", "")
    exe = _which(argv[0], search_path, cwd) if argv else None
    if exe is not None:
        if PYTHON_NAME.match(Path(exe).name):
            return Interpreter(exe, "argv")
        from_shebang = _shebang_python(Path(exe), search_path)
        if from_shebang is not None:
            return Interpreter(from_shebang, "shebang")
    for name in ("python3", "python"):
        found = shutil.which(name, path=search_path)
        if found is not None:
            return Interpreter(found, "path")
    return None


def _which(command: str, search_path: str, cwd: str) -> str | None:
    if "/" in command:
        candidate = Path(cwd, command)
        return str(candidate) if candidate.is_file() else None
    return shutil.which(command, path=search_path)


def _shebang_python(script: Path, search_path: str) -> str | None:
    try:
        with script.open("rb") as handle:
            first = handle.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if words and Path(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
        found = shutil.which(words[0], path=search_path) if words else None
    else:
        found = words[0] if words else None
    return found if found and PYTHON_NAME.match(Path(found).name) else None


class ProbeError(Exception):
    pass


def probe_source() -> str:
    return resources.files("auditor.capture.collect").joinpath("probe.py").read_text(encoding="utf-8")


class RunningProbe:
    """The probe, started in the command's interpreter, environment and folder."""

    def __init__(self, interpreter: Interpreter, argv: Sequence[str], env: Mapping[str, str], cwd: str) -> None:
        self.interpreter = interpreter
        self.key = (tuple(argv), tuple(sorted(env.items())), cwd)  # what it was started for
        self._tmp = tempfile.TemporaryDirectory(prefix="auditor-probe-")
        self._out = Path(self._tmp.name, "probe.json")
        argv = [interpreter.executable, "-c", probe_source(), str(self._out)]
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            self._error: str | None = None
        except OSError as exc:
            self._proc = None
            self._error = f"could not run the environment probe with {interpreter.executable}: {exc}"

    def result(self, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        try:
            if self._proc is None:
                raise ProbeError(self._error)
            try:
                _, stderr = self._proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                self._proc.kill()
                self._proc.communicate()
                raise ProbeError(f"environment probe with {self.interpreter.executable} timed out") from exc
            if self._proc.returncode != 0 or not self._out.exists():
                tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
                raise ProbeError(
                    f"environment probe failed with {self.interpreter.executable} "
                    f"(exit {self._proc.returncode}): {tail[0][:200]}"
                )
            data: dict[str, Any] = json.loads(self._out.read_text(encoding="utf-8"))
            return data
        finally:
            self._tmp.cleanup()

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        self._tmp.cleanup()


class OwnInterpreterProbe(RunningProbe):
    """The probe's facts read in auditor's own process: the command's interpreter is the one that
    runs auditor, started as auditor was, in the same environment and folder (see own_sys_path), so
    a probe process would report what this process reads itself, with the same code (probe.facts)
    over the sys.path and distribution finders that interpreter starts with. That saves a Python
    start and the probe's imports (~0.08 s of CPU). Made before auditor's own imports (cli/early.py),
    while this process still has the path and finders it started with; the distributions are read
    when asked for (in a collector thread, while the command runs). Should reading them fail, the
    probe process is run after all."""

    def __init__(
        self, interpreter: Interpreter, argv: Sequence[str], env: Mapping[str, str], cwd: str, path: list[str]
    ) -> None:
        from importlib import metadata  # noqa: F401  # here, in the main thread: the collector thread imports nothing

        from auditor.capture.collect import probe

        self.interpreter = interpreter
        self.key = (tuple(argv), tuple(sorted(env.items())), cwd)
        self._started_for = (tuple(argv), dict(env), cwd)
        self._path = path
        self._finders = [find for find in (getattr(f, "find_distributions", None) for f in sys.meta_path) if find]
        self._locale = probe.locale_facts()  # setlocale: before any other thread runs

    def result(self, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        from auditor.capture.collect import probe

        try:
            return probe.facts(self.interpreter.executable, self._path, self._locale, self._finders)
        except Exception:  # read as the probe process reads it, errors and all
            argv, env, cwd = self._started_for
            return RunningProbe(self.interpreter, argv, env, cwd).result(timeout)

    def cancel(self) -> None:
        return None


def own_sys_path(interpreter: Interpreter, env: Mapping[str, str], cwd: str) -> list[str] | None:
    """The sys.path of `python -c` with the command's interpreter, when that interpreter is this
    process's, started as this one was; None otherwise (the probe then runs as a process).

    The same file in the same folder (so the same pyvenv.cfg and prefixes), the same environment and
    folder, and this process started as a script with no interpreter options (sys.orig_argv), so
    only the environment set its flags, as it sets the probe's: site then built the same sys.path for
    both, but for its first entry, the script's folder here and '' (the current folder) with -c.
    Only right before auditor's own imports, which could change sys.path or sys.meta_path."""
    executable = interpreter.executable
    if not Path(executable).is_absolute() or os.path.normpath(executable) != executable:
        return None  # the probe's sys.executable could be spelt otherwise
    try:
        if Path(executable).parent != Path(sys.executable).parent or not Path(executable).samefile(sys.executable):
            return None
    except OSError:
        return None
    if dict(env) != dict(os.environ) or cwd != str(Path.cwd()):
        return None
    if getattr(sys, "orig_argv", None) is None or sys.orig_argv[1:] != sys.argv or not sys.argv:
        return None
    if not sys.path or sys.path[0] != str(Path(sys.argv[0]).resolve().parent):
        return None
    return ["", *sys.path[1:]]


def start_probe(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, *, at_start: bool = False
) -> RunningProbe | None:
    """Start probing the command's interpreter; None when the command has no Python. `at_start`:
    called before auditor's own imports, when auditor's interpreter may read the facts itself."""
    interpreter = find_interpreter(argv, env, cwd)
    if interpreter is None:
        return None
    path = own_sys_path(interpreter, env, cwd) if at_start else None
    if path is not None:
        return OwnInterpreterProbe(interpreter, argv, env, cwd, path)
    return RunningProbe(interpreter, argv, env, cwd)
