"""Where `auditor advisories update` installs databases, and which one is in use: all `check` needs to
find the default database, without the download and archive code (updates.py) and what it imports."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.errors import UsageError

POINTER = "CURRENT"  # names the database folder in use; replaced by a rename
FOLDER_NAME = re.compile(r"db-\d{8}T\d{6}Z-[0-9a-f]{8}")


def advisories_home(env: dict[str, str]) -> Path:
    """$AUDITOR_ADVISORIES_DIR, else advisories/ in $AUDITOR_CACHE_DIR, $XDG_CACHE_HOME/auditor or ~/.cache/auditor."""
    if env.get("AUDITOR_ADVISORIES_DIR"):
        return Path(env["AUDITOR_ADVISORIES_DIR"])
    if env.get("AUDITOR_CACHE_DIR"):
        return Path(env["AUDITOR_CACHE_DIR"]) / "advisories"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) / "auditor" if xdg and Path(xdg).is_absolute() else Path.home() / ".cache" / "auditor"
    return base / "advisories"


def installed_folder(home: Path) -> Path | None:
    """The folder CURRENT names, or None when nothing was installed. A damaged pointer is an error,
    never "nothing installed": check would otherwise quietly ask another source."""
    try:
        name = (home / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{home / POINTER}: cannot be read ({exc}); run `auditor advisories update`") from None
    if not FOLDER_NAME.fullmatch(name):
        raise UsageError(f"{home / POINTER}: does not name a database folder; run `auditor advisories update`")
    return home / name
