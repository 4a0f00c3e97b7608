"""The record's canonical JSON text, at the speed of the standard library's C encoder.

The canonical form is `json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)`; the
store hashes those bytes, so they may never change. On Python < 3.14 an `indent` makes json
fall back to its pure-Python encoder: about 1.4 s for a record that lists 20,000 files. Here
Python walks only the containers that hold other containers; a container of scalars alone
(a file's {path, sha256, size}, a list of strings) goes to the C encoder in one call, with
separators that carry the newline and indentation of its depth. Strings and numbers are
therefore written by the same functions as before (the C encoder's string escaping and
`float.__repr__`), and tests/record/test_canonical.py compares the two on varied records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

INDENT = "  "
_SCALARS = (str, int, float, bool, type(None))
_Encode = Callable[[Any], str]


def canonical_text(data: Any) -> str:
    """`json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)`, the same text, faster."""
    if c_make_encoder is None:  # a Python built without _json: its encoder is the reference itself
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)
    out: list[str] = []
    _write(data, 0, out)
    return "".join(out)


@lru_cache(maxsize=64)
def _c_encoder(item_separator: str) -> _Encode:
    """The C encoder json.dumps uses without an indent, with these separators; built once."""
    encode = c_make_encoder(None, _no_default, encode_basestring, None, ": ", item_separator, True, False, True)
    return lambda value: "".join(encode(value, 0))


def _no_default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _flat(depth: int) -> _Encode:
    """Encodes a container of scalars at `depth`, its items each on its own line."""
    return _c_encoder(",\n" + INDENT * (depth + 1))


def _scalar(value: Any) -> str:
    return _c_encoder(", ")(value)


def _write(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        if _is_flat(value):
            _flat_container(value, depth, out, "{", "}")
            return
        inner = "\n" + INDENT * (depth + 1)
        out.append("{")
        first = True
        for key, item in sorted(value.items()):  # keys from a record's JSON form are strings
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(key if type(key) is str else _key(key)))
            out.append(": ")
            _write(item, depth + 1, out)
        out.append("\n" + INDENT * depth + "}")
        return
    if isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        if all(isinstance(item, _SCALARS) for item in value):
            _flat_container(value, depth, out, "[", "]")
            return
        if _all_flat_objects(value):
            _flat_records(value, depth, out)
            return
        if _nested_records(value, depth, out):
            return
        inner = "\n" + INDENT * (depth + 1)
        out.append("[")
        first = True
        for item in value:
            out.append(inner if first else "," + inner)
            first = False
            _write(item, depth + 1, out)
        out.append("\n" + INDENT * depth + "]")
        return
    out.append(_scalar(value))


def _flat_container(value: Any, depth: int, out: list[str], opening: str, closing: str) -> None:
    """`{"a": 1,\\n  "b": 2}` from the C encoder, its first and last line broken as json's indent does."""
    text = _flat(depth)(value)
    out.append(opening + "\n" + INDENT * (depth + 1))
    out.append(text[1:-1])
    out.append("\n" + INDENT * depth + closing)


def _is_flat(value: dict[Any, Any]) -> bool:
    return all(isinstance(item, _SCALARS) for item in value.values()) and all(type(k) is str for k in value)


_SCALAR_TYPES = frozenset(_SCALARS)


def _all_flat_objects(value: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every item is a non-empty object of scalars under string keys; tested by C loops
    (map, set), since a record's file list has tens of thousands of items."""
    if set(map(type, value)) != {dict} or not all(value):
        return False
    keys = set(map(type, chain.from_iterable(value)))
    values = set(map(type, chain.from_iterable(map(dict.values, value))))
    return keys == {str} and values <= _SCALAR_TYPES


def _flat_records(value: list[Any] | tuple[Any, ...], depth: int, out: list[str]) -> None:
    """A list of non-empty flat objects (a folder's files) in one C call, then indented by replacing.

    With ",\\n" as the only separator, every raw newline in the text is one (an encoded string has
    none), and "},\\n{" only ever stands between two objects: inside one, a separator follows a
    scalar (a string ends with a quote, a number, true, false, null or NaN with no brace) and comes
    before a key (which starts with a quote)."""
    outer, inner = "\n" + INDENT * (depth + 1), "\n" + INDENT * (depth + 2)
    text = _c_encoder(",\n")(value)[1:-1].replace("\n", inner)
    text = text.replace("}," + inner + "{", outer + "}," + outer + "{" + inner)
    out.append("[" + outer + "{" + inner)
    out.append(text[1:-1])
    out.append(outer + "}" + "\n" + INDENT * depth + "]")


def _nested_records(value: list[Any] | tuple[Any, ...], depth: int, out: list[str]) -> bool:
    """A list of non-empty objects whose values are scalars or lists of scalars (the files a run
    touched, each with its verdicts): written as _flat_records writes flat ones, each inner list
    first replaced by a placeholder string, then the placeholder by the list's own text (written
    once per distinct list, at its depth). False, with nothing written, for any other list, or
    when a placeholder's text turns up more often than it was put in (a string that holds it)."""
    placeholders: dict[tuple[tuple[type, Any], ...], str] = {}  # an inner list, typed items -> its placeholder
    lists: dict[str, Any] = {}
    uses: dict[str, int] = {}
    flat: list[dict[str, Any]] = []
    scalar = _SCALAR_TYPES
    for item in value:
        if type(item) is not dict or not item:
            return False
        copy: dict[str, Any] = {}
        for key, inner in item.items():
            if type(key) is not str:
                return False
            kind = type(inner)
            if kind in scalar:
                copy[key] = inner
                continue
            if kind is not list and kind is not tuple:
                return False
            # 1, 1.0 and True are equal but not written alike, nor are 0.0 and -0.0: a float by its text
            typed = tuple((type(x), repr(x) if type(x) is float else x) for x in inner)
            if not all(t in scalar for t, _ in typed):
                return False
            if (placeholder := placeholders.get(typed)) is None:
                placeholder = placeholders[typed] = f"\x00canonical list {len(placeholders)}\x00"
                lists[placeholder], uses[placeholder] = inner, 0
            uses[placeholder] += 1
            copy[key] = placeholder
        flat.append(copy)
    if not placeholders:
        return False
    written: list[str] = []
    _flat_records(flat, depth, written)
    text = "".join(written)
    for placeholder, inner in lists.items():
        encoded = encode_basestring(placeholder)
        if text.count(encoded) != uses[placeholder]:
            return False
        part: list[str] = []
        _write(inner, depth + 2, part)
        text = text.replace(encoded, "".join(part))
    out.append(text)
    return True


def _key(key: Any) -> str:
    """A non-string key as json writes it (true, 1.5, null): never in a record's JSON form."""
    if isinstance(key, bool | int | float) or key is None:
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
