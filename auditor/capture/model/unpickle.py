"""Reading pickle and joblib model files WITHOUT executing them: a restricted, inert unpickler.

A pickle is a program: loading one imports and calls whatever it names (`os.system` included). This
reader runs the pickle virtual machine of the standard library's pure-Python unpickler, but every
global the stream names (`find_class`) becomes an inert `Stub` class made here, which only records its
dotted name, the arguments it was called or constructed with, and the state BUILD gave it. No class
of the model's library is imported, nothing from the file is called, and the module-wide extension
registry (EXT opcodes) and persistent ids are refused.

joblib files are a pickle stream with the arrays' bytes in the same stream: each array is pickled as
a `NumpyArrayWrapper` and, right after its BUILD, its raw data follows (a padding-length byte and the
padding when the wrapper has `numpy_array_alignment_bytes`, then shape x itemsize bytes); an object
array is a nested pickle at that point (joblib's numpy_pickle.py, read_array). Compressed joblib files
(zlib, gzip, bz2, xz) are decompressed with the standard library, with a size limit.

Limits (file size, decompressed size, opcodes, stack depth, stubs) turn a hostile or huge file into
`ModelFileError("could not read the model file: why")`, as does every other failure.
"""

from __future__ import annotations

import bz2
import io
import lzma
import pickle
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

MAX_BYTES = 512 * 1024 * 1024  # the file, and the stream once decompressed
MAX_OPCODES = 5_000_000
MAX_STACK = 100_000
MAX_STUBS = 1_000_000
MAX_ARRAY_VALUES = 100_000  # arrays larger than this keep their shape and dtype, not their values
JOBLIB_WRAPPERS = frozenset(
    {"joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"}
)
_DTYPE = re.compile(r"^[<>|=]?(b1|[iuf][1248]|f16|c8|c16|c32|\?|[bBhHiIlLqQefdgFDG])$")
_OTHER_FORMATS = (
    (b"PK\x03\x04", "a zip archive (e.g. skops, Keras .keras, PyTorch .pt)"),
    (b"\x89HDF", "an HDF5 file (e.g. Keras .h5)"),
    (b"{", "a JSON file (e.g. an XGBoost or LightGBM model)"),
)
_REFUSED = {pickle.EXT1[0], pickle.EXT2[0], pickle.EXT4[0], pickle.PERSID[0], pickle.BINPERSID[0]}


class ModelFileError(Exception):
    """The model file could not be read; the message says why."""

    def __init__(self, why: str) -> None:
        super().__init__(f"could not read the model file: {why}")
        self.why = why


class Stub:
    """An inert stand-in for a class a pickle names: it records and never runs anything."""

    dotted: ClassVar[str] = ""
    __slots__ = ("args", "kwargs", "state")
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    state: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        stub = object.__new__(cls)
        stub.args, stub.kwargs, stub.state = args, kwargs, None
        return stub

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        """Recorded by __new__."""

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<{self.dotted}>"


@dataclass(frozen=True)
class Array:
    """A numpy array as the file describes it; `values` only for small arrays of plain types."""

    dtype: str
    shape: tuple[int, ...]
    values: tuple[Any, ...] | None = field(default=None)


def read_model_bytes(data: bytes) -> tuple[Any, str]:
    """The inert object tree of a pickle or joblib file, and the format it was found in."""
    if len(data) > MAX_BYTES:
        raise ModelFileError(f"larger than {MAX_BYTES >> 20} MiB")
    stream, compression = _decompress(data)
    reader = InertUnpickler(io.BytesIO(stream))
    obj = reader.run()
    kind = "joblib" if reader.joblib else "pickle"
    return obj, f"{kind} ({compression})" if compression else kind


def _decompress(data: bytes) -> tuple[bytes, str | None]:
    if data[:1] == b"\x80" or not data:
        return data, None
    if data.startswith(b"\x1f\x8b"):
        return _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress, data), "gzip"
    if data[:1] == b"\x78":
        return _bounded(zlib.decompressobj().decompress, data), "zlib"
    if data.startswith(b"BZh"):
        return _bounded(bz2.BZ2Decompressor().decompress, data), "bz2"
    if data.startswith(b"\xfd7zXZ"):
        return _bounded(lzma.LZMADecompressor().decompress, data), "xz"
    if data.startswith(b"\x04\x22\x4d\x18"):
        raise ModelFileError("lz4 compression is not supported")
    if data.startswith(b"ZF"):
        raise ModelFileError("joblib's pre-0.10 format (arrays in separate files) is not supported")
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            raise ModelFileError(f"{what}: only pickle and joblib files are read")
    return data, None  # protocol 0/1 pickles start with an opcode, not 0x80


def _bounded(decompress: Callable[[bytes, int], bytes], data: bytes) -> bytes:
    try:
        out = decompress(data, MAX_BYTES + 1)
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise ModelFileError(f"corrupt compressed stream ({exc})") from exc
    if len(out) > MAX_BYTES:
        raise ModelFileError(f"decompresses to more than {MAX_BYTES >> 20} MiB")
    return out


class InertUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with inert globals, limits, and joblib's in-stream arrays."""

    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: io.BytesIO, budget: list[int] | None = None, depth: int = 0) -> None:
        super().__init__(file, encoding="latin1")
        self.file = file
        self.stubs: dict[str, type[Stub]] = {}
        self.budget = budget if budget is not None else [MAX_OPCODES, MAX_STUBS]
        self.depth = depth
        self.joblib = False

    def find_class(self, module: str, name: str) -> type[Stub]:
        dotted = f"{module}.{name}"
        stub = self.stubs.get(dotted)
        if stub is None:
            self.budget[1] -= 1
            if self.budget[1] < 0:
                raise ModelFileError(f"more than {MAX_STUBS} objects")
            stub = type(name if name.isidentifier() else "Global", (Stub,), {"dotted": dotted, "__slots__": ()})
            self.stubs[dotted] = stub
        return stub

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFileError("the file refers to objects outside itself (persistent ids)")

    def run(self) -> Any:
        """pickle._Unpickler.load with every opcode counted and the stack bounded."""
        try:
            return self._run()
        except ModelFileError:
            raise
        except RecursionError as exc:
            raise ModelFileError("nested too deeply") from exc
        except MemoryError as exc:
            raise ModelFileError("too large to inspect in memory") from exc
        except EOFError as exc:
            raise ModelFileError("the file ends before the pickle does (truncated?)") from exc
        except Exception as exc:
            raise ModelFileError(f"not a readable pickle ({type(exc).__name__}: {_short(exc)})") from exc

    def _run(self) -> Any:
        self._unframer = pickle._Unframer(self._file_read, self._file_readline)  # type: ignore[attr-defined]
        self.read = self._unframer.read
        self.readinto = self._unframer.readinto
        self.readline = self._unframer.readline
        self.metastack: list[list[Any]] = []
        self.stack: list[Any] = []
        self.append = self.stack.append
        self.proto = 0
        read, dispatch, budget = self.read, self.dispatch, self.budget
        try:
            while True:
                key = read(1)
                if not key:
                    raise EOFError
                budget[0] -= 1
                if budget[0] < 0:
                    raise ModelFileError(f"more than {MAX_OPCODES} pickle operations")
                if key[0] in _REFUSED:
                    raise ModelFileError("the file uses the extension registry or persistent ids")
                if len(self.stack) + len(self.metastack) > MAX_STACK:
                    raise ModelFileError("the pickle's stack grows past the limit")
                dispatch[key[0]](self)
        except pickle._Stop as stop:  # type: ignore[attr-defined]
            return stop.value

    def load_build(self) -> None:
        """BUILD, then joblib's array bytes when the object just built is its array wrapper."""
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        top = self.stack[-1]
        if isinstance(top, Stub) and top.dotted in JOBLIB_WRAPPERS:
            self.joblib = True
            self.stack[-1] = self._joblib_array(top)

    dispatch[pickle.BUILD[0]] = load_build

    def _joblib_array(self, wrapper: Stub) -> Array:
        state = wrapper.state if isinstance(wrapper.state, dict) else {}
        shape = state.get("shape")
        dtype = state.get("dtype")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ModelFileError("a joblib array wrapper without a valid shape")
        count = 1
        for n in shape:
            count *= n
        kind = dtype_text(dtype)
        if kind == "O":
            if self.depth >= 4:
                raise ModelFileError("nested object arrays past the limit")
            inner = InertUnpickler(self.file, self.budget, self.depth + 1)
            inner.stubs = self.stubs
            array = as_array(inner.run())
            return array if array is not None else Array("O", shape)
        itemsize = _itemsize(kind)
        if itemsize is None:
            raise ModelFileError(f"a joblib array of an unsupported dtype {kind!r}")
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self.file.read(1)
            if len(padding) != 1:
                raise EOFError
            self._exactly(padding[0])
        raw = self._exactly(count * itemsize)
        return array_from_bytes(kind, shape, raw, fortran=state.get("order") == "F")

    def _exactly(self, size: int) -> bytes:
        if size > MAX_BYTES:
            raise ModelFileError("an array larger than the file")
        data = self.file.read(size)
        if len(data) != size:
            raise EOFError
        return data


def dtype_text(dtype: Any) -> str:
    """A numpy dtype as the pickle gives it (a `numpy.dtype` stub whose first argument is e.g. 'i8',
    with byte order in its state), as a dtype string such as '<i8'; 'O' for objects; '?' if unknown."""
    if isinstance(dtype, Stub) and dtype.dotted.endswith(".dtype") and dtype.args and isinstance(dtype.args[0], str):
        code = dtype.args[0]
        order = dtype.state[1] if isinstance(dtype.state, tuple) and len(dtype.state) > 1 else "|"
        if code == "O8" or code.startswith("O"):
            return "O"
        if code.startswith(("U", "S")):
            return f"{order if order in '<>' else '<'}{code}"
        return f"{order if order in '<>|' else '|'}{code}"
    return "?"


def _itemsize(kind: str) -> int | None:
    import numpy as np

    if _DTYPE.match(kind) or re.match(r"^[<>|]?[US]\d{1,6}$", kind):
        return int(np.dtype(kind).itemsize)
    return None


def array_from_bytes(kind: str, shape: tuple[int, ...], raw: bytes, *, fortran: bool = False) -> Array:
    """Values decoded only for small arrays of plain numbers and text; a whitelisted dtype string
    is all numpy is ever given."""
    import numpy as np

    count = 1
    for n in shape:
        count *= n
    if count > MAX_ARRAY_VALUES or _itemsize(kind) is None:
        return Array(kind, shape)
    values = np.frombuffer(raw, dtype=np.dtype(kind), count=count)
    if fortran and len(shape) > 1:
        values = values.reshape(shape[::-1]).transpose().ravel()
    return Array(kind, shape, tuple(v.item() for v in values))


def as_array(obj: Any) -> Array | None:
    """A numpy array in any of the shapes a pickle gives it: joblib's (already an `Array`),
    `_reconstruct` with BUILD state (version, shape, dtype, fortran, data), or protocol 5's
    `_frombuffer(buffer, dtype, shape, order)`; None when `obj` is not an array."""
    if isinstance(obj, Array):
        return obj
    if not isinstance(obj, Stub):
        return None
    if obj.dotted.endswith("multiarray._reconstruct") and isinstance(obj.state, tuple) and len(obj.state) == 5:
        _, shape, dtype, fortran, data = obj.state
        data = _plain_bytes(data)
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            return None
        kind = dtype_text(dtype)
        if kind == "O" and isinstance(data, list):
            return Array("O", shape, tuple(data) if len(data) <= MAX_ARRAY_VALUES else None)
        if isinstance(data, bytes | bytearray | memoryview):
            return _decoded(kind, shape, bytes(data), fortran=bool(fortran))
        return Array(kind, shape)
    if obj.dotted.endswith("._frombuffer") and len(obj.args) == 4:
        buffer, dtype, shape, order = obj.args
        if isinstance(buffer, bytes | bytearray | memoryview) and isinstance(shape, tuple):
            return _decoded(dtype_text(dtype), shape, bytes(buffer), fortran=order == "F")
    return None


def _plain_bytes(obj: Any) -> Any:
    """Protocol 2 writes bytes as `_codecs.encode(text, 'latin1')`: the bytes, read without calling it."""
    if isinstance(obj, Stub) and obj.dotted == "_codecs.encode" and len(obj.args) == 2:
        text, encoding = obj.args
        if isinstance(text, str) and encoding == "latin1":
            try:
                return text.encode("latin1")
            except UnicodeEncodeError:
                return obj
    return obj


def scalar_value(obj: Any) -> Any:
    """A numpy scalar (`multiarray.scalar(dtype, bytes)`) as a plain Python value; `obj` otherwise."""
    if isinstance(obj, Stub) and obj.dotted.endswith("multiarray.scalar") and len(obj.args) == 2:
        dtype, raw = obj.args[0], _plain_bytes(obj.args[1])
        if isinstance(raw, bytes):
            array = _decoded(dtype_text(dtype), (), raw)
            if array.values:
                return array.values[0]
    return obj


def _decoded(kind: str, shape: tuple[int, ...], raw: bytes, *, fortran: bool = False) -> Array:
    size = _itemsize(kind)
    count = 1
    for n in shape:
        count *= n
    if size is None or len(raw) != size * count:
        return Array(kind, shape)
    return array_from_bytes(kind, shape, raw, fortran=fortran)


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "…"
