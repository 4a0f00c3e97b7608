"""Property-based fuzzing of the inert model-file reader (Hypothesis).

The property: any mutation of a real scikit-learn model file (pickle protocols 2 and 5, joblib plain
and zlib-compressed) gives an InspectedModel or a ModelFileError ("could not read the model file:
why"), never another exception and never a hang; and nothing the mutated file names runs."""

from __future__ import annotations

import io
import pickle
from functools import cache

import joblib
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from auditor.capture.model.inspect import inspect_model
from auditor.capture.model.unpickle import ModelFileError
from auditor.record.model_card import InspectedModel
from tests.fuzz.mutate import budget, deadline


@cache
def _files() -> tuple[bytes, ...]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.arange(60, dtype=np.float64).reshape(30, 2)
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(x, np.arange(30) % 2)
    out = []
    for compress in (0, 3):
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=compress)
        out.append(buffer.getvalue())
    return (pickle.dumps(model, protocol=2), pickle.dumps(model, protocol=5), *out)


FILES = _files()  # made once, before any strategy draws (fitting touches global random state)


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "opcode"]))
        at = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 32))]
        else:  # a pickle opcode that calls, builds or looks things up, where one did not stand
            data[at:at] = draw(st.sampled_from([b"R", b"b", b"\x81", b"\x92", b"c", b"\x93", b"o", b"i", b"\x82"]))
    return bytes(data)


@budget(300)
@given(data=mutated_file())
def test_a_mutated_model_file_is_read_or_refused_with_a_reason(data: bytes) -> None:
    with deadline():
        try:
            result = inspect_model(data, "model.bin")
        except ModelFileError as exc:
            assert str(exc).startswith("could not read the model file: ") and exc.why
            return
    assert isinstance(result, InspectedModel)
