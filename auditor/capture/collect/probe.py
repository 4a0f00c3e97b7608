"""Stand-alone probe run by the interpreter that runs the command (not auditor's own).

It must work in any Python >= 3.8 with only the standard library, because it also
runs inside containers and foreign virtual environments. It writes one JSON
document to the path given as its first argument and never imports auditor.
Keep it free of newer syntax: it is sent to the target interpreter as source.
"""

import itertools
import json
import locale
import os
import platform
import sys
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple


def _distributions(
    path: Optional[List[str]] = None, finders: Optional[List[Any]] = None
) -> Tuple[Optional[List[Dict[str, Any]]], Optional[str]]:
    """The distributions on sys.path, as importlib.metadata finds them; or on `path`, found by
    `finders` (the find_distributions of a sys.meta_path): how auditor reads them in its own
    process when the command's interpreter is its own (probe_runner.py)."""
    # REQUESTED is written only by installers that write INSTALLER (PEP 376 / 610),
    # so without INSTALLER "not requested" cannot be told from "unknown".
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return None, "importlib.metadata is not available in Python %s" % platform.python_version()
    found: Iterable[Any]
    if path is None or finders is None:
        found = metadata.distributions()
    else:
        context = metadata.DistributionFinder.Context(path=path)
        found = itertools.chain.from_iterable(find(context) for find in finders)
    seen: Set[str] = set()
    out: List[Dict[str, Any]] = []
    for dist in found:
        name, version = _name_and_version(dist)
        key = name.lower().replace("_", "-").replace(".", "-")
        path = getattr(dist, "_path", None)
        location = str(path.parent) if path is not None else ""
        installer = (dist.read_text("INSTALLER") or "").strip() or None
        direct_url = None
        raw = dist.read_text("direct_url.json")
        if raw:
            try:
                direct_url = json.loads(raw)
            except ValueError:
                direct_url = {"invalid": True}
        out.append(
            {
                "name": name,
                "version": version,
                "installer": installer,
                "requested": (dist.read_text("REQUESTED") is not None) if installer else None,
                "direct_url": direct_url,
                "location": location,
                "shadowed": key in seen,
            }
        )
        seen.add(key)
    return out, None


def _name_and_version(dist: Any) -> Tuple[str, str]:
    """Name and Version from the metadata headers alone: parsing whole METADATA files
    with the email parser, as `dist.metadata` does, costs ~1 ms per distribution."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in found:
            found[key] = value.strip()
    if "Name" in found and "Version" in found:
        return found["Name"], found["Version"]
    return dist.metadata["Name"] or "", dist.version


def locale_facts() -> Dict[str, Any]:
    try:
        current = locale.setlocale(locale.LC_CTYPE, "")
    except locale.Error:
        current = None
    return {
        "locale": current,
        "preferred_encoding": locale.getpreferredencoding(False),
        "filesystem_encoding": sys.getfilesystemencoding(),
    }


SYSTEM_FILES = {
    "os_release": ("/etc/os-release", "/usr/lib/os-release"),
    "dpkg": ("/var/lib/dpkg/status",),
    "apk": ("/lib/apk/db/installed",),
}
RPM_DATABASES = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
MAX_SYSTEM_FILE = 32 * 1024 * 1024


def _system() -> Dict[str, Any]:
    """OS release and package database of an image (asked for with --system in containers)."""
    out: Dict[str, Any] = {}
    for key, paths in SYSTEM_FILES.items():
        out[key] = None
        for path in paths:
            try:
                with open(path, "rb") as handle:
                    out[key] = handle.read(MAX_SYSTEM_FILE).decode("utf-8", "replace")
                break
            except OSError:
                continue
    out["rpm"] = None
    if out["dpkg"] is None and out["apk"] is None and any(os.path.isdir(p) for p in RPM_DATABASES):
        import subprocess

        try:
            done = subprocess.run(
                ["rpm", "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=60,
            )
            out["rpm"] = done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
            out["rpm_error"] = None if done.returncode == 0 else done.stderr.decode("utf-8", "replace")[:300]
        except (OSError, subprocess.SubprocessError) as exc:
            out["rpm_error"] = "rpm could not be run: %s" % exc
    return out


def facts(
    executable: str,
    path: List[str],
    locale_info: Dict[str, Any],
    finders: Optional[List[Any]] = None,
) -> Dict[str, Any]:
    """What the probe reports: the interpreter at `executable` with `path` as its sys.path (this
    one's, unless auditor reads the facts of its own interpreter in its own process)."""
    distributions, why = _distributions(path, finders)
    base_prefix = getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix))
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": executable,
            "prefix": sys.prefix,
            "base_prefix": base_prefix,
            "is_virtualenv": sys.prefix != base_prefix,
            "sys_path": [p for p in path if p],
        },
        "distributions": distributions,
        "distributions_missing": why,
        "locale": locale_info,
        "libc": " ".join(platform.libc_ver()).strip() or None,  # this interpreter's C library
    }


def main() -> None:
    result = facts(sys.executable, sys.path, locale_facts())
    if "--system" in sys.argv[2:]:
        result["system"] = _system()
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(result, handle)
    os.replace(tmp, sys.argv[1])


if __name__ == "__main__":
    main()
