"""Operating system and timezone of the machine the command runs on."""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping
from pathlib import Path

from auditor.record.models import Missing, OsInfo, TimezoneInfo

OS_RELEASE_PATHS = (Path("/etc/os-release"), Path("/usr/lib/os-release"))


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5): KEY=value lines, values optionally quoted."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key.strip()] = value
    return out


def collect_os(libc: str | None = None) -> OsInfo | Missing:
    release: dict[str, str] = {}
    for path in OS_RELEASE_PATHS:
        try:
            release = parse_os_release(path.read_text(encoding="utf-8", errors="replace"))
            break
        except OSError:
            continue
    if libc is None:
        libc = " ".join(platform.libc_ver()).strip() or None
    uname = platform.uname()
    return OsInfo(
        system=uname.system,
        distribution_id=release.get("ID"),
        distribution_version=release.get("VERSION_ID"),
        pretty_name=release.get("PRETTY_NAME"),
        kernel=uname.release,
        architecture=uname.machine,
        libc=libc,
    )


def collect_timezone(env: Mapping[str, str]) -> TimezoneInfo | Missing:
    name = env.get("TZ") or _system_zone()
    return TimezoneInfo(name=name, utc_offset=time.strftime("%z"))


def _system_zone() -> str | None:
    try:
        target = str(Path("/etc/localtime").readlink())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    try:
        return Path("/etc/timezone").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
