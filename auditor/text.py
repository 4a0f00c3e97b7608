"""How untrusted text and absent values are shown: one place for escaping, clipping and wording.

Everything auditor reads from a run (names, paths, messages, another tool's metadata) is
untrusted. One set of characters is unsafe to show as it is, whatever the medium:

- control characters (C0, DEL, C1), which drive terminals and are invalid in XML and PDF strings;
- lone surrogates (undecodable bytes), which cannot be encoded at all;
- format characters (Unicode category Cf): the bidi controls that reverse the text after them
  (U+202E), zero-width spaces and joiners, the soft hyphen, tags: invisible, so a value can hide
  text or look like another value;
- the line and paragraph separators (U+2028, U+2029), which end a line where a reader does not
  expect one.

Each medium makes them harmless in its own way, but over the same set: a terminal shows an escape
(`\\x1b`, `\\u202e`), a document (HTML, PDF, SVG) shows the replacement character, and a one-line
label drops them.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

# Unicode category Cf as of Unicode 15.1 (a test checks it covers this interpreter's database).
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_CONTROL = "\x00-\x1f\x7f-\x9f"
_SEPARATORS = "\u2028\u2029"
_SURROGATES = "\ud800-\udfff"
UNSAFE = re.compile(f"[{_CONTROL}{_FORMAT}{_SEPARATORS}{_SURROGATES}]")
# Documents keep tabs and line breaks of multi-line text (logs, SQL); everything else unsafe goes.
_UNSAFE_IN_DOCUMENTS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}{_SEPARATORS}{_SURROGATES}]")
REPLACEMENT = "\ufffd"
ELLIPSIS = "\u2026"

# How an absent value is written, everywhere a person reads it (never Python's `None`).
NOT_APPLICABLE = "n/a"  # the value cannot exist: the rate of an empty group, a run that has no exit code yet
UNKNOWN = "unknown"  # the value exists but was not recorded


def safe(text: object) -> str:
    """For a terminal: every unsafe character shown as an escape, so it is visible and inert."""
    return UNSAFE.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def scrub(text: str) -> str:
    """For a document (HTML, PDF, SVG): unsafe characters become U+FFFD; tabs and line breaks stay."""
    return _UNSAFE_IN_DOCUMENTS.sub(REPLACEMENT, text)


_LONE_SURROGATE = re.compile(f"[{_SURROGATES}]")


def json_text(text: str) -> str:
    """For JSON: every lone surrogate becomes U+FFFD. A lone surrogate is not a Unicode scalar value;
    Python's json writes it as a `\\udXXX` escape that strict parsers (GitHub's SARIF upload,
    `model_validate_json`) refuse. Valid Python str input only (a pair is one character there)."""
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


def json_value(value: Any) -> Any:
    """A copy of JSON-shaped data that any strict JSON parser accepts: lone surrogates in keys and
    strings as `json_text` makes them, and non-finite floats (NaN, ±inf, which `json.dumps` writes
    as bare `NaN`) as null, as pydantic's own `model_dump_json` does."""
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {json_text(str(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def one_line(value: object, limit: int, *, middle: bool = False) -> str:
    """A label: unsafe characters dropped (line breaks become spaces), whitespace collapsed, cut to `limit`."""
    text = str(value)
    if len(text) > 8 * limit:  # a 10 MB name costs no more than a short one
        text = text[: 4 * limit] + " " + text[-4 * limit :]
    return clip(" ".join(UNSAFE.sub(_space_or_nothing, text).split()), limit, middle=middle)


def _space_or_nothing(match: re.Match[str]) -> str:
    return " " if match.group().isspace() else ""


def clip(text: str, width: int, *, middle: bool = False) -> str:
    """At most `width` characters: cut with an ellipsis at the end, or in the middle (paths, whose
    file name at the end matters most: two thirds of what is kept is the end)."""
    if len(text) <= width:
        return text
    if not middle:
        return text[: width - 1] + ELLIPSIS
    head = (width - 1) // 3
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head) :]


def or_unknown(value: object) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def plain_value(value: object) -> str:
    """A JSON-shaped value (evidence, a param) as a reader expects it, never as Python writes it:
    no `None`, `True`, `['a']` or `{'k': 1}`."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value) or "none"
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def run_outcome(status: str, exit_code: int | None) -> str:
    """`failed, exit 1`; `interrupted, no exit code` (never `exit None`)."""
    return f"{status}, " + ("no exit code" if exit_code is None else f"exit {exit_code}")


def param_text(value: object) -> str:
    """A logged param as the record holds it, in JSON's words: text verbatim, `null`, `true`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rate(value: float | None) -> str:
    """A proportion or a metric, three decimals; n/a when it cannot be computed."""
    return NOT_APPLICABLE if value is None else f"{value:.3f}"


def not_captured(reason: str | None) -> str:
    """The words for a part of the record that is `Missing`, with its reason (never "not captured: not ...")."""
    if not reason:
        return "not captured"
    return reason if reason.startswith("not captured") else f"not captured: {reason}"


def count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def command_line(argv: Sequence[str]) -> str:
    return safe(shlex.join(argv))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
