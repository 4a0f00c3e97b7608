"""Masking values under secret names inside JSON text, without re-serialising it.

A param or tag that holds JSON (`{"lr": 0.1,  "api_key": "..."}`) is evidence as the tool
recorded it: key order, spacing and number spelling stay as they were. So the text is scanned
for the spans of values under secret-looking keys, and only those spans are replaced (by the
mask as a JSON string, so the text stays valid JSON). Text that is not valid JSON is returned
unchanged: the name rule cannot find keys in it (token shapes and `NAME=value` pairs are still
masked by the text redactor).
"""

from __future__ import annotations

import json
from collections.abc import Callable

_SPACE = " \t\r\n"
_END = _SPACE + ",]}"


def masked_json_text(text: str, secret: Callable[[str], bool], mask: str) -> str:
    """`text` with every non-empty value under a key `secret` accepts replaced by `mask`."""
    try:
        json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        return mask  # JSON too deep to read: its keys cannot be judged, so nothing of it is kept
    spans: list[tuple[int, int]] = []
    try:
        _Scanner(text, secret, spans).value(_skip(text, 0))
    except (IndexError, ValueError, RecursionError):
        return mask  # JSON too deep to scan here: masked whole, never kept unscanned
    if not spans:
        return text
    quoted = json.dumps(mask)
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], quoted]
        at = end
    out.append(text[at:])
    return "".join(out)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at


class _Scanner:
    """Walks valid JSON (json.loads accepted it) and notes the spans to mask, in order."""

    def __init__(self, text: str, secret: Callable[[str], bool], spans: list[tuple[int, int]]) -> None:
        self.text, self.secret, self.spans = text, secret, spans

    def value(self, at: int) -> int:
        """Scan the value starting at `at`; return the index just past it."""
        first = self.text[at]
        if first == "{":
            return self._object(at)
        if first == "[":
            return self._array(at)
        if first == '"':
            return self._string(at)
        end = at
        while end < len(self.text) and self.text[end] not in _END:
            end += 1
        return end

    def _string(self, at: int) -> int:
        end = at + 1
        while self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        return end + 1

    def _array(self, at: int) -> int:
        at = _skip(self.text, at + 1)
        while self.text[at] != "]":
            at = _skip(self.text, self.value(at))
            if self.text[at] == ",":
                at = _skip(self.text, at + 1)
        return at + 1

    def _object(self, at: int) -> int:
        at = _skip(self.text, at + 1)
        while self.text[at] != "}":
            key_end = self._string(at)
            key = json.loads(self.text[at:key_end])
            at = _skip(self.text, key_end)
            if self.text[at] != ":":
                raise ValueError("expected ':'")
            start = _skip(self.text, at + 1)
            inner = len(self.spans)
            end = self.value(start)
            if self.secret(key) and json.loads(self.text[start:end]) not in (None, ""):
                del self.spans[inner:]  # the whole value is masked, nested secrets with it
                self.spans.append((start, end))
            at = _skip(self.text, end)
            if self.text[at] == ",":
                at = _skip(self.text, at + 1)
        return at + 1
