"""PAdES signatures on the PDF dossier, made and checked with pyHanko, fetching nothing on their own.

`sign_pdf` appends one incremental update holding an invisible signature (SubFilter
ETSI.CAdES.detached: PAdES baseline B-B; B-T when a time-stamp authority is named, its RFC 3161
token over the signature value kept as an unsigned attribute). The bytes before the update are left
exactly as WeasyPrint wrote them, so a PDF/A-3b dossier keeps its attachments; the widget has the
Print flag and a zero-size box (no appearance needed), as PDF/A asks, and the file stays PDF 1.7
(`_Pdf17Writer`: pyHanko would declare PDF 2.0 for ECDSA and Ed25519 signatures, ISO/TS 32002, and
PDF/A-3 is a profile of PDF 1.7). Nothing is fetched while signing except the time-stamp
URL the user gave: no validation context is passed, so pyHanko neither builds a chain nor looks for
OCSP/CRL/AIA, and the time-stamp request goes through `_TsaClient` (urllib, no redirects, a bounded
answer) rather than pyHanko's aiohttp client, which follows redirects.

`verify_pdf` reads every signature with pyHanko's validator against the given trust roots only
(never the operating system's list), `allow_fetching=False`, revocation "soft-fail" (no revocation
data is fetched, and none is required). The PDF is untrusted input: anything pyHanko raises while
reading it becomes a problem in the report, never a traceback.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import logging
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from auditor.errors import UsageError

with warnings.catch_warnings():
    # pyHanko 0.38 imports cryptography's DSA classes, which warn on import; a user signing a PDF
    # would see that warning about an algorithm auditor never uses.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from pyhanko.pdf_utils.extensions import DeveloperExtension
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore, SimpleTrustManager

# pyHanko logs every failed path build with a traceback; unconfigured, Python would print it to stderr.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

FIELD_NAME = "AuditorSignature"
TSA_TIMEOUT_S = 10
MAX_TSA_RESPONSE = 256 * 1024  # a time-stamp token with a few certificates is a few KiB
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
# Checked on Debian 12 (poppler 22.12 `pdfsig` on NSS 3.87): an Ed25519 PAdES signature is reported as
# "Document isn't signed or corrupted data.", while ECDSA P-256/P-384 and RSA verify.
ED25519_READER_WARNING = (
    "most PDF readers cannot check Ed25519 signatures yet; sign the PDF with an ECDSA or RSA key/certificate for them"
)


class PdfSigningError(UsageError):
    """The PDF could not be signed with what the user gave: a key the certificate does not match, an
    unsupported key type, a time-stamp authority that does not answer well. Exit 2."""


def reader_warnings(key: PrivateKey) -> tuple[str, ...]:
    """What a PDF reader will make of a signature by `key`: one line per caveat (none for ECDSA/RSA)."""
    return (ED25519_READER_WARNING,) if isinstance(key, ed25519.Ed25519PrivateKey) else ()


def sign_pdf(
    pdf: bytes,
    *,
    key: PrivateKey,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    tsa_url: str | None = None,
    reason: str,
    name: str | None = None,
    location: str | None = None,
) -> bytes:
    """`pdf` with one PAdES signature appended as an incremental update (B-B; B-T with `tsa_url`).

    `certificate` is the signer's (its public key must be `key`'s); `chain` the intermediates (and
    the root, if it should travel with the signature) that let a reader build the path.
    """
    _check_key(key, certificate)
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(certificate),
        signing_key=_asn1_key(key),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(c) for c in (certificate, *chain)]
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason,
        name=name,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    timestamper = _TsaClient(tsa_url) if tsa_url is not None else None
    try:
        writer = _Pdf17Writer(io.BytesIO(pdf), strict=True)
        output: io.BytesIO = signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper)
    except TimestampRequestError as exc:
        raise PdfSigningError(f"time-stamp authority {tsa_url}: {_first_line(exc)}") from exc
    return output.getvalue()


@dataclass(frozen=True)
class TimeStamp:
    """An RFC 3161 signature time stamp: when, by whom, and whether its own signature checks out."""

    time: datetime
    authority: str  # the time-stamp authority's certificate subject
    intact: bool  # the token's signature is valid and it stamps this signature's value
    trusted: bool  # the authority's certificate chains to a trust root

    @property
    def valid(self) -> bool:
        return self.intact and self.trusted


@dataclass(frozen=True)
class PdfSignature:
    """One signature in a PDF, as pyHanko's validator judged it."""

    field: str
    signer: str  # the signer certificate's subject (RFC 4514)
    intact: bool  # the signed bytes hash to the signed digest, and the signature over it is valid
    whole_document: bool  # nothing was appended after it (no later revision)
    trusted: bool  # the signer certificate chains to a given trust root, with a signing key usage
    expired: bool  # the signer certificate's validity has ended (or not yet begun)
    trust_problem: str | None  # pyHanko's AdES sub-indication when not trusted, e.g. NO_CERTIFICATE_CHAIN_FOUND
    signed_at: datetime | None  # the time the signer claims (not proof; the time stamp is)
    timestamp: TimeStamp | None

    @property
    def ok(self) -> bool:
        stamp_ok = self.timestamp is None or self.timestamp.valid
        return self.intact and self.whole_document and self.trusted and not self.expired and stamp_ok

    def problems(self) -> tuple[str, ...]:
        out = []
        if not self.intact:
            out.append("the signed bytes were changed, or the signature does not match them")
        if not self.whole_document:
            out.append("the file was changed after it was signed (an incremental update follows the signature)")
        if self.expired:
            out.append(f"the signer's certificate ({self.signer}) is expired or not yet valid")
        if not self.trusted:
            out.append(f"the signer's certificate ({self.signer}) is not trusted: {self.trust_problem or 'no path'}")
        if self.timestamp is not None and not self.timestamp.valid:
            what = "does not verify" if not self.timestamp.intact else "is not from a trusted authority"
            out.append(f"the time stamp by {self.timestamp.authority} {what}")
        return tuple(f"signature {self.field}: {problem}" for problem in out)


@dataclass(frozen=True)
class PdfSignatureReport:
    signatures: tuple[PdfSignature, ...]
    unreadable: tuple[str, ...] = ()  # signatures (or the whole file) pyHanko could not evaluate, and why

    @property
    def ok(self) -> bool:
        """At least one signature, every one intact, trusted, unexpired and covering the whole file."""
        return bool(self.signatures) and not self.unreadable and all(s.ok for s in self.signatures)

    def problems(self) -> tuple[str, ...]:
        """One line per reason the PDF does not verify (empty when `ok`)."""
        out = list(self.unreadable)
        if not self.signatures and not self.unreadable:
            out.append("the PDF carries no signature")
        for signature in self.signatures:
            out.extend(signature.problems())
        return tuple(out)


def verify_pdf(
    pdf: bytes, *, trust_roots: Sequence[x509.Certificate], now: datetime | None = None
) -> PdfSignatureReport:
    """Every signature in `pdf`, checked offline against `trust_roots` only, at `now` (default: now)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # untrusted bytes: pyHanko's parser raises many kinds
        return PdfSignatureReport(signatures=(), unreadable=(f"not a PDF pyHanko can read: {_first_line(exc)}",))
    roots = [_asn1_cert(root) for root in trust_roots]
    found: list[PdfSignature] = []
    unreadable: list[str] = []
    for index, signature in enumerate(embedded, start=1):
        label = _label(signature, index)
        if signature.sig_object_type != "/Sig":
            unreadable.append(f"signature {label}: a {signature.sig_object_type} entry, which auditor does not check")
            continue
        context = ValidationContext(
            trust_manager=SimpleTrustManager.build(trust_roots=roots),
            allow_fetching=False,
            revocation_mode="soft-fail",
            moment=now or datetime.now(UTC),
        )
        try:
            status = validate_pdf_signature(signature, context, key_usage_settings=_KEY_USAGE)
        except Exception as exc:  # a malformed signature dictionary or CMS blob
            unreadable.append(f"signature {label}: cannot be evaluated: {_first_line(exc)}")
            continue
        found.append(_summary(label, status, now or datetime.now(UTC)))
    return PdfSignatureReport(signatures=tuple(found), unreadable=tuple(unreadable))


# A signer certificate may say digitalSignature or nonRepudiation (pyHanko's default asks for the latter only).
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)


def _summary(label: str, status: PdfSignatureStatus, now: datetime) -> PdfSignature:
    cert = status.signing_cert
    validity = cert["tbs_certificate"]["validity"]
    expired = not validity["not_before"].native <= now <= validity["not_after"].native
    stamp = status.timestamp_validity
    timestamp = None
    if stamp is not None:
        timestamp = TimeStamp(
            time=stamp.timestamp,
            authority=_subject(stamp.signing_cert),
            intact=stamp.intact and stamp.valid,
            trusted=stamp.trusted,
        )
    problem = status.trust_problem_indic
    return PdfSignature(
        field=label,
        signer=_subject(cert),
        intact=status.intact and status.valid,
        whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=status.trusted,
        expired=expired,
        trust_problem=None if status.trusted else (problem.standard_name if problem is not None else None),
        signed_at=status.signer_reported_dt,
        timestamp=timestamp,
    )


def _label(signature: Any, index: int) -> str:
    try:
        return str(signature.field_name)
    except Exception:  # a field without a usable /T
        return f"#{index}"


class _Pdf17Writer(IncrementalPdfFileWriter):
    """An incremental writer that keeps a PDF 1.x file 1.x.

    For ECDSA and EdDSA keys pyHanko registers the ISO/TS 32002 extension, whose base version is 2.0, and
    so raises the catalog's /Version to 2.0. A PDF/A-3 file must stay a PDF 1.7 file, and poppler and
    pyHanko verify the same ETSI.CAdES.detached signature either way (tests/sign/test_pdf.py)."""

    def ensure_output_version(self, version: tuple[int, int]) -> None:
        super().ensure_output_version(min(version, (1, 7)))  # type: ignore[no-untyped-call]

    def register_extension(self, ext: DeveloperExtension) -> None:
        if self.output_version < (2, 0) and str(ext.base_version) == "/2.0":
            return
        super().register_extension(ext)


class _TsaClient(TimeStamper):
    """RFC 3161 over HTTP POST to exactly one URL: no redirects, a timeout, a bounded answer."""

    def __init__(self, url: str) -> None:
        if not url.lower().startswith(("https://", "http://")):
            raise PdfSigningError(f"--tsa {url}: give an http:// or https:// URL")
        super().__init__()  # type: ignore[no-untyped-call]
        self.url = url

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        body = await asyncio.to_thread(self._post, req.dump())
        try:
            return tsp.TimeStampResp.load(body)
        except ValueError as exc:
            raise TimestampRequestError(f"not an RFC 3161 answer: {exc}") from exc

    def _post(self, body: bytes) -> bytes:
        try:
            return self._exchange(body)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # refused, timed out, 3xx/4xx/5xx, garbled
            raise TimestampRequestError(_first_line(exc)) from exc

    def _exchange(self, body: bytes) -> bytes:
        opener = urllib.request.build_opener(_NoRedirects)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url, data=body, headers={"Content-Type": "application/timestamp-query"}, method="POST"
        )
        with opener.open(request, timeout=TSA_TIMEOUT_S) as response:
            kind = response.headers.get("Content-Type", "")
            if kind.split(";")[0].strip().lower() != "application/timestamp-reply":
                raise TimestampRequestError(f"answered {kind or 'no Content-Type'}, not application/timestamp-reply")
            data: bytes = response.read(MAX_TSA_RESPONSE + 1)
        if len(data) > MAX_TSA_RESPONSE:
            raise TimestampRequestError(f"answer larger than {MAX_TSA_RESPONSE} bytes")
        return data


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError: only the configured URL is ever asked


def _check_key(key: PrivateKey, certificate: x509.Certificate) -> None:
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, _CURVES):
        raise PdfSigningError(f"ECDSA curve {key.curve.name} is not one PDF readers check: use P-256 or P-384")
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PdfSigningError(f"cannot sign a PDF with a {type(key).__name__}: use Ed25519, ECDSA or RSA")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    if mine != certificate.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise PdfSigningError(f"the certificate ({certificate.subject.rfc4514_string()}) is not for this key")


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    # In memory only: pyHanko's SimpleSigner wants the key as PKCS#8; nothing is written anywhere.
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def _subject(certificate: asn1_x509.Certificate) -> str:
    try:
        subject = x509.load_der_x509_certificate(certificate.dump()).subject
        return subject.rfc4514_string({NameOID.EMAIL_ADDRESS: "E"})  # as PDF readers show it, not as an OID
    except ValueError:
        return str(certificate.subject.human_friendly)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
