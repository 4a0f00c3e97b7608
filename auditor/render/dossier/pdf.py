"""Render the dossier's HTML to PDF with WeasyPrint, fetching nothing the report did not ship itself.

The HTML carries untrusted run metadata. Jinja2 escapes it, but WeasyPrint 70 is unsafe by default if
anything slips through: its stock fetcher follows http(s), ftp, file:// and redirects, and it embeds the
target of every `<link rel=attachment>` and `<a rel=attachment>` into the PDF, so a hostile value could
make the renderer call out or copy local files into the evidence. Here every fetch goes through
`SafeFetcher` (the report's own assets and bounded `data:` URIs only), and the document's attachment
links are stripped before layout: the only files embedded are the ones `render_pdf(attachments=...)` names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "auditor-asset:"
# Not a file path, so relative URLs (`../../etc/passwd`) never resolve to the filesystem. urllib does not
# join relative references onto an unknown scheme, so they reach the fetcher still relative and are refused.
BASE_URL = "auditor-asset:/"
# The decoded payload of a data: URI is never longer than the URI itself, so this caps decoded size too.
MAX_DATA_URI_CHARS = 5 * 1024 * 1024
MAX_RECORDED_URL_CHARS = 200
PDFA_VARIANT = "pdf/a-3b"

Assets = Mapping[str, tuple[bytes, str]]
_NO_ASSETS: Assets = MappingProxyType({})


class FetchRefused(ValueError):
    """A URL SafeFetcher will not serve. WeasyPrint logs it and skips the resource; the PDF still renders."""


class SafeFetcher(URLFetcher):  # type: ignore[misc]
    """Serve `auditor-asset:NAME` from memory and `data:` URIs; refuse and record everything else.

    `assets` maps NAME to (bytes, mime type). Refused URLs (cut to 200 characters) are kept in
    `refused`, so callers and tests can see what a document tried to load.
    """

    def __init__(self, assets: Assets = _NO_ASSETS) -> None:
        # WeasyPrint's own opener is used for data: URIs only; limiting it to that protocol without
        # redirects means even a mistake in `fetch` below cannot reach the network or the disk.
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)
        self.assets = dict(assets)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith(ASSET_SCHEME) and (asset := self.assets.get(url.removeprefix(ASSET_SCHEME))) is not None:
            body, mime_type = asset
            return URLFetcherResponse(url, body, {"Content-Type": mime_type})
        if url[:5].lower() == "data:" and len(url) <= MAX_DATA_URI_CHARS:
            return super().fetch(url, headers)
        self.refused.append(url[:MAX_RECORDED_URL_CHARS])
        raise FetchRefused(f"not a report asset or a data: URI: {url[:MAX_RECORDED_URL_CHARS]}")


@dataclass(frozen=True)
class PdfResult:
    data: bytes
    pages: int
    refused: tuple[str, ...]
    seconds: float


def render_pdf(
    html: str,
    *,
    assets: Assets = _NO_ASSETS,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    pdfa: bool = False,
    title: str | None = None,
) -> PdfResult:
    """Render `html` to PDF bytes; embed exactly `attachments` as (unique file name, bytes, description).

    With `pdfa`, the file is PDF/A-3b and the attachments are its associated files (relationship
    Source: the record and findings the dossier was rendered from). Fonts are embedded as subsets.
    """
    names = [name for name, _, _ in attachments]
    if len(set(names)) != len(names):
        raise ValueError(f"attachment names must be unique: {names}")
    start = time.perf_counter()
    fetcher = SafeFetcher(assets)
    document_html = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    document_html.base_url = BASE_URL  # a <base href=file:///...> in the document must not re-point URLs
    fetcher.refused.extend(_strip_attachment_links(document_html.etree_element))
    options: dict[str, Any] = {"pdf_variant": PDFA_VARIANT} if pdfa else {}
    document = document_html.render(**options)
    # Belt and braces: nothing the document declared may become an embedded file.
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]
    if title is not None:
        document.metadata.title = title
    # The PDF's EmbeddedFiles name tree must be sorted by name; WeasyPrint keeps the order it is given.
    embedded = [
        Attachment(string=data, name=name, description=description, relationship="Source")
        for name, data, description in sorted(attachments, key=lambda attachment: attachment[0])
    ]
    pdf: bytes = document.write_pdf(attachments=embedded, **options)
    return PdfResult(
        data=pdf,
        pages=len(document.pages),
        refused=tuple(fetcher.refused),
        seconds=time.perf_counter() - start,
    )


def _strip_attachment_links(root: Any) -> list[str]:
    """Remove the `attachment` link type from every element; return the targets it pointed at.

    WeasyPrint 70 embeds the href of any `<link>` or `<a>` whose rel has that token. Splitting on all
    whitespace and lower-casing fully is looser than WeasyPrint's own test, so nothing it would see survives.
    """
    stripped = []
    for element in root.iter():
        tokens = (element.get("rel") or "").split()
        kept = [token for token in tokens if token.lower() != "attachment"]
        if len(kept) == len(tokens):
            continue
        stripped.append((element.get("href") or "")[:MAX_RECORDED_URL_CHARS])
        if kept:
            element.set("rel", " ".join(kept))
        else:
            del element.attrib["rel"]
    return stripped
