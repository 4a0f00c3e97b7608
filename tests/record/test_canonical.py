"""The fast canonical encoder writes exactly what json.dumps(sort_keys, indent=2, ensure_ascii=False) wrote:
the store hashes these bytes, so one differing byte would make every record written since unverifiable."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.record import dump_record
from auditor.record.canonical import canonical_text
from tests.factories import make_record
from tests.record.old_records import full_record


def reference(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)


TEXT = st.text(alphabet=st.characters(codec=None), max_size=12)  # surrogates, controls, astral, NUL
SCALAR = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40) | TEXT
FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e16, 1e-05, -0.0, 1e308, 5e-324, 0.1])
VALUES = st.recursive(
    SCALAR | FLOAT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_same_text_as_json_dumps_on_any_json_value(data: Any) -> None:
    assert canonical_text(data) == reference(data)


# Lists of objects whose values are scalars or lists of scalars (a run's observed files and their
# verdicts), written with placeholders for the inner lists: strings that look like a placeholder too.
PLACEHOLDER_LIKE = st.sampled_from(
    ["\x00canonical list 0\x00", "\x00canonical list 1\x00", 'a"\x00canonical list 0\x00']
)
INNER = st.lists(SCALAR | FLOAT | PLACEHOLDER_LIKE, max_size=3) | st.tuples(st.sampled_from([1, 1.0, True]))
RECORDS = st.lists(st.dictionaries(TEXT | PLACEHOLDER_LIKE, SCALAR | PLACEHOLDER_LIKE | INNER, max_size=4), max_size=6)


@settings(max_examples=400, deadline=None)
@given(RECORDS, st.integers(min_value=0, max_value=3))
def test_same_text_on_lists_of_objects_with_inner_lists(items: list[dict[str, Any]], depth: int) -> None:
    data: Any = items
    for _ in range(depth):
        data = {"x": data}
    assert canonical_text(data) == reference(data)


def test_same_text_on_hand_picked_edges() -> None:
    cases: list[Any] = [
        {},
        [],
        {"a": {}, "b": [], "c": [[]], "d": [{}], "e": {"f": []}},
        {"ü": "naïve 日本 🎉", "\x00": "\x1f\x7f\u2028", "q": 'say "hi"\\'},
        {"lone": "\ud800 and \udcff", "\udc80": 1},
        {"floats": [1e16, 1e-05, 1.0, -0.0, 123456789.123456789, float("nan"), float("inf")]},
        {"big": 10**30, "neg": -(10**20), "t": True, "f": False, "n": None},
        {"mixed": [1, "a", {"k": [1, 2, {"deep": ["x"]}]}, [[], [1]], None]},
        {"files": [{"path": f"d/{i}", "sha256": "ab" * 32, "size": i} for i in range(50)]},
        {"observed": [{"path": f"d/{i}", "read": True, "verdicts": ["declared_read"] * (i % 3)} for i in range(20)]},
        [{"a": [1, 1.0, True]}, {"a": (True,)}, {"a": [1]}, {"a": []}, {"b": "\x00canonical list 0\x00"}],
        [{"a": [0.0], "p": "x"}, {"a": [-0.0], "p": "y"}],  # equal, but not written alike
        [{"a": (-0.0,)}, {"a": [0.0]}, {"a": [float("nan")]}, {"a": [float("nan")]}],
        {1: "int key", 2: {"x": [1]}},
        {"b": {1.5: 3, 2.5: [4]}, "c": {True: 1}},
        "top-level string",
        3.5,
        None,
    ]
    for data in cases:
        assert canonical_text(data) == reference(data), data


def test_a_string_like_a_placeholder_sends_the_list_the_slow_way() -> None:
    """The placeholders are counted, so a string that holds one is never replaced by a list's text."""
    from auditor.record.canonical import _nested_records

    out: list[str] = []
    assert not _nested_records([{"a": [1]}, {"b": "\x00canonical list 0\x00"}], 0, out)
    assert not out
    assert _nested_records([{"a": [1]}, {"b": "x"}], 0, out)


def test_dump_record_bytes_unchanged_for_real_records() -> None:
    for record in (make_record(), full_record()):
        data = record.model_dump(mode="json")
        assert canonical_text(data) == reference(data)
        assert dump_record(record) == (reference(data) + "\n").encode()
