"""The Python environment of the interpreter that runs the command, not auditor's own.

auditor finds that interpreter from the command (argv[0] or a script's shebang,
else `python3` on the command's PATH) and runs `probe.py` with it, in the
command's environment and working directory, so the record lists exactly the
distributions the command could import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.capture.collect.probe_runner import Interpreter, ProbeError, RunningProbe, start_probe
from auditor.capture.redact import clean_url
from auditor.record.models import (
    Distribution,
    InstallKind,
    LocaleInfo,
    Missing,
    Packages,
    PythonInfo,
)

INDEX_INSTALLERS = frozenset({"pip", "uv", "poetry", "pdm", "hatch", "pipenv", "conda-pip"})


@dataclass(frozen=True)
class PythonEvidence:
    python: PythonInfo | Missing
    packages: Packages | Missing
    locale: LocaleInfo | Missing
    libc: str | None


def collect_python(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, probe: RunningProbe | None = None
) -> PythonEvidence:
    """Evidence about the command's interpreter; pass a probe started earlier to save time."""
    if probe is None:
        probe = start_probe(argv, env, cwd)
    if probe is None:
        gone = Missing(reason="no Python interpreter found for the command (argv, shebang or PATH)")
        return PythonEvidence(gone, gone, gone, None)
    try:
        raw = probe.result()
    except ProbeError as exc:
        gone = Missing(reason=str(exc))
        return PythonEvidence(gone, gone, gone, None)
    return parse_probe(raw, probe.interpreter)


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
