"""The inert unpickler: it reads real scikit-learn model files (pickle and joblib, plain and compressed)
as a scikit-learn user would see them, and never executes anything a hostile file names."""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from auditor.capture.model import unpickle
from auditor.capture.model.inspect import inspect_model, value_text
from auditor.capture.model.unpickle import ModelFileError, Stub, read_model_bytes


def _fitted() -> Pipeline:
    import pandas

    rng = np.random.default_rng(1)
    frame = pandas.DataFrame(
        {
            "job": rng.choice(["a", "b", "c"], 200),
            "housing": rng.choice(["own", "rent"], 200),
            "age": rng.integers(18, 70, 200),
            "amount": rng.normal(3000, 800, 200),
        }
    )
    label = (rng.random(200) < 0.7).astype(int)
    features = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["job", "housing"]),
            ("numeric", StandardScaler(), ["age", "amount"]),
        ]
    )
    model = Pipeline([("features", features), ("classifier", LogisticRegression(C=0.5, max_iter=300, random_state=7))])
    return model.fit(frame, label)


def _check_against_the_real_model(data: bytes, model: Pipeline) -> None:
    inspected = inspect_model(data, "model.bin")
    assert inspected.class_name == "LogisticRegression"
    assert inspected.library == "scikit-learn"
    import sklearn

    assert inspected.library_version == sklearn.__version__
    assert inspected.features == tuple(model.feature_names_in_)
    assert inspected.classes == tuple(str(c) for c in model.classes_)
    assert inspected.summary == (
        f"LogisticRegression (scikit-learn {sklearn.__version__}) in a Pipeline: "
        "OneHotEncoder on 2 columns, StandardScaler on 2"
    )
    by_path = {e.path: e for e in inspected.estimators}
    assert set(by_path) == {"", "features", "features/categorical", "features/numeric", "classifier"}
    assert by_path["features/numeric"].columns == ("age", "amount")
    for path, estimator in (("classifier", model[-1]), ("features/numeric", model[0].transformers_[1][1])):
        real = estimator.get_params(deep=False)
        assert by_path[path].hyperparameters == {k: value_text(v) for k, v in real.items()}, path


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_pickled_pipeline_reads_as_scikit_learn_sees_it(protocol: int) -> None:
    model = _fitted()
    _check_against_the_real_model(pickle.dumps(model, protocol=protocol), model)


@pytest.mark.parametrize("compress", [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3)])
def test_joblib_files_plain_and_compressed(tmp_path: Path, compress: Any) -> None:
    model = _fitted()
    path = tmp_path / "model.joblib"
    joblib.dump(model, path, compress=compress)
    _check_against_the_real_model(path.read_bytes(), model)
    assert inspect_model(path.read_bytes(), "m").format.startswith("joblib")


def test_the_sample_model_file(sample_run: Path) -> None:
    data = (sample_run / "models" / "credit_model.joblib").read_bytes()
    model = joblib.load(sample_run / "models" / "credit_model.joblib")  # our own file: trusted here
    inspected = inspect_model(data, "models/credit_model.joblib")
    assert inspected.format == "joblib"
    assert inspected.features == tuple(model.feature_names_in_)
    assert "age" in inspected.features and "sex" not in inspected.features
    assert inspected.summary.startswith(
        "LogisticRegression (scikit-learn 1.9.1) in a Pipeline: OneHotEncoder on 5 columns"
    )
    classifier = next(e for e in inspected.estimators if e.path == "classifier")
    assert classifier.hyperparameters["C"] == "1.0" and classifier.hyperparameters["random_state"] == "42"


def test_a_regressor_and_numeric_arrays() -> None:
    x = np.arange(40, dtype=np.float64).reshape(20, 2)
    model = LinearRegression().fit(x, x[:, 0] * 2 + 1)
    inspected = inspect_model(pickle.dumps(model), "m.pkl")
    assert inspected.summary.startswith("LinearRegression (scikit-learn")
    assert inspected.features is None and inspected.classes is None


class _Boom:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_calls_os_system_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = pickle.dumps(_Boom(str(marker)))
    assert b"system" in data
    obj, _ = read_model_bytes(data)
    assert isinstance(obj, Stub) and obj.dotted in {"posix.system", "os.system", "nt.system"}
    assert obj.args == (f"touch {marker}",)
    inspected = inspect_model(data, "m.pkl")  # what the file names, reported: nothing run
    assert inspected.class_name == "system" and "not a scikit-learn estimator" in inspected.notes[0]
    assert not marker.exists()
    pickle.loads(data)  # noqa: S301 - the same bytes through the real unpickler do run it: the test can see the difference
    assert marker.exists()


def test_nothing_the_file_names_is_imported() -> None:
    data = b"\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00\x8c\x0fnot_a_real_modz\x94\x8c\x03Cls\x94\x93\x94)\x81\x94."
    assert "not_a_real_modz" not in sys.modules
    obj, _ = read_model_bytes(data)
    assert isinstance(obj, Stub) and obj.dotted == "not_a_real_modz.Cls"
    assert "not_a_real_modz" not in sys.modules


def test_the_extension_registry_and_persistent_ids_are_refused() -> None:
    import copyreg

    copyreg.add_extension("collections", "OrderedDict", 240)
    try:
        data = pickle.dumps(__import__("collections").OrderedDict, protocol=2)
        assert any(op.name == "EXT1" for op, _, _ in pickletools.genops(data))
        with pytest.raises(ModelFileError, match="extension registry"):
            read_model_bytes(data)
    finally:
        copyreg.remove_extension("collections", "OrderedDict", 240)

    class Persisting(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return "ext" if obj == "x" else None

    buffer = io.BytesIO()
    Persisting(buffer, protocol=2).dump(["x"])
    with pytest.raises(ModelFileError, match="persistent ids"):
        read_model_bytes(buffer.getvalue())


@pytest.mark.parametrize("cut", [1, 10, 100, 1000, 3000])
def test_truncated_files(sample_run: Path, cut: int) -> None:
    data = (sample_run / "models" / "credit_model.joblib").read_bytes()
    with pytest.raises(ModelFileError, match="could not read the model file"):
        inspect_model(data[:cut], "m")


def test_other_model_formats_are_named() -> None:
    for data, what in (
        (b"PK\x03\x04rest", "a zip archive"),
        (b"\x89HDF\r\n", "an HDF5 file"),
        (b'{"learner": 1}', "JSON"),
    ):
        with pytest.raises(ModelFileError, match=what):
            inspect_model(data, "m")


def test_garbage_and_empty_files() -> None:
    for data in (b"", b"\x80\x05garbage", b"PK\x03\x04 a zip file", os.urandom(64)):
        with pytest.raises(ModelFileError, match="could not read the model file"):
            inspect_model(data, "m")


def test_deep_nesting_is_bounded() -> None:
    deep = b"\x80\x02" + b"(" * 200_000 + b"."
    with pytest.raises(ModelFileError, match="stack"):
        read_model_bytes(deep)
    nested: Any = LogisticRegression(C=3.0)
    for _ in range(30):
        nested = Pipeline([("inner", nested)])
    inspected = inspect_model(pickle.dumps(nested), "m")
    assert any("levels: rest not read" in note for note in inspected.notes)
    depth = 50_000  # a hyperparameter nested far deeper than repr() can print, built without recursion
    data = (
        b"\x80\x02csklearn.linear_model\nLogisticRegression\n)\x81}X\x0c\x00\x00\x00class_weight"
        + b"]" * depth
        + b"a" * (depth - 1)
        + b"sb."
    )
    text = inspect_model(data, "m").estimators[0].hyperparameters["class_weight"]
    assert text.startswith("[[[") and len(text) < 40


def test_huge_counts_hit_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    many = pickle.dumps(list(range(50_000)), protocol=2)
    monkeypatch.setattr(unpickle, "MAX_OPCODES", 10_000)
    with pytest.raises(ModelFileError, match="more than 10000 pickle operations"):
        read_model_bytes(many)
    globals_ = b"\x80\x02" + b"".join(b"cm%d\nC\n0" % i for i in range(3000)) + b"N."
    monkeypatch.setattr(unpickle, "MAX_STUBS", 1000)
    monkeypatch.setattr(unpickle, "MAX_OPCODES", 5_000_000)
    with pytest.raises(ModelFileError, match="more than 1000 objects"):
        read_model_bytes(globals_)


def test_a_joblib_array_longer_than_the_file() -> None:
    data = (
        b"\x80\x04cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00shapeJ\x00\x00\x00\x40\x85"
        b"X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff"
        b"\xff\xffJ\xff\xff\xff\xffK\x00tbX\x05\x00\x00\x00orderX\x01\x00\x00\x00Cub."
    )
    with pytest.raises(ModelFileError, match=r"array larger than the file|truncated"):
        read_model_bytes(data)


def test_a_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    monkeypatch.setattr(unpickle, "MAX_BYTES", 1 << 20)
    with pytest.raises(ModelFileError, match="decompresses to more than"):
        read_model_bytes(zlib.compress(b"\x00" * (8 << 20)))
