"""Keys and a certificate hierarchy built with `cryptography`, as an organisation's PKI hands them out."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC)
KINDS = ("ed25519", "p256", "p384", "rsa2048")


def new_key(kind: str) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(65537, int(kind.removeprefix("rsa")))


def write_key(path: Path, key: object, *, fmt: str = "pkcs8", passphrase: bytes | None = None) -> Path:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    private_format = (
        serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    )
    data = key.private_bytes(serialization.Encoding.PEM, private_format, encryption)  # type: ignore[attr-defined]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def cert(
    subject_key: object,
    cn: str,
    issuer_key: object,
    issuer: x509.Certificate | None = None,
    *,
    ca: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    signing: bool = True,
    email: str | None = None,
) -> x509.Certificate:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    name = x509.Name(attributes)
    public = subject_key.public_key()  # type: ignore[attr-defined]
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if ca:
        usage.update(key_cert_sign=True, crl_sign=True)
    elif signing:
        usage.update(digital_signature=True)
    else:
        usage.update(key_encipherment=True)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer is not None else name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or NOW - dt.timedelta(days=1))
        .not_valid_after(end or NOW + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)  # type: ignore[arg-type]


class Hierarchy:
    """root CA (P-256) -> intermediate CA (RSA 2048) -> leaf (Ed25519 unless told), with overrides for the leaf."""

    def __init__(self, leaf_kind: str = "ed25519", **leaf: object) -> None:
        self.root_key = new_key("p256")
        self.root = cert(self.root_key, "Test Root CA", self.root_key, ca=True)
        self.intermediate_key = new_key("rsa2048")
        self.intermediate = cert(self.intermediate_key, "Test Issuing CA", self.root_key, self.root, ca=True)
        self.leaf_key = new_key(leaf_kind)
        self.leaf = cert(
            self.leaf_key,
            "Grace Hopper",
            self.intermediate_key,
            self.intermediate,
            email="grace@example.org",
            **leaf,  # type: ignore[arg-type]
        )

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """KEY (0600), CERT (leaf + intermediate PEM), TRUST (the root PEM)."""
        key = write_key(folder / "leaf.key", self.leaf_key)
        chain = folder / "leaf-chain.pem"
        chain.write_bytes(pem(self.leaf, self.intermediate))
        trust = folder / "root.pem"
        trust.write_bytes(pem(self.root))
        return key, chain, trust


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
