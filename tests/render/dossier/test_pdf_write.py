"""Each PDF object written once (auditor.render.dossier.pdf_write): at pydyf's own zlib level the file is
byte for byte the one pydyf writes; at the default level every object decodes to the same content; pydyf
is left as it was."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pikepdf
import pydyf
from weasyprint import HTML, Attachment

from auditor.render.dossier.pdf_write import ZLIB_LEVEL, indexed_pages, write_once

ROWS = "".join(f"<tr><td>package-{i:04d}</td><td>1.{i % 10}.0</td></tr>" for i in range(400))
PAGE = f"""<html lang="en"><head><title>t</title><style>@page {{ size: A6 }}</style></head><body>
<h1>Packages</h1><table><tr><th>Name</th><th>Version</th></tr>{ROWS}</table></body></html>"""
OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "pdf_tags": True}  # an /ID, object streams, a tag tree
RECORD = b'{"run": "01JGZ0000000000000000000AA"}' * 50
MOMENT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # the attachment's dates, else the clock's


def pdf_of(finisher: Any = None) -> bytes:
    document = HTML(string=PAGE).render(**OPTIONS)
    attachments = [
        Attachment(string=RECORD, name="record.json", relationship="Source", created=MOMENT, modified=MOMENT)
    ]
    data: bytes = document.write_pdf(attachments=attachments, finisher=finisher, **OPTIONS)
    return data


def unsized(item: Any) -> str:
    """An object as pikepdf prints it, less the /Length of the streams it holds (a compressed size)."""
    return re.sub(r'"/Length": \d+', "", repr(item))


def stream_keys(stream: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in stream.stream_dict.items() if key != "/Length"}


def test_at_pydyfs_level_the_file_is_the_same() -> None:
    theirs = pdf_of()
    with indexed_pages():
        ours = pdf_of(lambda document, pdf: write_once(pdf, level=9))
    assert len(pikepdf.open(io.BytesIO(theirs)).pages) > 10
    assert ours == theirs


def test_at_the_default_level_every_object_decodes_the_same() -> None:
    theirs = pikepdf.open(io.BytesIO(pdf_of()))
    with indexed_pages():
        data = pdf_of(lambda document, pdf: write_once(pdf))
    ours = pikepdf.open(io.BytesIO(data))
    assert ZLIB_LEVEL == 6
    assert len(ours.objects) == len(theirs.objects) and len(ours.pages) == len(theirs.pages)
    for mine, other in zip(ours.objects, theirs.objects, strict=True):
        if isinstance(other, pikepdf.Stream) and other.get("/Type") == "/XRef":
            continue  # where each object starts: moved by the other compressed sizes
        if isinstance(other, pikepdf.Stream):
            assert isinstance(mine, pikepdf.Stream) and mine.read_bytes() == other.read_bytes()
            assert stream_keys(mine) == stream_keys(other)
        else:
            assert unsized(mine) == unsized(other)
    assert re.fullmatch(rb"[0-9a-f]{32}", bytes(ours.trailer.ID[1]))  # an MD5 of the objects (PDF/A needs an /ID)
    assert ours.open_metadata()["pdf:Producer"] == theirs.open_metadata()["pdf:Producer"]


def test_pydyf_is_left_as_it_was() -> None:
    before = (pydyf.PDF.page_references, pydyf.PDF.write, pydyf.Stream.data, pydyf.Dictionary.data)
    with indexed_pages():
        pdf_of(lambda document, pdf: write_once(pdf))
    assert (pydyf.PDF.page_references, pydyf.PDF.write, pydyf.Stream.data, pydyf.Dictionary.data) == before
    again = pydyf.PDF()
    again.add_page(pydyf.Dictionary({"Type": "/Page"}))
    assert type(again.objects[-1]) is pydyf.Dictionary and again.page_references == (b"3 0 R",)


def test_weasyprints_own_streams_are_written_once_too() -> None:
    """The pages' content is WeasyPrint's subclass of pydyf's stream: it is deflated once, at the default
    level, like every other stream (zlib's header says which: 78 9c at level 6, 78 da at 9); a class that
    makes its own bytes is left as it is."""
    from weasyprint.pdf.stream import Stream as PageStream

    from auditor.render.dossier.pdf_write import _once_class

    with indexed_pages():
        ours = pikepdf.open(io.BytesIO(pdf_of(lambda document, pdf: write_once(pdf))))
    theirs = pikepdf.open(io.BytesIO(pdf_of()))
    for pdf, header in ((ours, b"\x78\x9c"), (theirs, b"\x78\xda")):
        contents = [page.obj.Contents for page in pdf.pages]
        assert len(contents) > 10 and {c.read_raw_bytes()[:2] for c in contents} == {header}

    class OwnBytes(pydyf.Stream):  # type: ignore[misc]
        @property
        def data(self) -> bytes:
            return b"mine"

    assert _once_class(OwnBytes) is None and _once_class(int) is None
    assert _once_class(PageStream) is _once_class(PageStream) is not None


def test_overlapping_blocks_leave_pydyf_as_it_was() -> None:
    """Nested, or in two threads that end in the other order: pydyf's property is back after the last."""
    original = pydyf.PDF.page_references
    first, second = indexed_pages(), indexed_pages()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert pydyf.PDF.page_references is not original  # the second block still runs
    second.__exit__(None, None, None)
    assert pydyf.PDF.page_references is original


def test_a_rendered_pdfs_garbage_is_freed_by_the_next_collection() -> None:
    """The collector rests while WeasyPrint lays out and writes; what it leaves (cycles of boxes, styles
    and PDF objects) is not promoted to the oldest generation, where only a full collection, maybe long
    after, would free it: a process rendering one dossier after another grew by a dossier each time."""
    import gc

    from auditor.render.dossier.pdf import render_pdf

    render_pdf(PAGE, pdfa=True)
    gc.collect()
    for _ in range(2):
        render_pdf(PAGE, pdfa=True)
    assert gc.isenabled()
    [object() for _ in range(1000)]  # the collection the pause left due runs on the next allocations
    left = gc.collect()  # what no collection but a full one would have found
    assert left < 1_000, left
