"""Write the PDF's objects once each, compressed at zlib's default level, and index its pages once.

pydyf 0.13, WeasyPrint 70's PDF writer, serialises every object of a file that has an identifier (PDF/A
requires one) twice: once to write it, and once more, whole, for the MD5 that becomes the second half of
the trailer's /ID. Each stream is deflated again the second time, at zlib level 9. For a 131-page
dossier that was 18 MB through zlib (0.9 s of CPU) where 9 MB at the default level 6 takes 0.1 s, for a
file about 5% larger: the same objects, the same decoded content, the same drawing.

`write_once(pdf)`, called on the finished `pydyf.PDF` just before WeasyPrint writes it (the
`finisher`), turns each object, and each one the writer adds while writing, into a subclass that keeps
its bytes after the first time they are asked for. Nothing changes an object while pydyf writes the
file, so the second reading gives the bytes the first one wrote, and the /ID's hash covers exactly the
bytes in the file, as before. Only this one file's objects are touched; pydyf's classes stay as they are.

`indexed_pages()` is for the tagging pass: WeasyPrint 70 asks `pdf.page_references` once per tagged
element, and pydyf rebuilds the whole tuple of page references each time (131 pages x 27,000 tagged
elements: 3.6 million references made). Within the block the tuple is rebuilt only when a page was added.

Only pydyf 0.13, whose internals this follows, gets either; on any other version both change nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pydyf  # type: ignore[import-untyped]  # WeasyPrint's PDF writer, untyped

ZLIB_LEVEL = 6  # zlib's own default; pydyf asks for 9: 4x the CPU for 5% smaller streams
_SUPPORTED = pydyf.__version__.startswith("0.13.")
_BYTES = "_auditor_bytes"
_PAGES = "_auditor_pages"


class _Once:
    """Mixin: the object's bytes, made on the first request and kept for the rest of the write."""

    def _made(self) -> bytes:
        raise NotImplementedError

    @property
    def data(self) -> bytes:
        made: bytes | None = self.__dict__.get(_BYTES)
        if made is None:
            made = self._made()
            self.__dict__[_BYTES] = made
        return made


class _OnceDictionary(_Once, pydyf.Dictionary):  # type: ignore[misc]
    def _made(self) -> bytes:
        made: bytes = pydyf.Dictionary.data.fget(self)
        return made


class _OnceArray(_Once, pydyf.Array):  # type: ignore[misc]
    def _made(self) -> bytes:
        made: bytes = pydyf.Array.data.fget(self)
        return made


class _OnceString(_Once, pydyf.String):  # type: ignore[misc]
    def _made(self) -> bytes:
        made: bytes = pydyf.String.data.fget(self)
        return made


class _OnceStream(_Once, pydyf.Stream):  # type: ignore[misc]
    level = ZLIB_LEVEL

    def _made(self) -> bytes:
        """pydyf 0.13's `Stream.data`, but for the compression level."""
        stream = b"\n".join(pydyf._to_bytes(item) for item in self.stream)
        extra = pydyf.Dictionary(self.extra.copy())
        if self.compress:
            extra["Filter"] = "/FlateDecode"
            stream = zlib.compress(stream, self.level)
        extra["Length"] = len(stream)
        return b"\n".join((extra.data, b"stream", stream, b"endstream"))


_ONCE: dict[type, type] = {
    pydyf.Dictionary: _OnceDictionary,
    pydyf.Array: _OnceArray,
    pydyf.String: _OnceString,
    pydyf.Stream: _OnceStream,
}


def _write_once(item: Any, level: int) -> None:
    once = _ONCE.get(type(item))
    if once is not None:
        item.__class__ = once
        if once is _OnceStream and level != ZLIB_LEVEL:
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


@contextmanager
def indexed_pages() -> Iterator[None]:
    """Within the block, `pydyf.PDF.page_references` is made once per page count, not once per call."""
    if not _SUPPORTED:
        yield
        return
    original = pydyf.PDF.page_references
    pydyf.PDF.page_references = property(_page_references)
    try:
        yield
    finally:
        pydyf.PDF.page_references = original
