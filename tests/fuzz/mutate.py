"""Hypothesis strategies for hostile inputs: structurally plausible mutations of valid ones.

A mutation keeps most of a valid document so the reader gets past its first checks, then breaks
one to three places: a value of the wrong type, a huge or deep one, odd unicode, a key removed or
added; the text may then be truncated, a key written twice, YAML anchors and aliases added.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from auditor.errors import EXIT_USAGE, AuditorError

T = TypeVar("T")

# In the suite a few hundred cases per target (the whole module well under a minute here);
# HYPOTHESIS_PROFILE=long runs twenty times as many, with fresh randomness, to hunt.
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SCALE = 20 if LONG else 1
PER_EXAMPLE_SECONDS = 20.0  # a case that takes longer is a hang: fail it, never wait


def budget(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,  # timings vary with the machine's load; PER_EXAMPLE_SECONDS catches real hangs
        derandomize=not LONG,  # the suite is reproducible; the long run explores
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
        print_blob=True,
    )


class Hang(Exception):
    """A case ran longer than PER_EXAMPLE_SECONDS."""


@contextmanager
def deadline(seconds: float = PER_EXAMPLE_SECONDS) -> Iterator[None]:
    def stop(_signum: int, _frame: object) -> None:
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(call: Callable[[], T]) -> T | AuditorError:
    """The result of `call`, or the AuditorError it raised, which must be a usage error (exit 2)
    with a one-line message; any other exception propagates and fails the case."""
    with deadline():
        try:
            return call()
        except AuditorError as exc:
            assert exc.exit_code == EXIT_USAGE, f"exit {exc.exit_code}: {exc.message}"
            assert exc.message.strip(), "an empty message"
            return exc


ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x1b[31mred\x1b[0m",
        "\u202egnp.exe",
        "\ud800",
        "\U0001f600" * 3,
        "a\nb",
        "../../etc/passwd",
        "${HOME}",
        "*",
        "x" * 100_000,
        "1e999",
        "NaN",
        "-0",
        "2026-13-45",
        "true",
        "null",
        "~",
        "0x1F",
        "\t",
        "é" * 50,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    ODD_TEXT,
    st.sampled_from([0, -1, 1, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0]),
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


VALUES = st.one_of(
    SCALARS,
    st.recursive(
        SCALARS,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6) | ODD_TEXT, kids, max_size=4),
        max_leaves=8,
    ),
    st.integers(min_value=30, max_value=400).map(_nested),  # deeper still comes from text_mutations' "nest"
    st.integers(min_value=1000, max_value=30_000).map(lambda n: list(range(n))),  # long, still under the caps
)


def _paths(node: Any, limit: int = 2000) -> list[tuple[Any, ...]]:
    """Where a mutation may go: every node down to depth 40, at most `limit` of them (no recursion:
    a value from an earlier mutation may be nested hundreds deep)."""
    found: list[tuple[Any, ...]] = []
    pending: list[tuple[tuple[Any, ...], Any]] = [((), node)]
    while pending and len(found) < limit:
        here, value = pending.pop(0)
        found.append(here)
        if len(here) >= 40:
            continue
        if isinstance(value, dict):
            pending += [((*here, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            pending += [((*here, index), item) for index, item in enumerate(value[:50])]
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, original: Any, max_changes: int = 3) -> Any:
    """`original` (plain data) with one to `max_changes` places broken."""
    data = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(min_value=1, max_value=max_changes))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.booleans()):
                data = draw(VALUES)
            continue
        parent, last = _get(data, path[:-1]), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "wrap", "stringify"]))
        if action == "replace":
            parent[last] = draw(VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8) | ODD_TEXT)] = draw(VALUES)
        elif action == "add":
            parent.insert(last, draw(VALUES))
        elif action == "wrap":
            parent[last] = [parent[last]] if draw(st.booleans()) else {"value": parent[last]}
        else:
            parent[last] = str(parent[last])
    return data


def to_json(data: Any) -> str:
    """Python's json: it writes NaN and Infinity, which JSON has not (the loader must refuse them)."""
    return json.dumps(data, allow_nan=True)


@st.composite
def json_text(draw: st.DrawFn, original: Any) -> bytes:
    text = to_json(draw(mutated(original)))
    return draw(text_mutations(text, "json")).encode("utf-8", "surrogatepass")


def yaml_dump(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def yaml_text(draw: st.DrawFn, original: Any) -> str:
    data = draw(mutated(original)) if draw(st.integers(0, 4)) else original  # a fifth: text mutations only
    try:
        text = yaml_dump(data)
    except Exception:
        text = to_json(data)
    return draw(text_mutations(text, "yaml"))


@st.composite
def text_mutations(draw: st.DrawFn, text: str, kind: str) -> str:
    """Changes no data model can make: truncation, a key twice, aliases, bytes that are not text."""
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        action = draw(st.sampled_from(["none", "truncate", "duplicate", "insert", "alias", "nest", "bom"]))
        if action == "truncate" and text:
            text = text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
        elif action == "duplicate":
            keys = re.findall(r'"([A-Za-z_]+)": ' if kind == "json" else r"^(\s*)([A-Za-z_]+):", text, re.M)
            if keys:
                if kind == "json":
                    key = draw(st.sampled_from(keys))
                    text = text.replace(f'"{key}": ', f'"{key}": {to_json(draw(SCALARS))}, "{key}": ', 1)
                else:
                    lines = text.splitlines(keepends=True)
                    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
                    text = "".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
        elif action == "insert" and text:
            at = draw(st.integers(min_value=0, max_value=len(text)))
            text = text[:at] + draw(st.text(max_size=5) | ODD_TEXT) + text[at:]
        elif action == "alias" and kind == "yaml":
            text = "x: &a [1, 2]\ny: *a\n" + text if draw(st.booleans()) else text.replace(": ", ": &n ", 1) + "z: *n\n"
        elif action == "nest":
            depth = draw(st.integers(min_value=10, max_value=5000))
            text = text.replace(": ", ": " + "[" * depth + "1" + "]" * depth + " #", 1) if kind == "yaml" else text
            if kind == "json":
                text = "[" * depth + text + "]" * depth
        elif action == "bom":
            text = "\ufeff" + text
    return text
