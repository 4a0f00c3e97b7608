"""pip-audit as a vulnerability source (`-s pypi` or `-s osv`), run so that it can never fail open.

pip-audit runs as a subprocess of auditor's own interpreter on a temporary requirements file of
`name==version` pins (`--no-deps --disable-pip`), with a private HOME and cache folder and a minimal
environment, and writes its JSON report to a temporary file. What pip-audit 2.10.1 was seen to do:

- `--strict` aborts at the first skipped package: exit 1, "ERROR:pip_audit._cli:<name>: <reason>" on
  stderr and NO JSON at all, so one package it cannot look up would hide the results of all others.
  It is therefore run without `--strict`, and strict semantics are applied here instead: a skipped
  package is written to the JSON with `skip_reason` (only its name, no version) and becomes
  "not_audited"; a requested package missing from the JSON is "not_audited" too.
- The JSON (`{"dependencies": [...], "fixes": []}`) is written on exit 0 and, when vulnerabilities
  were found, before exit 1. Every other failure (HTTP 500, refused connection, timeout, a reply that
  is not JSON, conflicting pins) ends in exit 1 with a traceback or an ERROR line and no JSON. So exit
  1 counts only with a well-formed JSON report that lists vulnerabilities; anything else fails the
  whole audit, every package "not_audited" with one line of reason.
- Even a clean, well-formed report proves little: an endpoint that answers `{}` to everything, or
  PyPI's per-version endpoint answering 404, looks like "no known vulnerabilities". So the canary
  (canary.py) is pinned beside the packages, and unless pip-audit reports it, nothing is audited.
- It reports each pinned line once, including two spellings of one version, but refuses two pins of
  one name with different versions; each package name therefore goes into a file at most once, and
  further versions of a name go into further runs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import Version

from auditor.capture.redact import clean_url, mask
from auditor.check.vulns.audit import SourceInfo, VulnAudit
from auditor.check.vulns.canary import CANARY, CANARY_NAME, CANARY_VERSION, canary_failure
from auditor.check.vulns.osv_local import Advisory, PackageAudit
from auditor.check.vulns.osv_records import parse_version

__all__ = ["DEFAULT_OSV_URL", "PYPI_LOCATION", "audit_with_pip_audit", "pip_audit_version"]

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"  # pip-audit's own default for `-s osv`
PYPI_LOCATION = "https://pypi.org"
_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)  # PEP 508 names
_PASSED_ON = ("PATH", "LANG", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Timeout)\w*: \S")
Pin = tuple[str, Version]  # canonical name, version


class _Failed(Exception):
    """pip-audit as a whole gave no usable answer; the message is the one line of reason."""


def pip_audit_version() -> str | None:
    """The installed pip-audit's version, or None when auditor's environment has none."""
    try:
        return importlib.metadata.version("pip-audit")
    except importlib.metadata.PackageNotFoundError:
        return None


def audit_with_pip_audit(
    packages: Sequence[tuple[str, str]],
    service: Literal["pypi", "osv"],
    osv_url: str | None = None,
    timeout_s: float = 300,
) -> VulnAudit:
    """Audit (name, version) pairs with pip-audit; `osv_url` (an OSV query endpoint) applies to "osv" only."""
    requested = list(packages)
    url = (osv_url or DEFAULT_OSV_URL) if service == "osv" else None
    source = SourceInfo(
        kind="pip-audit-osv" if service == "osv" else "pip-audit-pypi",
        location=clean_url(url) if url else PYPI_LOCATION,
        tool_version=pip_audit_version(),
    )
    if source.tool_version is None:
        return VulnAudit.failed(source, requested, "pip-audit is not installed in auditor's environment")
    unpinnable = {pair: why for pair in requested if (why := _why_not_pinnable(*pair))}
    pins = list(dict.fromkeys(_pin(*pair) for pair in requested if pair not in unpinnable))
    canary = _pin(CANARY_NAME, CANARY_VERSION)
    found: dict[Pin, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    with tempfile.TemporaryDirectory(prefix="auditor-pip-audit-") as temp:
        for number, batch in enumerate(_batches(list(dict.fromkeys([canary, *pins])) if pins else [])):
            try:
                report = _run(batch, service, url, Path(temp), number, deadline, timeout_s)
            except _Failed as failure:
                return VulnAudit.failed(source, requested, str(failure))
            found.update({pin: report[pin[0]] for pin in batch if pin[0] in report})
    if pins and (failed := canary_failure(_package(CANARY_NAME, CANARY_VERSION, found.get(canary)), "pip-audit")):
        return VulnAudit.failed(source, requested, failed)
    source = replace(source, coverage=f"what pip-audit's {service} source knows, checked by the canary {CANARY}")
    results = []
    for name, version in requested:
        if (name, version) in unpinnable:
            results.append(PackageAudit(name, version, "not_audited", (), unpinnable[name, version]))
        else:
            results.append(_package(name, version, found.get(_pin(name, version))))
    return VulnAudit(source=source, packages=tuple(results))


def _why_not_pinnable(name: str, version: str) -> str | None:
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a valid package name, so pip-audit cannot be asked about it"
    if parse_version(version) is None:
        return f"installed version {version!r} is not a PEP 440 version, so pip-audit cannot be asked about it"
    return None


def _pin(name: str, version: str) -> Pin:
    return canonicalize_name(name), Version(version)


def _batches(pins: list[Pin]) -> list[list[Pin]]:
    """Pins split so that no batch names a package twice (pip-audit refuses that); usually one batch."""
    batches: list[list[Pin]] = []
    for pin in pins:
        batch = next((b for b in batches if all(other[0] != pin[0] for other in b)), None)
        if batch is None:
            batches.append(batch := [])
        batch.append(pin)
    return batches


def _run(
    batch: list[Pin], service: str, url: str | None, temp: Path, number: int, deadline: float, timeout_s: float
) -> dict[str, dict[str, Any]]:
    """One pip-audit run over `batch`; its JSON dependencies by canonical name."""
    requirements, report = temp / f"requirements-{number}.txt", temp / f"report-{number}.json"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in batch), encoding="utf-8")
    (temp / "home").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--no-deps", "--disable-pip"]
    command += ["-r", str(requirements), "-o", str(report), "--progress-spinner", "off", "-s", service]
    command += [f"--osv-url={url}"] if url else []
    command += ["--cache-dir", str(temp / "cache"), "--desc", "on", "--aliases", "on"]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            cwd=temp,
            env=_environment(temp / "home"),
            timeout=max(deadline - time.monotonic(), 0.1),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _Failed(f"pip-audit did not finish within {timeout_s:g} s") from None
    except OSError as exc:
        raise _Failed(f"pip-audit could not be started: {exc}") from None
    said = _last_words(done.stderr, url)
    if done.returncode not in (0, 1):
        raise _Failed(f"pip-audit exited with code {done.returncode}: {said}")
    try:
        dependencies = _dependencies(json.loads(report.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise _Failed(f"pip-audit exited with code {done.returncode} and wrote no report: {said}") from None
    except (OSError, ValueError) as exc:
        raise _Failed(f"pip-audit's JSON report is not what was expected ({exc}): {said}") from None
    if (done.returncode == 1) != any(entry.get("vulns") for entry in dependencies.values()):
        raise _Failed(f"pip-audit's exit code {done.returncode} contradicts its report: {said}")
    return dependencies


def _environment(home: Path) -> dict[str, str]:
    """Only what pip-audit needs to reach its endpoint: no PIP_*/PIP_AUDIT_* settings, no user's HOME."""
    names = _PASSED_ON + _PROXIES + tuple(name.lower() for name in _PROXIES)
    env = {name: os.environ[name] for name in names if name in os.environ}
    return {**env, "HOME": str(home)}


def _dependencies(data: object) -> dict[str, dict[str, Any]]:
    """The report's dependencies by canonical name, after checking the shape this module reads."""
    if not isinstance(data, dict) or not isinstance(data.get("dependencies"), list):
        raise ValueError("no 'dependencies' list")
    found: dict[str, dict[str, Any]] = {}
    for entry in data["dependencies"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"a dependency without a name: {entry!r:.100}")
        skipped = isinstance(entry.get("skip_reason"), str)
        if not skipped and not (isinstance(entry.get("version"), str) and isinstance(entry.get("vulns"), list)):
            raise ValueError(f"{entry['name']} has neither a skip_reason nor a version and vulns")
        for vuln in entry.get("vulns") or []:
            usable = isinstance(vuln, dict) and isinstance(vuln.get("id"), str) and _texts(vuln.get("fix_versions"))
            if not usable or not _texts(vuln.get("aliases", [])) or not isinstance(vuln.get("description", ""), str):
                raise ValueError(f"{entry['name']} has a vulnerability not in the expected shape: {vuln!r:.100}")
        found[canonicalize_name(entry["name"])] = entry
    return found


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _package(name: str, version: str, entry: dict[str, Any] | None) -> PackageAudit:
    """One requested package from its report entry; anything short of a plain answer is "not_audited"."""
    if entry is None:
        return PackageAudit(name, version, "not_audited", (), "pip-audit did not report it")
    if "skip_reason" in entry:
        return PackageAudit(name, version, "not_audited", (), f"pip-audit skipped it: {entry['skip_reason']}")
    if parse_version(entry["version"]) != Version(version):
        return PackageAudit(name, version, "not_audited", (), f"pip-audit reported version {entry['version']!r}")
    advisories = tuple(
        Advisory(
            id=vuln["id"],
            aliases=tuple(sorted(vuln.get("aliases", []))),
            summary=None,  # pip-audit's one description is OSV's summary when there is one, else its details
            details=str(vuln.get("description") or ""),
            fixed_versions=tuple(vuln["fix_versions"]),
            severity=(),  # pip-audit's JSON carries no severity
            published=None,
            modified=None,
            references=(),
        )
        for vuln in entry["vulns"]
    )
    return PackageAudit(name, version, "vulnerable" if advisories else "clean", advisories, None)


def _last_words(stderr: str, url: str | None) -> str:
    """The line of stderr that says what went wrong, without credentials: ERROR lines, else the exception."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.split(":", 2)[-1].strip() for line in lines if line.startswith("ERROR:")]
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    said = "; ".join(errors) if errors else exceptions[-1] if exceptions else lines[-1] if lines else "no output"
    if url:
        said = said.replace(url, clean_url(url))
    said = re.sub(r"(?<=://)[^/\s@]+@", "", said)  # user info of any other URL it names
    return mask(said)[0][:500]
