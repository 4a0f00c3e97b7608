"""What `auditor keys show` says about a key, public key or certificate file: never private material."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from auditor.errors import UsageError
from auditor.files import read_input
from auditor.sign.certs import identity_of, parse_certificates, validate_chain
from auditor.sign.keys import KEY_FILE_CAP, PKCS12_SUFFIXES, PassphraseSource, load_signer
from auditor.sign.trust import load_verifiers, read_public
from auditor.text import one_line

Facts = list[tuple[str, str]]


def describe_file(path: Path, *, passphrase: PassphraseSource | None = None, now: dt.datetime | None = None) -> Facts:
    """(label, value) lines about the file at `path`: its kind, algorithm, keyid, identity, and for
    a certificate its subject, issuer and validity at `now`."""
    now = now or dt.datetime.now(dt.UTC)
    data = read_input(path, "a key or certificate file", KEY_FILE_CAP)
    if path.suffix.lower() in PKCS12_SUFFIXES or b"PRIVATE KEY-----" in data or not data.lstrip().startswith(b"-"):
        if not data.lstrip().startswith(b"-") and path.suffix.lower() not in PKCS12_SUFFIXES:
            try:  # a DER certificate is public; anything else binary is taken for PKCS#12
                x509.load_der_x509_certificate(data)
            except ValueError:
                pass
            else:
                return _public(path, now)
        signer = load_signer(path, passphrase=passphrase)
        container = "PKCS#12" if not data.lstrip().startswith(b"-") else "PEM"
        encrypted = container == "PKCS#12" or b"ENCRYPTED" in data
        facts = [
            ("file", str(path)),
            ("contents", f"private key ({container}, {'encrypted' if encrypted else 'not encrypted'})"),
            ("algorithm", signer.algorithm),
            ("keyid", signer.keyid),
            ("identity", signer.identity),
        ]
        if signer.certificate is not None:
            facts += _certificate(signer.certificate, now, "certificate")
        facts += [(f"chain[{i}]", one_line(_name(c.subject), 200)) for i, c in enumerate(signer.chain)]
        return facts
    return _public(path, now)


def check_trust(
    path: Path, trust: list[Path], *, passphrase: PassphraseSource | None = None, moment: dt.datetime | None = None
) -> str:
    """Who the certificate in `path` names, once its chain (the file's other certificates) validates
    against the roots in `trust` at `moment`; an EvidenceError (exit 4) when it does not."""
    data = read_input(path, "a key or certificate file", KEY_FILE_CAP)
    if path.suffix.lower() in PKCS12_SUFFIXES or b"PRIVATE KEY-----" in data:
        signer = load_signer(path, passphrase=passphrase)
        if signer.certificate is None:
            raise UsageError(f"{path}: a key without a certificate: nothing to check against --trust")
        leaf, chain = signer.certificate, list(signer.chain)
    else:
        certs = parse_certificates(data, str(path), UsageError)
        if not certs:
            raise UsageError(f"{path}: a public key without a certificate: nothing to check against --trust")
        leaf, chain = certs[0], certs[1:]
    roots = load_verifiers(trust=trust).roots
    validate_chain(leaf, chain, roots, where=str(path), moment=moment)
    return identity_of(leaf)


def _public(path: Path, now: dt.datetime) -> Facts:
    facts = [("file", str(path))]
    for index, verifier in enumerate(read_public(path)):
        prefix = "" if index == 0 else f"[{index}] "
        kind = "certificate" if verifier.certificate is not None else "public key"
        facts += [
            (f"{prefix}contents", kind),
            (f"{prefix}algorithm", verifier.algorithm),
            (f"{prefix}keyid", verifier.keyid),
            (f"{prefix}identity", verifier.identity),
        ]
        if verifier.certificate is not None:
            facts += _certificate(verifier.certificate, now, f"{prefix}certificate")
    return facts


def _certificate(cert: x509.Certificate, now: dt.datetime, label: str) -> Facts:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    status = "expired" if now > end else "not yet valid" if now < start else "valid"
    self_signed = cert.issuer == cert.subject
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        uses = [("digitalSignature", usage.digital_signature), ("nonRepudiation", usage.content_commitment)]
        usage_text = ", ".join(name for name, on in uses if on) or "no signing usage"
    except x509.ExtensionNotFound:
        usage_text = "not restricted"
    return [
        (f"{label} subject", one_line(_name(cert.subject), 300)),
        (f"{label} issuer", "itself (self-signed)" if self_signed else one_line(_name(cert.issuer), 300)),
        (f"{label} valid", f"{start:%Y-%m-%d %H:%M:%S}Z to {end:%Y-%m-%d %H:%M:%S}Z ({status})"),
        (f"{label} key usage", usage_text),
    ]


def _name(name: x509.Name) -> str:
    return name.rfc4514_string({NameOID.EMAIL_ADDRESS: "emailAddress"})
