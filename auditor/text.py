"""How untrusted text is shown: one place for escaping, clipping and tables.

Everything auditor reads from a run (names, paths, messages, metadata of another tool) is
untrusted. Terminal views escape control and bidi characters so a hostile value cannot drive
the terminal or reverse the text after it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe(text: object) -> str:
    """Escape control and bidi characters of untrusted text for a terminal."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", str(text)
    )


def command_line(argv: Sequence[str]) -> str:
    return safe(shlex.join(argv))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
