"""Render the dossier's HTML to PDF with WeasyPrint, fetching nothing the report did not ship itself.

The HTML carries untrusted run metadata. Jinja2 escapes it, but WeasyPrint 70 is unsafe by default if
anything slips through: its stock fetcher follows http(s), ftp, file:// and redirects, and it embeds the
target of every `<link rel=attachment>` and `<a rel=attachment>` into the PDF, so a hostile value could
make the renderer call out or copy local files into the evidence. Here every fetch goes through
`SafeFetcher` (the report's own assets and bounded `data:` URIs only), and the document's attachment
links are stripped before layout: the only files embedded are the ones `render_pdf(attachments=...)` names.

Accessibility: every PDF is tagged (WeasyPrint's `pdf_tags`: a structure tree in reading order, headings
H1-H3, tables Table/TR/TH/TD, each inline SVG a Figure whose /Alt is the SVG's `<title>`), and /Lang
comes from `<html lang>`. The archival variant stays PDF/A-3b: WeasyPrint 70 offers pdf/a-3a, but
level A makes claims (every piece of content tagged or an artifact; WeasyPrint leaves its page-margin
boxes untagged in PDF 1.7) that no validator on this project's machines can confirm, and a dossier
must not claim a conformance it was never checked against. Tagged 3b is what it can stand behind.

Description: the XMP packet carries the title, the dates (create, modify, metadata), the creator tool
(auditor and its version) and, in auditor's own namespace with a PDF/A extension schema declaring it,
the run id, the run record's sha256 and the verdict. Each attachment is listed once in the catalog's
associated files (WeasyPrint 70 lists each twice).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from weasyprint import HTML, Attachment
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.urls import URLFetcher, URLFetcherResponse

from auditor.capture.heap import paused_collection
from auditor.render.dossier.pdf_write import indexed_pages, write_once
from auditor.render.dossier.svg_text import fast_svg_text

ASSET_SCHEME = "auditor-asset:"
# Not a file path, so relative URLs (`../../etc/passwd`) never resolve to the filesystem. urllib does not
# join relative references onto an unknown scheme, so they reach the fetcher still relative and are refused.
BASE_URL = "auditor-asset:/"
# The decoded payload of a data: URI is never longer than the URI itself, so this caps decoded size too.
MAX_DATA_URI_CHARS = 5 * 1024 * 1024
MAX_RECORDED_URL_CHARS = 200
PDFA_VARIANT = "pdf/a-3b"
AUDITOR_NS = "https://auditor.invalid/ns/dossier/1.0/"  # a name for the namespace, never fetched
AUDITOR_PREFIX = "auditor"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XMP = "http://ns.adobe.com/xap/1.0/"
_EXT = {
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}
# The auditor properties of the XMP packet, each declared in the PDF/A extension schema (PDF/A-3 6.6.2.3).
DOSSIER_PROPERTIES = {
    "RunId": "The id of the run the dossier describes",
    "RecordSha256": "SHA-256 of the run record file the dossier was rendered from",
    "Verdict": "The policy check's verdict: compliant, violations or could_not_evaluate",
    "VerdictText": "The verdict in words, as the dossier's cover states it",
}

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
class PdfFacts:
    """What the PDF's metadata states about the dossier: dates, creator, and the evidence it describes."""

    run_id: str
    record_sha256: str
    verdict: str
    verdict_text: str
    generated_at: datetime
    creator: str  # e.g. "auditor 0.1.0"

    def properties(self) -> dict[str, str]:
        values = (self.run_id, self.record_sha256, self.verdict, self.verdict_text)
        return dict(zip(DOSSIER_PROPERTIES, values, strict=True))


class _DossierMetadata(DocumentMetadata):  # type: ignore[misc]
    """WeasyPrint's document metadata plus auditor's own XMP properties, in the one rdf:RDF of the packet."""

    def __init__(self, base: DocumentMetadata, properties: Mapping[str, str], stamp: str | None) -> None:
        super().__init__(**vars(base))
        self.properties = dict(properties)
        self.stamp = stamp

    def generate_rdf_metadata(self, variant: Any, version: Any, conformance: Any) -> bytes:
        rdf = ET.fromstring(super().generate_rdf_metadata(variant, version, conformance))  # noqa: S314 - WeasyPrint's
        if self.stamp:
            _description(rdf, f"{{{_XMP}}}MetadataDate").text = self.stamp
        if self.properties:
            described = _description(rdf)
            for name, value in self.properties.items():
                ET.SubElement(described, f"{{{AUDITOR_NS}}}{name}").text = value
            _extension_schema(rdf, list(self.properties))
        data: bytes = ET.tostring(rdf, encoding="utf-8")
        return data


def _description(rdf: ET.Element, child: str | None = None) -> ET.Element:
    element = ET.SubElement(rdf, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
    return element if child is None else ET.SubElement(element, child)


def _extension_schema(rdf: ET.Element, names: list[str]) -> None:
    """The pdfaExtension:schemas bag that PDF/A requires for properties outside the predefined schemas."""
    ext, schema_ns, prop_ns = (_EXT[k] for k in ("pdfaExtension", "pdfaSchema", "pdfaProperty"))
    bag = ET.SubElement(_description(rdf, f"{{{ext}}}schemas"), f"{{{_RDF}}}Bag")
    schema = ET.SubElement(bag, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    ET.SubElement(schema, f"{{{schema_ns}}}schema").text = "auditor audit dossier"
    ET.SubElement(schema, f"{{{schema_ns}}}namespaceURI").text = AUDITOR_NS
    ET.SubElement(schema, f"{{{schema_ns}}}prefix").text = AUDITOR_PREFIX
    seq = ET.SubElement(ET.SubElement(schema, f"{{{schema_ns}}}property"), f"{{{_RDF}}}Seq")
    for name in names:
        item = ET.SubElement(seq, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
        ET.SubElement(item, f"{{{prop_ns}}}name").text = name
        ET.SubElement(item, f"{{{prop_ns}}}valueType").text = "Text"
        ET.SubElement(item, f"{{{prop_ns}}}category").text = "external"
        ET.SubElement(item, f"{{{prop_ns}}}description").text = DOSSIER_PROPERTIES.get(name, name)


for _prefix, _uri in {**_EXT, AUDITOR_PREFIX: AUDITOR_NS}.items():
    ET.register_namespace(_prefix, _uri)


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    facts: PdfFacts | None = None,
) -> PdfResult:
    """Render `html` to PDF bytes; embed exactly `attachments` as (unique file name, bytes, description).

    With `pdfa`, the file is PDF/A-3b and the attachments are its associated files (relationship
    Source: the record and findings the dossier was rendered from). Fonts are embedded as subsets.
    Always tagged. `facts` fill the dates, creator and auditor's XMP properties (run id, record digest,
    verdict); they come from the caller, never from the document, whose text is untrusted.
    """
    names = [name for name, _, _ in attachments]
    if len(set(names)) != len(names):
        raise ValueError(f"attachment names must be unique: {names}")
    # The collector is paused for layout and writing (see auditor/capture/heap.py): WeasyPrint makes
    # millions of boxes, styles and PDF objects that live until the file is written, and the collector's
    # passes over them were a fifth of the PDF's CPU (2,000 packages: 1.4 of 5.7 s; an 800-node lineage:
    # 2.7 of 14.3 s). Once `_render` has returned they are garbage, much of it in cycles: not promoted,
    # the first collection after the pause frees it all in one pass (promoted, it stayed until a full
    # collection: a process rendering one dossier after another grew by a dossier's worth each time).
    with paused_collection(promote=False):
        return _render(html, assets, attachments, pdfa, title, facts)


def _render(
    html: str,
    assets: Assets,
    attachments: Sequence[tuple[str, bytes, str]],
    pdfa: bool,
    title: str | None,
    facts: PdfFacts | None,
) -> PdfResult:
    start = time.perf_counter()
    fetcher = SafeFetcher(assets)
    document_html = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    document_html.base_url = BASE_URL  # a <base href=file:///...> in the document must not re-point URLs
    fetcher.refused.extend(_strip_attachment_links(document_html.etree_element))
    options: dict[str, Any] = {"pdf_tags": True, **({"pdf_variant": PDFA_VARIANT} if pdfa else {})}
    with fast_svg_text():
        document = document_html.render(**options)
    # Belt and braces: nothing the document declared may become an embedded file.
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]
    if title is not None:
        document.metadata.title = title
    document.metadata = _metadata(document.metadata, facts)
    # The PDF's EmbeddedFiles name tree must be sorted by name; WeasyPrint keeps the order it is given.
    embedded = [
        Attachment(string=data, name=name, description=description, relationship="Source")
        for name, data, description in sorted(attachments, key=lambda attachment: attachment[0])
    ]
    with fast_svg_text(), indexed_pages():
        pdf: bytes = document.write_pdf(attachments=embedded, finisher=_finish, **options)
    return PdfResult(
        data=pdf,
        pages=len(document.pages),
        refused=tuple(fetcher.refused),
        seconds=time.perf_counter() - start,
    )


def _finish(document: Any, pdf: Any) -> None:
    """The last changes to the PDF's objects, then each is written once (see pdf_write.py)."""
    _list_attachments_once(document, pdf)
    write_once(pdf)


def _list_attachments_once(document: Any, pdf: Any) -> None:
    """WeasyPrint 70's PDF/A-3 writer puts every attachment into the catalog's /AF (associated files)
    twice, once from the EmbeddedFiles names and once from the file specification itself; keep each once."""
    associated = pdf.catalog.get("AF")
    if associated:
        seen: list[Any] = []
        for reference in associated:
            if reference not in seen:
                seen.append(reference)
        associated[:] = seen


def _metadata(base: DocumentMetadata, facts: PdfFacts | None) -> DocumentMetadata:
    """The document's metadata with the caller's facts: nothing the HTML's head said about dates,
    authors or custom names is kept (that text came with the run), only its title and language."""
    base.authors, base.keywords, base.custom, base.xmp_metadata = [], [], {}, []
    base.description = base.created = base.modified = None
    base.lang = base.lang or "en"
    if facts is None:
        return _DossierMetadata(base, {}, None)
    stamp = _w3c(facts.generated_at)
    base.generator = facts.creator
    base.created = base.modified = stamp
    base.description = f"Audit dossier of run {facts.run_id}: {facts.verdict_text}"
    base.keywords = ["audit dossier", "machine learning", f"run {facts.run_id}", f"verdict {facts.verdict}"]
    return _DossierMetadata(base, facts.properties(), stamp)


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
