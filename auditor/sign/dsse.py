"""DSSE v1, the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol.md).

A signature covers PAE(payloadType, payload), never the JSON around it:

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

with LEN the byte length in ASCII decimal and type UTF-8. The envelope is written as canonical
JSON: {"payload": BASE64, "payloadType": TYPE, "signatures": [{"keyid": ID, "sig": BASE64}]};
a signer with a certificate adds "cert" (its PEM chain, leaf first) to its signature, which
securesystemslib keeps as an unrecognised field. Reading is strict: every field known, none twice,
base64 exact (standard or URL-safe, as the protocol allows), and every signature must verify with
a trusted key, not just one of them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.errors import EvidenceError, UsageError
from auditor.sign.canonical import canonical, exact_keys, load_strict
from auditor.sign.certs import parse_certificates
from auditor.sign.keys import Signer
from auditor.sign.trust import Verifiers

ENVELOPE_CAP = 64 << 20
MAX_SIGNATURES = 32
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign_envelope(payload: bytes, payload_type: str, signers: Sequence[Signer]) -> bytes:
    """The envelope (canonical JSON bytes) with one signature per signer."""
    if not payload_type:
        raise UsageError("a DSSE payloadType cannot be empty")
    if not signers:
        raise UsageError("nothing to sign with: no key given")
    if len({s.keyid for s in signers}) != len(signers):
        raise UsageError("the same key given twice")
    message = pae(payload_type, payload)
    signatures = []
    for signer in signers:
        entry = {"keyid": signer.keyid, "sig": _b64(signer.sign(message))}
        chain = signer.certificate_pem()
        if chain is not None:
            entry["cert"] = chain
        signatures.append(entry)
    return canonical({"payload": _b64(payload), "payloadType": payload_type, "signatures": signatures})


@dataclass(frozen=True)
class EnvelopeSignature:
    keyid: str
    sig: bytes
    cert: str | None


@dataclass(frozen=True)
class Envelope:
    """An envelope as read: decoded, structurally valid, NOT verified."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]


@dataclass(frozen=True)
class VerifiedEnvelope:
    """What a verified envelope says, and who signed it (identities and keyids, in signature order)."""

    payload_type: str
    payload: bytes
    signed_by: tuple[str, ...]
    keyids: tuple[str, ...]


def parse_envelope(envelope: bytes, *, where: str = "envelope") -> Envelope:
    """The envelope's fields, decoded; an EvidenceError naming `where` and the field when malformed."""
    data: Any = load_strict(envelope, where, ENVELOPE_CAP)
    exact_keys(data, where, {"payload", "payloadType", "signatures"})
    payload_type = data["payloadType"]
    if not isinstance(payload_type, str) or not payload_type:
        raise EvidenceError(f"{where}: payloadType: expected a non-empty string")
    payload = _unb64(data["payload"], f"{where}: payload")
    raw = data["signatures"]
    if not isinstance(raw, list):
        raise EvidenceError(f"{where}: signatures: expected a list")
    if not raw:
        raise EvidenceError(f"{where}: signatures: none (an unsigned envelope)")
    if len(raw) > MAX_SIGNATURES:
        raise EvidenceError(f"{where}: signatures: more than {MAX_SIGNATURES}")
    signatures = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        at = f"{where}: signatures[{index}]"
        exact_keys(item, at, {"keyid", "sig"}, frozenset({"cert"}))
        keyid, cert = item["keyid"], item.get("cert")
        if not isinstance(keyid, str) or not re.fullmatch(r"[0-9a-f]{64}", keyid):
            raise EvidenceError(f"{at}.keyid: expected 64 lowercase hex digits (a SHA-256 key id)")
        if keyid in seen:
            raise EvidenceError(f"{at}.keyid: a second signature by key {keyid[:16]}")
        seen.add(keyid)
        if cert is not None and not isinstance(cert, str):
            raise EvidenceError(f"{at}.cert: expected a PEM string")
        signatures.append(EnvelopeSignature(keyid, _unb64(item["sig"], f"{at}.sig"), cert))
    return Envelope(payload_type, payload, tuple(signatures))


def verify_envelope(
    envelope: bytes,
    verifiers: Verifiers,
    *,
    payload_type: str | None = None,
    where: str = "envelope",
) -> VerifiedEnvelope:
    """The envelope's payload, once every signature in it verifies with a key `verifiers` trust.

    `payload_type`, when given, is the one expected. Anything else (a malformed or unsigned
    envelope, an unknown key, an untrusted or expired certificate, a signature that does not
    verify) is an EvidenceError naming `where` and the field (exit 4). No verifiers at all is a
    UsageError: there is nothing to check the signatures against."""
    if not verifiers:
        raise UsageError(f"{where}: no key to verify the signature with: give --key PUB or --trust CERTS")
    parsed = parse_envelope(envelope, where=where)
    if payload_type is not None and parsed.payload_type != payload_type:
        raise EvidenceError(f"{where}: payloadType: {parsed.payload_type[:80]!r}, expected {payload_type!r}")
    message = pae(parsed.payload_type, parsed.payload)
    identities = []
    for index, signature in enumerate(parsed.signatures):
        at = f"{where}: signatures[{index}]"
        chain = parse_certificates(signature.cert.encode(), f"{at}.cert", EvidenceError) if signature.cert else []
        if signature.cert and not chain:
            raise EvidenceError(f"{at}.cert: holds no certificate")
        verifier = verifiers.resolve(signature.keyid, chain, where=at)
        if not verifier.verify(signature.sig, message):
            raise EvidenceError(
                f"{at}.sig: does not verify with the key of {verifier.identity} ({signature.keyid[:16]})"
            )
        identities.append(verifier.identity)
    return VerifiedEnvelope(
        parsed.payload_type, parsed.payload, tuple(identities), tuple(s.keyid for s in parsed.signatures)
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, where: str) -> bytes:
    """Base64, standard or URL-safe (DSSE allows either), padded or not, never a mix of the two, and
    in its one canonical spelling (unused bits zero), so no two strings decode to the same bytes."""
    if not isinstance(value, str):
        raise EvidenceError(f"{where}: expected a base64 string")
    url = "-" in value or "_" in value
    if not (_B64_URL if url else _B64).fullmatch(value) or ("=" in value and len(value) % 4):
        raise EvidenceError(f"{where}: not valid base64")
    padded = value + "=" * (-len(value) % 4)
    try:
        data = base64.urlsafe_b64decode(padded) if url else base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EvidenceError(f"{where}: not valid base64") from exc
    again = base64.urlsafe_b64encode(data) if url else base64.b64encode(data)
    if again.decode("ascii").rstrip("=") != value.rstrip("="):
        raise EvidenceError(f"{where}: not valid base64 (not its canonical spelling)")
    return data
