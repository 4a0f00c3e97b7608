"""Fuzzing the profiler of declared tabular data (a reader of untrusted files, like those in
test_fuzz_readers.py): a mutated CSV or Parquet file gives a profile or "could not profile",
never an exception, never a hang, and always a profile the record can hold (finite numbers)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from auditor.capture.profile import Roles, profile_file
from auditor.record.profile import DataProfile, TableProfile, UnprofiledFile
from tests.fuzz.mutate import ODD_TEXT, budget, deadline

ROLES = Roles(label="label", sensitive=("sex", "age"), favourable="1")
CSV = (
    "age,sex,label,income,when,note\n"
    + "".join(
        f"{20 + i % 50},{'female' if i % 3 else 'male'},{i % 2},{1000.5 + i * 7.25},2024-01-{1 + i % 28:02},n{i % 4}\n"
        for i in range(60)
    )
).encode()


def _parquet() -> bytes:
    table = pa.table(
        {
            "age": [20 + i % 50 for i in range(60)],
            "sex": ["female" if i % 3 else "male" for i in range(60)],
            "label": [i % 2 for i in range(60)],
            "income": [1000.5 + i for i in range(60)],
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=20)
    return out.getvalue()


PARQUET = _parquet()


@st.composite
def mutated_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["flip", "insert", "truncate", "repeat", "delete"]))
        at = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if action == "flip" and data:
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif action == "insert":
            text = draw(ODD_TEXT | st.sampled_from([",", '"', "\n", "\r", ",,,,", '"a\nb"', "\t"]))
            data[at:at] = text.encode("utf-8", "surrogatepass")[:4096]
        elif action == "truncate":
            del data[at:]
        elif action == "repeat":
            data[at:at] = bytes(data[at : at + 64]) * draw(st.integers(min_value=1, max_value=50))
        elif action == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=30))]
    return bytes(data)


def _profiled(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="auditor-fuzz-") as folder:
        path = Path(folder, name)
        path.write_bytes(data)
        with deadline():
            result = profile_file(path, name, ROLES)
    assert isinstance(result, TableProfile | UnprofiledFile)
    if isinstance(result, UnprofiledFile):
        assert result.reason.strip()
    again = DataProfile.model_validate_json(DataProfile(files=(result,)).model_dump_json())
    assert again.files == (result,)


@budget(200)
@given(data=mutated_bytes(CSV))
def test_csv_profiles(data: bytes) -> None:
    _profiled(data, "data.csv")


@budget(150)
@given(data=mutated_bytes(PARQUET))
def test_parquet_profiles(data: bytes) -> None:
    _profiled(data, "data.parquet")
