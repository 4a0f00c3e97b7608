"""The PDF renderer against a hostile page: no request leaves it, no local file gets in, only named attachments.

A loopback HTTP server counts every request the renderer makes; the PDF is read back with poppler-utils
(pdfdetach, pdftotext, pdfimages, pdffonts, pdfinfo), the tools an auditor would use on the file.
"""

from __future__ import annotations

import base64
import contextlib
import re
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from weasyprint import HTML

from auditor.files import write_atomic
from auditor.render.dossier.pdf import MAX_DATA_URI_CHARS, FetchRefused, PdfResult, SafeFetcher, render_pdf


def write_pdf(html: str, out: Path, **options: Any) -> PdfResult:
    """Render, then write the bytes as `auditor report` does (atomically)."""
    result = render_pdf(html, **options)
    write_atomic(out, result.data)
    return result


REPORT_CSS = b".stamp::before { content: 'ASSET-CSS-LOADED'; }"
ASSETS = {"report.css": (REPORT_CSS, "text/css")}
PASSWD_LINE = "root:x:0:0"


def png(width: int, height: int) -> bytes:
    """A solid red RGB PNG, built by hand so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


DATA_PNG = "data:image/png;base64," + base64.b64encode(png(7, 5)).decode()

HOSTILE = """<!doctype html>
<html><head><title>Hostile run</title>
<base href="file:///etc/">
<link rel=stylesheet href="http://127.0.0.1:{port}/css">
<link rel=stylesheet href="auditor-asset:report.css">
<link rel=stylesheet href="data:text/css,@import url(http://127.0.0.1:{port}/nested-css);">
<link rel=attachment href="file:///etc/passwd" title="passwd">
<link rel="Attachment icon" href="data:text/plain,link-data-leak">
<style>
@import url(http://127.0.0.1:{port}/import);
@font-face {{ font-family: Evil; src: url(http://127.0.0.1:{port}/font); }}
body {{ background: url(http://127.0.0.1:{port}/bg); font-family: Evil, sans-serif; }}
li {{ list-style-image: url(file:///etc/passwd); }}
</style>
<script src="http://127.0.0.1:{port}/script.js"></script>
<script>fetch("http://127.0.0.1:{port}/inline-script")</script>
</head><body>
<p class=stamp></p>
<p style="background-image: url(http://127.0.0.1:{port}/inline-bg)">styled</p>
<img src="http://127.0.0.1:{port}/img" alt="">
<img src="file:///etc/passwd" alt="">
<img src="../../etc/passwd" alt="">
<img src="hostname" alt="">
<img src="{data_png}" alt="pixel">
<img src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><image \
href='http://127.0.0.1:{port}/nested-svg' width='9' height='9'/></svg>" alt="">
<a rel=attachment href="file:///etc/hostname">x</a>
<a rel=attachment href="data:text/plain,anchor-data-leak" download="leak.txt">y</a>
<iframe src="http://127.0.0.1:{port}/iframe"></iframe>
<iframe src="file:///etc/passwd"></iframe>
<object data="http://127.0.0.1:{port}/object"></object>
<object data="file:///etc/passwd"></object>
<embed src="http://127.0.0.1:{port}/embed">
<embed src="file:///etc/hostname">
<svg width="40" height="20"><image href="http://127.0.0.1:{port}/svg-image" width="10" height="10"/>
<image href="file:///etc/passwd" x="20" width="10" height="10"/></svg>
<ul><li>item</li></ul>
</body></html>
"""


@dataclass
class Server:
    port: int
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    """A loopback HTTP server that records the path of every request it gets."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(port=httpd.server_address[1], paths=paths)
    finally:
        httpd.shutdown()
        httpd.server_close()


def hostile(port: int) -> str:
    return HOSTILE.format(port=port, data_png=DATA_PNG)


def poppler(tool: str, *args: str | Path) -> str:
    """Run a poppler-utils tool; its absence is a set-up error, not a reason to skip."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: these tests need poppler-utils, which `./dev setup` installs")
    done = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def embedded_names(pdf: Path) -> list[str]:
    lines = poppler("pdfdetach", "-list", pdf).splitlines()
    assert lines[0] == f"{len(lines) - 1} embedded files"
    return [line.split(": ", 1)[1] for line in lines[1:]]


def font_embedding(pdf: Path) -> dict[str, str]:
    """Font name -> the `emb` column of pdffonts."""
    header, _rule, *rows = poppler("pdffonts", pdf).splitlines()
    column = header.index("emb")
    return {row.split()[0]: row[column : column + 3].strip() for row in rows}


def pdf_info(pdf: Path, *args: str) -> dict[str, str]:
    lines = poppler("pdfinfo", *args, pdf).splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def pdfa_identification(xmp: str) -> dict[str, str]:
    """The pdfaid properties of XMP metadata, written as attributes (WeasyPrint) or as elements."""
    pairs = re.findall(r'pdfaid:(part|conformance)(?:="([^"]*)"|>([^<]*)</)', xmp)
    return {name: (attribute or element).strip() for name, attribute, element in pairs}


def pdf_objects(pdf: Path) -> bytes:
    """The file with its compressed streams inflated, so dictionaries inside object streams can be searched."""
    raw = pdf.read_bytes()
    parts = [raw]
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", raw, flags=re.DOTALL):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(stream[1]))
    return b"\n".join(parts)


def hostname() -> str:
    name = Path("/etc/hostname").read_text().strip()
    assert name, "/etc/hostname is empty: the leak check needs a value to look for"
    return name


def test_default_weasyprint_leaks_the_hostile_page(server: Server, tmp_path: Path) -> None:
    """The control: with WeasyPrint's stock fetcher the same page reaches the server and embeds local files."""
    pdf = tmp_path / "unsafe.pdf"
    HTML(string=hostile(server.port)).write_pdf(pdf)
    assert {"/css", "/import", "/bg", "/img"} <= set(server.paths)
    assert {"passwd", "hostname", "leak.txt"} <= set(embedded_names(pdf))


def test_hostile_page_makes_no_request_and_embeds_nothing(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "dossier.pdf"
    result = write_pdf(hostile(server.port), out, assets=ASSETS, title="Dossier run-1")

    assert server.paths == []
    assert embedded_names(out) == []
    text = poppler("pdftotext", out, "-")
    assert PASSWD_LINE not in text
    assert hostname() not in text
    assert "link-data-leak" not in text
    base = f"http://127.0.0.1:{server.port}"
    blocked = {f"{base}/{name}" for name in ("css", "import", "font", "bg", "inline-bg", "img", "object", "embed")}
    blocked |= {
        f"{base}/svg-image",
        f"{base}/nested-css",
        f"{base}/nested-svg",
        "file:///etc/passwd",
        "file:///etc/hostname",
        "../../etc/passwd",
        "hostname",
    }
    blocked |= {"data:text/plain,link-data-leak", "data:text/plain,anchor-data-leak"}
    assert blocked <= set(result.refused)
    assert not any("script" in url or "iframe" in url for url in result.refused)
    # The report's own stylesheet and its data: image are used.
    assert "ASSET-CSS-LOADED" in text
    images = [line.split() for line in poppler("pdfimages", "-list", out).splitlines()[2:]]
    assert [(row[3], row[4]) for row in images] == [("7", "5")]
    assert result.pages == 1
    assert len(result.data) == out.stat().st_size
    assert result.seconds > 0
    assert pdf_info(out)["Title"] == "Dossier run-1"


def test_only_the_named_attachments_are_embedded_byte_for_byte(server: Server, tmp_path: Path) -> None:
    record = b'{"run_id": "run-1", "exit_code": 0}\n'
    findings = bytes(range(256))  # any bytes, not just text, come back unchanged
    out = tmp_path / "dossier.pdf"
    attachments = [("record.json", record, "run record"), ("findings.bin", findings, "findings")]

    write_pdf(hostile(server.port), out, assets=ASSETS, attachments=attachments)

    assert server.paths == []
    assert embedded_names(out) == ["findings.bin", "record.json"]  # sorted, as a PDF name tree must be
    saved = tmp_path / "saved"
    saved.mkdir()
    poppler("pdfdetach", "-saveall", "-o", saved, out)
    assert {path.name: path.read_bytes() for path in saved.iterdir()} == {
        "record.json": record,
        "findings.bin": findings,
    }


def test_pdfa_identification_metadata_attachments_and_fonts(tmp_path: Path) -> None:
    pages = "".join(
        f'<section style="break-after: page">Section {n} <b>bold</b> <i>italic</i></section>' for n in range(3)
    )
    html = f"<!doctype html><html lang=en><head><title>Ignored</title></head><body>{pages}</body></html>"
    out = tmp_path / "dossier.pdf"
    record = b'{"run_id": "run-2"}'

    result = write_pdf(html, out, attachments=[("record.json", record, "run record")], pdfa=True, title="Audit run-2")

    info = pdf_info(out)
    assert info["Title"] == "Audit run-2"
    assert info["Pages"] == "3"
    assert result.pages == 3
    xmp = poppler("pdfinfo", "-meta", out)
    assert pdfa_identification(xmp) == {"part": "3", "conformance": "B"}
    assert "Audit run-2" in xmp
    objects = pdf_objects(out)
    assert objects.count(b"/AFRelationship /Source") == 1
    assert b"/AF [" in objects
    assert embedded_names(out) == ["record.json"]
    fonts = font_embedding(out)
    assert len(fonts) >= 3  # regular, bold and italic faces
    assert set(fonts.values()) == {"yes"}


def test_plain_pdf_embeds_all_fonts_and_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "dossier.pdf"
    out.write_bytes(b"stale")
    write_pdf("<p>Plain <code>mono</code></p>", out, title="t")
    assert out.read_bytes().startswith(b"%PDF-")
    assert [path.name for path in tmp_path.iterdir()] == ["dossier.pdf"]
    assert set(font_embedding(out).values()) == {"yes"}
    assert pdfa_identification(poppler("pdfinfo", "-meta", out)) == {}


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "dossier.pdf"
    out.mkdir()  # the rename onto a folder fails after the temp file was written
    with pytest.raises(OSError):
        write_pdf("<p>x</p>", out)
    assert [path.name for path in tmp_path.iterdir()] == ["dossier.pdf"]
    assert list(out.iterdir()) == []


def test_fetcher_serves_assets_and_data_and_refuses_the_rest() -> None:
    fetcher = SafeFetcher({"report.css": (REPORT_CSS, "text/css")})

    response = fetcher.fetch("auditor-asset:report.css")
    assert (response.read(), response.content_type) == (REPORT_CSS, "text/css")
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"
    for url in ("auditor-asset:other.css", "https://example.org/a", "ftp://x/y", "report.css", "FILE:///etc/passwd"):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    huge = "data:text/plain," + "a" * MAX_DATA_URI_CHARS
    with pytest.raises(FetchRefused):
        fetcher.fetch(huge)
    assert fetcher.refused == [
        "auditor-asset:other.css",
        "https://example.org/a",
        "ftp://x/y",
        "report.css",
        "FILE:///etc/passwd",
        huge[:200],
    ]


def test_duplicate_attachment_names_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "dossier.pdf"
    with pytest.raises(ValueError, match="unique"):
        write_pdf("<p>x</p>", out, attachments=[("a.json", b"1", "one"), ("a.json", b"2", "two")])
    assert not out.exists()
