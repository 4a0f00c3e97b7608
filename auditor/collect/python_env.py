"""The Python environment of the interpreter that runs the command, not auditor's own.

auditor finds that interpreter from the command (argv[0] or a script's shebang,
else `python3` on the command's PATH) and runs `probe.py` with it, in the
command's environment and working directory, so the record lists exactly the
distributions the command could import.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from auditor.record.models import (
    Distribution,
    InstallKind,
    LocaleInfo,
    Missing,
    Packages,
    PythonInfo,
)
from auditor.redact import clean_url

PYTHON_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?([dmu]*)?(\.exe)?$")
INDEX_INSTALLERS = frozenset({"pip", "uv", "poetry", "pdm", "hatch", "pipenv", "conda-pip"})
PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Interpreter:
    executable: str
    resolved_from: Literal["argv", "shebang", "path"]


@dataclass(frozen=True)
class PythonEvidence:
    python: PythonInfo | Missing
    packages: Packages | Missing
    locale: LocaleInfo | Missing
    libc: str | None


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


def collect_python(argv: Sequence[str], env: Mapping[str, str], cwd: str) -> PythonEvidence:
    interpreter = find_interpreter(argv, env, cwd)
    if interpreter is None:
        gone = Missing(reason="no Python interpreter found for the command (argv, shebang or PATH)")
        return PythonEvidence(gone, gone, gone, None)
    try:
        raw = run_probe(interpreter.executable, env, cwd)
    except ProbeError as exc:
        gone = Missing(reason=str(exc))
        return PythonEvidence(gone, gone, gone, None)
    return parse_probe(raw, interpreter)


class ProbeError(Exception):
    pass


def probe_source() -> str:
    return resources.files("auditor.collect").joinpath("probe.py").read_text(encoding="utf-8")


def run_probe(executable: str, env: Mapping[str, str], cwd: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auditor-probe-") as tmp:
        out = Path(tmp, "probe.json")
        argv = [executable, "-c", probe_source(), str(out)]
        try:
            done = subprocess.run(
                argv, env=dict(env), cwd=cwd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProbeError(f"could not run the environment probe with {executable}: {exc}") from exc
        if done.returncode != 0 or not out.exists():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise ProbeError(f"environment probe failed with {executable} (exit {done.returncode}): {tail[0][:200]}")
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return data


def parse_probe(data: Mapping[str, Any], interpreter: Interpreter) -> PythonEvidence:
    py = data["python"]
    python = PythonInfo(
        version=py["version"],
        implementation=py["implementation"],
        executable=py["executable"] or interpreter.executable,
        prefix=py["prefix"],
        base_prefix=py["base_prefix"],
        is_virtualenv=py["is_virtualenv"],
        resolved_from=interpreter.resolved_from,
        sys_path=tuple(py["sys_path"]),
    )
    packages: Packages | Missing
    if data["distributions"] is None:
        packages = Missing(reason=data.get("distributions_missing") or "distributions not listed")
    else:
        dists = sorted((to_distribution(d) for d in data["distributions"]), key=lambda d: (d.name.lower(), d.shadowed))
        packages = Packages(distributions=tuple(dists))
    loc = data["locale"]
    return PythonEvidence(
        python=python,
        packages=packages,
        locale=LocaleInfo(
            locale=loc["locale"],
            preferred_encoding=loc["preferred_encoding"],
            filesystem_encoding=loc["filesystem_encoding"],
        ),
        libc=data.get("libc"),
    )


def to_distribution(raw: Mapping[str, Any]) -> Distribution:
    direct = raw.get("direct_url")
    installer = raw.get("installer")
    kind: InstallKind = "index" if installer in INDEX_INSTALLERS else "unknown"
    url = vcs = commit = revision = None
    if isinstance(direct, dict):
        url = clean_url(str(direct.get("url", ""))) or None
        if "vcs_info" in direct:
            kind = "vcs"
            info = direct["vcs_info"]
            vcs, commit, revision = info.get("vcs"), info.get("commit_id"), info.get("requested_revision")
        elif "dir_info" in direct:
            kind = "editable" if direct["dir_info"].get("editable") else "local"
        elif url is not None:
            kind = "local" if url.startswith("file:") else "url"
        else:
            kind = "unknown"
    return Distribution(
        name=raw["name"],
        version=raw["version"],
        installer=installer,
        requested=raw.get("requested"),
        install_kind=kind,
        url=url,
        vcs=vcs,
        commit_id=commit,
        requested_revision=revision,
        location=raw["location"],
        shadowed=bool(raw.get("shadowed")),
    )
