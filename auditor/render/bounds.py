"""What a view shows of a record too large to show whole, and the note that says so.

A record is untrusted and has no size limit of its own below the reader's cap: a project name
of 100 MB, a million params. Shown whole, `show` prints 100 MB to the terminal and WeasyPrint
lays out a million-row table for minutes in gigabytes. So every view shows at most a fixed number
of rows of a list and characters of a value, and says in words what it left out ("1,000,000
params, first 500 shown"), so that the cut is visible, never silent. The full record is what is
checked and what the dossier's digest pins; only the display is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from auditor.text import ELLIPSIS, safe

T = TypeVar("T")

MAX_ROWS = 500  # rows of one list in a view: params, metrics, findings of one rule
MAX_PACKAGES = 2_000  # installed packages (a large environment has a few hundred)
MAX_TERMINAL_CHARS = 1_000  # one value on the terminal
MAX_DOCUMENT_CHARS = 10_000  # one value in the dossier (a log line, an ingested step's SQL)


def first(items: Sequence[T], noun: str, limit: int = MAX_ROWS) -> tuple[tuple[T, ...], str | None]:
    """At most `limit` items, and the note that says how many there were (None when all are shown)."""
    if len(items) <= limit:
        return tuple(items), None
    return tuple(items[:limit]), f"{len(items):,} {noun}, first {limit:,} shown"


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and a note saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{ELLIPSIS} [{len(text):,} characters, first {limit:,} shown]"


def bounded(value: object, limit: int = MAX_TERMINAL_CHARS) -> str:
    """An untrusted value for the terminal: cut to `limit` characters (with the note), then escaped."""
    return safe(cut(str(value), limit))
