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
        {1: "int key", 2: {"x": [1]}},
        {"b": {1.5: 3, 2.5: [4]}, "c": {True: 1}},
        "top-level string",
        3.5,
        None,
    ]
    for data in cases:
        assert canonical_text(data) == reference(data), data


def test_dump_record_bytes_unchanged_for_real_records() -> None:
    for record in (make_record(), full_record()):
        data = record.model_dump(mode="json")
        assert canonical_text(data) == reference(data)
        assert dump_record(record) == (reference(data) + "\n").encode()
