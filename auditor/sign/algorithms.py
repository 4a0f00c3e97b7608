"""The signature schemes auditor signs and verifies with, named as securesystemslib names them.

    ed25519               Ed25519 (RFC 8032)
    ecdsa-sha2-nistp256   ECDSA on P-256 with SHA-256, DER-encoded signature
    ecdsa-sha2-nistp384   ECDSA on P-384 with SHA-384, DER-encoded signature
    rsassa-pss-sha256     RSA (2048 bits or more), PSS with MGF1-SHA-256; signed with a salt as long as
                          the digest (securesystemslib's choice), verified with any salt length

A key's id is the SHA-256 of its SubjectPublicKeyInfo DER, hex: the same for a key file, its
public half and any certificate that carries it.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

MIN_RSA_BITS = 2048
_CURVES: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "secp256r1": ("ecdsa-sha2-nistp256", hashes.SHA256()),
    "secp384r1": ("ecdsa-sha2-nistp384", hashes.SHA384()),
}


def unsupported(key: object) -> str | None:
    """Why auditor will not sign or verify with `key` (private or public), or None when it will."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            return f"an ECDSA key on {key.curve.name}: only P-256 and P-384 are supported"
        return None
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"an RSA key of {key.key_size} bits: at least {MIN_RSA_BITS} are needed"
        return None
    return f"a {type(key).__name__.removeprefix('_')} key: only Ed25519, ECDSA P-256/P-384 and RSA are supported"


def spki_der(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def keyid_of(key: PublicKey) -> str:
    return hashlib.sha256(spki_der(key)).hexdigest()


def scheme_of(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVES[key.curve.name][0]
    return "rsassa-pss-sha256"


def describe(key: PublicKey | PrivateKey) -> str:
    """'Ed25519', 'ECDSA P-256', 'RSA 3072'."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"ECDSA P-{key.curve.key_size}"
    return f"RSA {key.key_size}"


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(_CURVES[key.curve.name][1]))
    return key.sign(
        data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256()
    )


def verify_bytes(key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_CURVES[key.curve.name][1]))
        else:
            key.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
    except (InvalidSignature, ValueError):
        return False
    return True
