"""The dossier PDF as assistive technology and archives read it: the structure tree (pikepdf), the
language, alternate text for every drawing, text that extracts as written (poppler), and the XMP packet
that says what the file is (dates, creator, run id, the record's sha256, the verdict)."""

from __future__ import annotations

import io
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest

from auditor.render.dossier.html import SECTIONS
from auditor.render.dossier.pdf import AUDITOR_NS, DOSSIER_PROPERTIES, PdfFacts, render_pdf
from tests.render.dossier.conftest import Rendered
from tests.render.dossier.test_report import FIXED

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP = "http://ns.adobe.com/xap/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"


def elements(node: pikepdf.Dictionary) -> Iterator[pikepdf.Dictionary]:
    """The structure elements under `node`, depth first in document order (the reading order)."""
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from elements(kid)


def role(element: pikepdf.Dictionary) -> str:
    return str(element.get("/S")).removeprefix("/")


def children(element: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    kids = element.get("/K")
    items = kids if isinstance(kids, pikepdf.Array) else [kids]
    return [k for k in items if isinstance(k, pikepdf.Dictionary) and "/S" in k]


@pytest.fixture(scope="module")
def tree(demo_dossier: Rendered) -> Iterator[tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]]:
    with pikepdf.open(demo_dossier.pdf) as pdf:
        yield pdf, list(elements(pdf.Root.StructTreeRoot))


def test_the_pdf_is_tagged_in_english(tree: tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]) -> None:
    pdf, found = tree
    assert "/StructTreeRoot" in pdf.Root and bool(pdf.Root.MarkInfo.Marked) is True
    assert str(pdf.Root.Lang) == "en"
    assert role(found[0]) == "Document"
    assert {"Sect", "P", "Table", "Figure", "L", "LI"} <= {role(e) for e in found}


def test_headings_are_tagged_in_the_order_the_html_has_them(
    demo_dossier: Rendered, tree: tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]
) -> None:
    _, found = tree
    tagged = [role(e) for e in found if re.fullmatch(r"H[1-6]", role(e))]
    written = [f"H{level}" for level in re.findall(r"<h([1-6])\b", demo_dossier.html.read_text())]
    assert tagged == written and tagged.count("H1") == len(SECTIONS) + 1, (tagged, written)  # and the cover's


def test_tables_are_tables_of_rows_of_header_and_data_cells(tree: tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]) -> None:
    _, found = tree
    tables = [e for e in found if role(e) == "Table"]
    assert len(tables) > 10
    for table in tables:
        rows = [r for part in children(table) for r in ([part] if role(part) == "TR" else children(part))]
        assert rows and all(role(r) == "TR" for r in rows), [role(r) for r in rows]
        cells = [role(c) for r in rows for c in children(r)]
        assert cells and set(cells) <= {"TH", "TD"}, set(cells)
    assert any(role(c) == "TH" for t in tables for part in children(t) for r in children(part) for c in children(r))


def test_every_figure_has_alternate_text(
    demo_dossier: Rendered, tree: tuple[pikepdf.Pdf, list[pikepdf.Dictionary]]
) -> None:
    _, found = tree
    figures = [e for e in found if role(e) == "Figure"]
    drawn = demo_dossier.html.read_text().count("<svg")
    assert len(figures) >= drawn >= 3  # the lineage legend and drawing, and a fairness chart
    alts = [str(f.get("/Alt", "")) for f in figures]
    assert all(len(alt) > 20 for alt in alts), alts
    assert any(alt.startswith("Legend of the lineage diagram") for alt in alts)
    assert any(alt.startswith("Data lineage") for alt in alts)
    assert any(alt.startswith("Selection, true positive and false positive rates by") for alt in alts)


def xmp(pdf_path: Path) -> ET.Element:
    with pikepdf.open(pdf_path) as pdf:
        return ET.fromstring(pdf.Root.Metadata.read_bytes())  # noqa: S314 - the packet auditor wrote


def value(packet: ET.Element, tag: str) -> str | None:
    found = packet.find(f".//{tag}")
    if found is None:
        for description in packet.iter(f"{{{RDF}}}Description"):
            if tag.strip("{").replace("}", "") in {k.strip("{").replace("}", "") for k in description.attrib}:
                return description.attrib[tag]
        return None
    return "".join(found.itertext()).strip()


def test_xmp_says_what_the_dossier_is(demo_dossier: Rendered) -> None:
    packet = xmp(demo_dossier.pdf)
    assert value(packet, f"{{{AUDITOR_NS}}}RunId") == demo_dossier.run_id
    assert value(packet, f"{{{AUDITOR_NS}}}RecordSha256") == demo_dossier.record_sha256
    assert value(packet, f"{{{AUDITOR_NS}}}Verdict") in ("compliant", "violations", "could_not_evaluate")
    assert (value(packet, f"{{{AUDITOR_NS}}}VerdictText") or "").startswith(("Violations", "Compliant", "Could"))
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert value(packet, f"{{{XMP}}}CreateDate") == stamp and value(packet, f"{{{XMP}}}ModifyDate") == stamp
    assert value(packet, f"{{{XMP}}}MetadataDate") == stamp
    assert re.fullmatch(r"auditor \d+\.\d+\.\d+\S*", value(packet, f"{{{XMP}}}CreatorTool") or "")
    assert value(packet, f"{{{DC}}}title") == "Audit dossier: demo"
    assert value(packet, f"{{{PDFAID}}}part") == "3" and value(packet, f"{{{PDFAID}}}conformance") == "B"
    # PDF/A: a property outside the predefined schemas is declared in an extension schema.
    declared = {e.text for e in packet.iter("{http://www.aiim.org/pdfa/ns/property#}name")}
    assert declared == set(DOSSIER_PROPERTIES)
    assert {e.text for e in packet.iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")} == {AUDITOR_NS}


def test_document_info_matches_the_xmp(demo_dossier: Rendered) -> None:
    with pikepdf.open(demo_dossier.pdf) as pdf:
        info = pdf.docinfo
        assert str(info["/Title"]) == "Audit dossier: demo"
        assert str(info["/Creator"]).startswith("auditor ")
        assert str(info["/CreationDate"]).startswith(FIXED.strftime("D:%Y%m%d%H%M%S"))
        assert demo_dossier.run_id in str(info["/Subject"])


def test_metadata_comes_from_the_caller_never_from_the_html() -> None:
    html = (
        '<html lang="en"><head><title>t</title><meta name="author" content="mallory">'
        '<meta name="dcterms.created" content="1999-01-01"><meta name="auditor.verdict" content="compliant">'
        "</head><body><h1>x</h1></body></html>"
    )
    facts = PdfFacts("R1", "ab" * 32, "violations", "Violations: ...", FIXED, "auditor 9.9.9")
    data = render_pdf(html, pdfa=True, facts=facts).data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        packet = ET.fromstring(pdf.Root.Metadata.read_bytes())  # noqa: S314
        assert "/Author" not in pdf.docinfo
    assert value(packet, f"{{{AUDITOR_NS}}}Verdict") == "violations"
    assert value(packet, f"{{{XMP}}}CreateDate") == FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert b"mallory" not in data and b"1999" not in data


def pdftotext(pdf: Path, *args: str) -> str:
    done = subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def test_text_extracts_as_written(demo_dossier: Rendered) -> None:
    cover = pdftotext(demo_dossier.pdf, "-f", "1", "-l", "1")
    assert re.search(r"(?m)^Verdict$", cover) and "V ERDIC" not in cover and "VERDICT" not in cover
    assert "Audit dossier of a machine-learning run" in cover
    text = pdftotext(demo_dossier.pdf)
    assert "1 Verdict and what to do" in text and "9 Policy findings" in text
    assert re.search(r"\bcritical\b", text) and not re.search(r"C R I|CRITICAL", text)


def test_each_attachment_is_listed_once(demo_dossier: Rendered) -> None:
    """PDF/A-3 associated files: the record and the findings, each once in /AF and in EmbeddedFiles."""
    with pikepdf.open(demo_dossier.pdf) as pdf:
        associated = [str(spec.UF) for spec in pdf.Root.AF]
        assert associated == ["findings.json", "record.json"]
        assert all(str(spec.AFRelationship) == "/Source" for spec in pdf.Root.AF)
        assert sorted(pdf.attachments) == ["findings.json", "record.json"]
