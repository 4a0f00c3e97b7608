"""Small, pure formatting helpers shared by the dossier builders."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from auditor.record import Missing
from auditor.text import not_captured

LINK_SCHEMES = frozenset({"https", "http"})


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def missing(section: Missing | None) -> str:
    return not_captured(section.reason if section is not None else None)


def bytes_text(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def safe_link(url: str | None) -> str | None:
    """A URL fit for an href: http(s) only, a host, no credentials, no control characters or quotes.

    Anything else is shown as text, never linked; `javascript:`, `data:` and `file:` never become links."""
    if not url or len(url) > 2000 or any(ord(c) < 0x21 or c in "\"'<>`\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname or parts.username or parts.password:
        return None
    return url


def unrecorded(tool: str | None) -> str:
    """The words for a value an ingested run's source tool did not record (never "None")."""
    return f"not recorded by {tool}" if tool else "not recorded"
