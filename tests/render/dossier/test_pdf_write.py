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
