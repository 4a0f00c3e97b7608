"""X.509 certificates: who a certificate names, reading PEM bundles, and chains checked offline.

Chains are validated with pyhanko-certvalidator (RFC 5280 path validation), not with
cryptography's `x509.verification`: the latter implements the CA/Browser Forum's web profile
(server and client TLS certificates: a SAN is required, EKUs are checked for TLS), so an
organisation's document-signing certificate, or the self-signed one `auditor keys generate`
writes, would be refused for reasons that do not apply to signed evidence. pyhanko-certvalidator
is the validator pyHanko uses for the PDF's signature, so the bundle and the PDF are judged alike,
and it runs with fetching off: no AIA, CRL or OCSP request is ever made (revocation is therefore
not checked; a bundle carries no revocation data).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from auditor.errors import AuditorError, EvidenceError
from auditor.sign.algorithms import PrivateKey, PublicKey, unsupported
from auditor.text import one_line

MAX_CHAIN = 10
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.DOTALL)


def public_key_of(cert: x509.Certificate, where: str, error: type[AuditorError]) -> PublicKey:
    try:
        key = cert.public_key()
    except (ValueError, TypeError) as exc:  # an algorithm cryptography does not know
        raise error(f"{where}: the certificate's public key cannot be read ({one_line(exc, 120)})") from exc
    problem = unsupported(key)
    if problem is not None or not isinstance(key, PublicKey):
        raise error(f"{where}: the certificate holds {problem}")
    return key


def identity_of(cert: x509.Certificate) -> str:
    """'Full Name <email>', from the subject's CN and its email address (subject or SAN)."""
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    emails = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails += san.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        pass
    name = one_line(names[0], 200) if names else ""
    email = one_line(emails[0], 200) if emails else ""
    if name and email:
        return f"{name} <{email}>"
    return name or email or f"key {cert_keyid(cert)[:16]}"


def cert_keyid(cert: x509.Certificate) -> str:
    """The keyid of the key `cert` carries: SHA-256 of its SubjectPublicKeyInfo, as for the key itself."""
    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # a key cryptography cannot read: its bytes as the certificate holds them
        return hashlib.sha256(_spki(cert)).hexdigest()
    return hashlib.sha256(
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).hexdigest()


def _spki(cert: x509.Certificate) -> bytes:
    from asn1crypto import x509 as asn1_x509

    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return bytes(parsed["tbs_certificate"]["subject_public_key_info"].dump())


def parse_certificates(data: bytes, where: str, error: type[AuditorError]) -> list[x509.Certificate]:
    """Every certificate in PEM `data` (in order), or DER `data` holding one."""
    try:
        if b"-----BEGIN" in data:
            blocks = _PEM_CERT.findall(data)
            if len(blocks) > 1000:
                raise error(f"{where}: more than 1000 certificates")
            return [x509.load_pem_x509_certificate(block) for block in blocks]
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise error(f"{where}: not a valid X.509 certificate ({one_line(exc, 120)})") from exc


def to_pem(certs: Sequence[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


def validate_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    where: str,
    moment: dt.datetime | None = None,
) -> None:
    """That `leaf` chains to one of `roots` through `intermediates`, every certificate valid at
    `moment` (default now), and that the leaf may sign (keyUsage digitalSignature or
    nonRepudiation, when it has a keyUsage at all); else an EvidenceError naming `where` (exit 4)."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, ValidationContext, errors

    def as_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    if not roots:
        raise EvidenceError(f"{where}: no trust roots to check the certificate against (give --trust CERTS)")
    context = ValidationContext(
        trust_roots=[as_asn1(r) for r in roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment,
    )
    validator = CertificateValidator(as_asn1(leaf), [as_asn1(c) for c in intermediates], context)
    who = identity_of(leaf)
    try:
        asyncio.run(validator.async_validate_path())
    except errors.ExpiredError as exc:
        raise EvidenceError(f"{where}: certificate of {who}: expired ({_reason(exc)})") from exc
    except errors.NotYetValidError as exc:
        raise EvidenceError(f"{where}: certificate of {who}: not yet valid ({_reason(exc)})") from exc
    except errors.PathBuildingError as exc:
        raise EvidenceError(f"{where}: certificate of {who}: untrusted: it does not chain to any --trust root") from exc
    except (errors.PathValidationError, errors.ValidationError) as exc:
        raise EvidenceError(f"{where}: certificate of {who}: untrusted ({_reason(exc)})") from exc
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise EvidenceError(
            f"{where}: certificate of {who}: wrong key usage: neither digitalSignature nor nonRepudiation"
        )


def _reason(exc: Exception) -> str:
    text = one_line(exc, 200)
    return text.removeprefix("The path could not be validated because ")


def self_signed(key: PrivateKey, *, name: str, email: str | None, now: dt.datetime, days: int) -> x509.Certificate:
    """A self-signed certificate for `key`: CN=name (+ emailAddress and a SAN email), allowed to
    sign (digitalSignature, nonRepudiation), not a CA."""
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    subject = x509.Name(attributes)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if email:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)
