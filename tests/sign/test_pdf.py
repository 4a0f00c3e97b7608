"""PAdES signatures on the PDF dossier: signed with pyHanko, checked by pyHanko's validator (verify_pdf)
and independently by poppler's `pdfsig`, with a real RFC 3161 time-stamp authority on loopback."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint import HTML

from auditor.check.evaluate import CheckRequest
from auditor.render.dossier.make import make_report
from auditor.sign.pdf import (
    ED25519_READER_WARNING,
    FIELD_NAME,
    PdfSigningError,
    reader_warnings,
    sign_pdf,
    verify_pdf,
)
from tests.render.dossier.test_report import FIXED, _request
from tests.sign.pdf_pki import KEY_TYPES, Pki, certificate, new_key, tsa_server

VALID = "Signature is Valid."


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    """A small PDF/A-3b from WeasyPrint, as the dossier is written."""
    html = "<h1>Audit dossier</h1><p>Run 01JGZ0000000000000000000AA: verdict compliant.</p>"
    pdf: bytes = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    return pdf


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


def pdfsig(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    """pdfsig's report on the first signature, as {"Signature Validation": ..., ...}.

    pdfsig exits 0 whatever it finds (even "Digest Mismatch."), so only its words count. -no-ocsp: it
    must not go online; the test certificates name no OCSP responder anyway."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True, timeout=60, check=False)
    block = done.stdout.partition("Signature #1:")[2]
    assert block, done.stdout + done.stderr
    fields = dict(re.findall(r"^  - ([^:\n]+): (.*)$", block, re.MULTILINE))
    fields["coverage"] = "whole" if "  - Total document signed" in block else "partial"
    return fields


def flip_in_signed_range(signed: bytes) -> bytes:
    """Change one letter inside the first signed byte range: the producer name WeasyPrint wrote."""
    at = signed.index(b"WeasyPrint")
    assert at < signed.index(b"/ByteRange")
    return signed[:at] + b"X" + signed[at + 1 :]


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_a_signature_by_a_ca_issued_certificate_verifies_with_pyhanko(kind: str, pki: Pki, plain_pdf: bytes) -> None:
    key, cert = pki.leaf(kind)
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
    assert signed.startswith(plain_pdf)  # an incremental update: WeasyPrint's bytes untouched
    report = verify_pdf(signed, trust_roots=[pki.root])
    assert report.ok, report.problems()
    (signature,) = report.signatures
    assert (signature.field, signature.signer) == (FIELD_NAME, f"CN=Jane Auditor ({kind})")
    assert signature.intact and signature.whole_document and signature.trusted and not signature.expired
    assert signature.timestamp is None
    assert signature.signed_at is not None and abs(signature.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    untrusted = verify_pdf(signed, trust_roots=[Pki("another root").root])
    assert not untrusted.ok and untrusted.signatures[0].intact and not untrusted.signatures[0].trusted
    assert untrusted.problems() == (
        f"signature {FIELD_NAME}: the signer's certificate (CN=Jane Auditor ({kind})) is not trusted: "
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    look_alike = verify_pdf(signed, trust_roots=[Pki().root])  # same name as the real root, another key
    assert not look_alike.ok and look_alike.signatures[0].trust_problem == "CERTIFICATE_CHAIN_GENERAL_FAILURE"


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa"])
def test_pdfsig_says_valid_then_not_after_one_byte_changes(
    kind: str, pki: Pki, plain_pdf: bytes, tmp_path: Path
) -> None:
    key, cert = pki.leaf(kind)
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
    found = pdfsig(signed, tmp_path)
    assert found["Signature Validation"] == VALID
    assert found["Signer Certificate Common Name"] == f"Jane Auditor ({kind})"
    assert found["Signature Type"] == "ETSI.CAdES.detached" and found["coverage"] == "whole"
    # No NSS database trusts the test root: pdfsig says so, which is about trust, not the signed bytes.
    assert found["Certificate Validation"] == "Certificate issuer isn't Trusted."

    tampered = flip_in_signed_range(signed)
    assert pdfsig(tampered, tmp_path)["Signature Validation"] == "Digest Mismatch."
    report = verify_pdf(tampered, trust_roots=[pki.root])
    assert not report.ok and not report.signatures[0].intact
    assert report.problems()[0].endswith("the signed bytes were changed, or the signature does not match them")


def test_a_self_signed_certificate_verifies_once_it_is_the_trust_root(plain_pdf: bytes, tmp_path: Path) -> None:
    key = new_key("p256")
    cert = certificate(key, "Jane Auditor (self-signed)")
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, reason="Approved dossier", name="Jane", location="Ghent")
    found = pdfsig(signed, tmp_path)
    assert found["Signature Validation"] == VALID and found["coverage"] == "whole"
    assert found["Certificate Validation"] == "Certificate issuer is unknown."
    assert verify_pdf(signed, trust_roots=[cert]).ok
    assert not verify_pdf(signed, trust_roots=[]).ok  # never the operating system's list
    fields = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].sig_object
    assert (fields["/Reason"], fields["/Name"], fields["/Location"]) == ("Approved dossier", "Jane", "Ghent")


def test_pdfsig_cannot_check_ed25519_so_auditor_warns(pki: Pki, plain_pdf: bytes, tmp_path: Path) -> None:
    """A fact of Debian 12 (poppler 22.12 on NSS 3.87): its NSS has no Ed25519 in CMS. If this fails,
    pdfsig learnt Ed25519 and the warning can go."""
    key, cert = pki.leaf("ed25519")
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
    assert pdfsig(signed, tmp_path)["Signature Validation"] == "Document isn't signed or corrupted data."
    assert verify_pdf(signed, trust_roots=[pki.root]).ok  # the signature itself is fine
    assert reader_warnings(key) == (ED25519_READER_WARNING,)
    assert reader_warnings(new_key("p256")) == () and reader_warnings(new_key("rsa")) == ()


def test_an_update_appended_after_signing_is_not_covered(pki: Pki, plain_pdf: bytes, tmp_path: Path) -> None:
    key, cert = pki.leaf("p256")
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root["/PageMode"] = generic.NameObject("/UseNone")  # any change: a reader would open it the same
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(signed) and len(updated) > len(signed)
    report = verify_pdf(updated, trust_roots=[pki.root])
    (signature,) = report.signatures
    assert signature.intact and signature.trusted and not signature.whole_document and not report.ok
    assert report.problems() == (
        f"signature {FIELD_NAME}: the file was changed after it was signed (an incremental update follows the "
        "signature)",
    )
    found = pdfsig(updated, tmp_path)
    assert found["Signature Validation"] == VALID and found["coverage"] == "partial"  # pdfsig: "Not total ..."


def test_a_time_stamped_signature_is_pades_b_t(pki: Pki, plain_pdf: bytes, tmp_path: Path) -> None:
    key, cert = pki.leaf("p256")
    with tsa_server(pki) as tsa:
        before = datetime.now(UTC).replace(microsecond=0)
        signed = sign_pdf(
            plain_pdf, key=key, certificate=cert, chain=[pki.root], tsa_url=tsa.url, reason="Approved dossier"
        )
        after = datetime.now(UTC)
    assert tsa.requests and set(tsa.requests) == {"/tsa"}
    report = verify_pdf(signed, trust_roots=[pki.root])
    assert report.ok, report.problems()
    stamp = report.signatures[0].timestamp
    assert stamp is not None and stamp.valid and stamp.authority == "CN=auditor test TSA"
    assert before <= stamp.time <= after
    assert pdfsig(signed, tmp_path)["Signature Validation"] == VALID

    # The time stamp's authority must be trusted too: a TSA from another PKI is reported.
    other = Pki("another root")
    with tsa_server(other) as foreign:
        stamped_elsewhere = sign_pdf(
            plain_pdf, key=key, certificate=cert, chain=[pki.root], tsa_url=foreign.url, reason="Approved dossier"
        )
    report = verify_pdf(stamped_elsewhere, trust_roots=[pki.root])
    stamp = report.signatures[0].timestamp
    assert stamp is not None and stamp.intact and not stamp.trusted and not report.ok
    assert report.problems() == (
        f"signature {FIELD_NAME}: the time stamp by CN=auditor test TSA is not from a trusted authority",
    )
    assert verify_pdf(stamped_elsewhere, trust_roots=[pki.root, other.root]).ok


def test_the_tsa_is_the_only_url_asked_and_redirects_are_not_followed(pki: Pki, plain_pdf: bytes) -> None:
    key, cert = pki.leaf("p256")
    with tsa_server(pki) as gone:
        closed_url = gone.url
    with tsa_server(pki) as target, tsa_server(pki, redirect_to=target.url) as redirecting:
        with pytest.raises(PdfSigningError, match=r"^time-stamp authority http://127\.0\.0\.1:\d+/tsa: .*307"):
            sign_pdf(plain_pdf, key=key, certificate=cert, tsa_url=redirecting.url, reason="r")
        assert redirecting.requests == ["/tsa"] and target.requests == []
    with pytest.raises(PdfSigningError, match=r"^time-stamp authority http://127\.0\.0\.1:\d+/tsa: "):
        sign_pdf(plain_pdf, key=key, certificate=cert, tsa_url=closed_url, reason="r")  # nobody listens now
    with pytest.raises(PdfSigningError, match=r"give an http:// or https:// URL"):
        sign_pdf(plain_pdf, key=key, certificate=cert, tsa_url="file:///etc/passwd", reason="r")


def test_an_expired_certificate_is_reported(pki: Pki, plain_pdf: bytes) -> None:
    key, cert = pki.leaf("p256", not_after=datetime.now(UTC) + timedelta(days=2))
    signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
    assert verify_pdf(signed, trust_roots=[pki.root]).ok
    later = verify_pdf(signed, trust_roots=[pki.root], now=datetime.now(UTC) + timedelta(days=3))
    (signature,) = later.signatures
    assert signature.intact and signature.expired and not later.ok
    assert f"signature {FIELD_NAME}: the signer's certificate (CN=Jane Auditor (p256)) is expired or not yet valid" in (
        later.problems()
    )


def test_a_key_the_certificate_is_not_for_is_refused(pki: Pki, plain_pdf: bytes) -> None:
    _, cert = pki.leaf("p256")
    with pytest.raises(PdfSigningError, match=r"the certificate \(CN=Jane Auditor \(p256\)\) is not for this key"):
        sign_pdf(plain_pdf, key=new_key("p256"), certificate=cert, reason="r")


def test_unsigned_and_unreadable_pdfs_are_reported_not_raised(plain_pdf: bytes, pki: Pki) -> None:
    unsigned = verify_pdf(plain_pdf, trust_roots=[pki.root])
    assert not unsigned.ok and unsigned.problems() == ("the PDF carries no signature",)
    for junk in (b"", b"%PDF-1.7\n" + b"\x00" * 100, plain_pdf[: len(plain_pdf) // 2]):
        report = verify_pdf(junk, trust_roots=[pki.root])
        assert not report.ok and report.problems()[0].startswith("not a PDF pyHanko can read: "), report


def test_the_signed_pdf_stays_pdf_a_3b_and_renders(pki: Pki, plain_pdf: bytes, tmp_path: Path) -> None:
    """What can be checked without veraPDF: the update keeps PDF 1.7, the PDF/A identification in the
    XMP, the Info and XMP dates in step, and a printable, zero-size widget; poppler renders page 1."""
    for kind in ("p256", "ed25519", "rsa"):
        key, cert = pki.leaf(kind)
        signed = sign_pdf(plain_pdf, key=key, certificate=cert, chain=[pki.root], reason="Approved dossier")
        update = signed[len(plain_pdf) :]
        assert b"/Version /2.0" not in update and b"/ISO_" not in update, kind
        reader = PdfFileReader(io.BytesIO(signed))
        xmp = reader.root["/Metadata"].data.decode()
        assert re.search(r"pdfaid:part[^0-9]{1,3}3", xmp) and re.search(r"pdfaid:conformance[^A-Z]{1,3}B", xmp)
        widget = reader.root["/AcroForm"]["/Fields"][0]
        assert int(widget["/F"]) & 4 and [float(x) for x in widget["/Rect"]] == [0, 0, 0, 0]
        assert "/AP" not in widget
    (tmp_path / "signed.pdf").write_bytes(signed)
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "30", "-png", str(tmp_path / "signed.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert (tmp_path / "page-1.png").read_bytes().startswith(b"\x89PNG")


def test_the_report_dataclasses_judge_every_signature() -> None:
    from auditor.sign.pdf import PdfSignature, PdfSignatureReport, TimeStamp

    good = PdfSignature(
        field="S", signer="CN=x", intact=True, whole_document=True, trusted=True, expired=False,
        trust_problem=None, signed_at=None, timestamp=TimeStamp(datetime.now(UTC), "CN=t", True, True),
    )  # fmt: skip
    assert PdfSignatureReport((good,)).ok and not PdfSignatureReport(()).ok
    assert not PdfSignatureReport((good, replace(good, trusted=False, trust_problem="EXPIRED"))).ok
    assert not PdfSignatureReport((good,), unreadable=("signature #2: cannot be evaluated: x",)).ok


def test_the_real_dossier_signed_verifies_everywhere(pki: Pki, tmp_path: Path) -> None:
    """The PDF/A-3b dossier `auditor report --pdfa` writes, signed: pdfsig, pyHanko and pdfdetach agree."""
    folder = tmp_path / "dossier"
    folder.mkdir()
    request = _request(folder)
    raw = (folder / "record.json").read_bytes()
    real = CheckRequest(
        **{**request.__dict__, "record_path": folder / "record.json", "record_sha256": hashlib.sha256(raw).hexdigest()}
    )
    dossier = make_report(real, folder / "out", ("pdf",), pdfa=True, now=FIXED).files[0].read_bytes()
    key, cert = pki.leaf("p384")
    with tsa_server(pki) as tsa:
        signed = sign_pdf(dossier, key=key, certificate=cert, chain=[pki.root], tsa_url=tsa.url, reason="Approved")
    found = pdfsig(signed, tmp_path)
    assert found["Signature Validation"] == VALID and found["coverage"] == "whole"
    report = verify_pdf(signed, trust_roots=[pki.root])
    assert report.ok and report.signatures[0].timestamp is not None, report.problems()
    (tmp_path / "signed.pdf").write_bytes(signed)
    listed = subprocess.run(["pdfdetach", "-list", str(tmp_path / "signed.pdf")], capture_output=True, text=True)
    assert listed.stdout.splitlines()[1:] == ["1: findings.json", "2: record.json"]
    tampered = flip_in_signed_range(signed)
    assert pdfsig(tampered, tmp_path)["Signature Validation"] == "Digest Mismatch."
    assert not verify_pdf(tampered, trust_roots=[pki.root]).signatures[0].intact
