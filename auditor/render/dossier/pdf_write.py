"""Write the PDF's objects once each, compressed at zlib's default level, and index its pages once.

pydyf 0.13, WeasyPrint 70's PDF writer, serialises every object of a file that has an identifier (PDF/A
requires one) twice: once to write it, and once more, whole, for the MD5 that becomes the second half of
the trailer's /ID. Each stream is deflated again the second time, at zlib level 9. For a 131-page
dossier that was 18 MB through zlib (0.9 s of CPU) where 9 MB at the default level 6 takes 0.1 s, for a
file about 5% larger: the same objects, the same decoded content, the same drawing.

`write_once(pdf)`, called on the finished `pydyf.PDF` just before WeasyPrint writes it (the
`finisher`), turns each object, and each one the writer adds while writing, into a subclass of its own
class (pydyf's, or WeasyPrint's stream with its drawing methods, which carries the pages' content)
that keeps its bytes after the first time they are asked for. Nothing changes an object while pydyf writes the
file, so the second reading gives the bytes the first one wrote, and the /ID's hash covers exactly the
bytes in the file, as before. Only this one file's objects are touched; pydyf's classes stay as they are.

`indexed_pages()` is for the tagging pass: WeasyPrint 70 asks `pdf.page_references` once per tagged
element, and pydyf rebuilds the whole tuple of page references each time (131 pages x 27,000 tagged
elements: 3.6 million references made). Within the block the tuple is rebuilt only when a page was added.

Only pydyf 0.13.0, whose internals this follows, gets either; on any other version both change nothing
(the tests then show the file is pydyf's own). A class of object that makes its own bytes (another
`data` than its pydyf base's) is left as it is.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pydyf  # type: ignore[import-untyped]  # WeasyPrint's PDF writer, untyped

ZLIB_LEVEL = 6  # zlib's own default; pydyf asks for 9: 4x the CPU for 5% smaller streams
_SUPPORTED = pydyf.__version__ == "0.13.0"
_BYTES = "_auditor_bytes"
_PAGES = "_auditor_pages"


class _Once:
    """Mixin: the object's bytes, made on the first request and kept for the rest of the write."""

    def _made(self) -> bytes:
        raise NotImplementedError  # each class _once_class makes has its own

    @property
    def data(self) -> bytes:
        made: bytes | None = self.__dict__.get(_BYTES)
        if made is None:
            made = self._made()
            self.__dict__[_BYTES] = made
        return made


def _stream_bytes(self: Any) -> bytes:
    """pydyf 0.13.0's `Stream.data`, but for the compression level."""
    stream = b"\n".join(pydyf._to_bytes(item) for item in self.stream)
    extra = pydyf.Dictionary(self.extra.copy())
    if self.compress:
        extra["Filter"] = "/FlateDecode"
        stream = zlib.compress(stream, self.level)
    extra["Length"] = len(stream)
    return b"\n".join((extra.data, b"stream", stream, b"endstream"))


# pydyf's classes of object whose bytes are kept, and how each makes them (its own `data`, but a stream's)
_MADE: dict[Any, Callable[[Any], bytes]] = {
    pydyf.Dictionary: pydyf.Dictionary.data.fget,
    pydyf.Array: pydyf.Array.data.fget,
    pydyf.String: pydyf.String.data.fget,
    pydyf.Stream: _stream_bytes,
}


_ONCE: dict[type, type | None] = {}


def _once_class(cls: Any) -> type | None:
    """`cls` with its bytes kept (see _Once), or None: not one of pydyf's objects, or one that makes its
    own bytes. One class per class, made on first use."""
    if cls in _ONCE:
        return _ONCE[cls]
    once = None
    for base, made in _MADE.items():
        if issubclass(cls, base):
            if cls.data is base.data:  # the property itself, looked up on the class
                once = type(f"_Once{cls.__name__}", (_Once, cls), {"_made": made, "level": ZLIB_LEVEL})
            break
    _ONCE[cls] = once
    return once


def _write_once(item: Any, level: int) -> None:
    once = _once_class(type(item))
    if once is not None:
        item.__class__ = once
        if level != ZLIB_LEVEL:
            item.level = level


def write_once(pdf: Any, level: int = ZLIB_LEVEL) -> None:
    """From now on, each object of `pdf` (and each one added to it) is serialised at most once, its
    streams deflated at `level`. Call it last, right before `pdf.write`: an object changed after its
    bytes were first asked for would keep its old bytes."""
    if not _SUPPORTED:
        return
    for item in pdf.objects:
        _write_once(item, level)
    add_object = pdf.add_object

    def add_once(item: Any) -> None:
        _write_once(item, level)
        add_object(item)

    pdf.add_object = add_once  # the writer's own additions: the info dictionary, object and xref streams


def _page_references(pdf: Any) -> tuple[bytes, ...]:
    kids = pdf.pages["Kids"]
    known: tuple[int, tuple[bytes, ...]] | None = pdf.__dict__.get(_PAGES)
    if known is None or known[0] != len(kids):  # pages are only ever appended (PDF.add_page)
        known = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__[_PAGES] = known
    return known[1]


_ORIGINAL_PAGES = pydyf.PDF.page_references
_INDEXED = property(_page_references)
_depth = 0
_depth_lock = threading.Lock()


@contextmanager
def indexed_pages() -> Iterator[None]:
    """Within the block, `pydyf.PDF.page_references` is made once per page count, not once per call.
    Blocks may overlap (nested, or in threads): pydyf's own property is back when the last one ends."""
    global _depth
    if not _SUPPORTED:
        yield
        return
    with _depth_lock:
        _depth += 1
        pydyf.PDF.page_references = _INDEXED
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if _depth == 0:
                pydyf.PDF.page_references = _ORIGINAL_PAGES
