"""Verifiers: the public keys a signature may be made with, pinned (`--key`) or vouched for by a
certificate that chains to a trust root (`--trust`).

A pinned key is trusted as given: a certificate given with `--key` is a way to pass its key, and
its dates are not checked (there is no trusted time to check them at). A key that is not pinned is
accepted only through the certificate chain a signature carries, validated offline against the
trust roots at `moment` (default now): expired, not yet valid, untrusted, or not allowed to sign
is an EvidenceError (exit 4).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from auditor.errors import EvidenceError, UsageError
from auditor.files import read_input
from auditor.sign.algorithms import PublicKey, describe, keyid_of, unsupported, verify_bytes
from auditor.sign.certs import MAX_CHAIN, identity_of, parse_certificates, public_key_of, validate_chain

PUBLIC_FILE_CAP = 1 << 20


@dataclass(frozen=True)
class Verifier:
    """One public key: `verify` says whether `signature` over `data` was made with its private half."""

    keyid: str
    public_key: PublicKey
    identity: str
    certificate: x509.Certificate | None = None

    @property
    def algorithm(self) -> str:
        return describe(self.public_key)

    def verify(self, signature: bytes, data: bytes) -> bool:
        return verify_bytes(self.public_key, signature, data)


@dataclass(frozen=True)
class Verifiers:
    """Pinned keys by keyid, and trust roots for keys that come with a certificate chain."""

    keys: Mapping[str, Verifier] = field(default_factory=dict)
    roots: tuple[x509.Certificate, ...] = ()
    moment: dt.datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.keys or self.roots)

    def resolve(self, keyid: str, chain: Sequence[x509.Certificate] = (), *, where: str) -> Verifier:
        """The verifier for a signature by `keyid` that carried `chain` (leaf first, maybe empty);
        an EvidenceError naming `where` when no pinned key and no trusted chain vouches for it."""
        if chain:
            leaf = chain[0]
            leaf_key = public_key_of(leaf, where, EvidenceError)
            if keyid_of(leaf_key) != keyid:
                raise EvidenceError(f"{where}: the certificate carried is not for key {keyid[:16]}")
        pinned = self.keys.get(keyid)
        if pinned is not None:
            return pinned
        if not chain:
            raise EvidenceError(f"{where}: signed by an unknown key {keyid[:16]} (not one given with --key)")
        if len(chain) > MAX_CHAIN + 1:
            raise EvidenceError(f"{where}: a certificate chain of more than {MAX_CHAIN + 1} certificates")
        validate_chain(chain[0], chain[1:], self.roots, where=where, moment=self.moment)
        return Verifier(keyid, leaf_key, identity_of(chain[0]), chain[0])


def load_verifiers(
    keys: Sequence[Path | str] = (), trust: Sequence[Path | str] = (), *, moment: dt.datetime | None = None
) -> Verifiers:
    """Pinned keys from `keys` (PEM public keys or certificates, several per file allowed) and trust
    roots from `trust` (PEM certificate bundles). A file that holds none: a UsageError (exit 2)."""
    pinned: dict[str, Verifier] = {}
    for path in keys:
        for verifier in read_public(path):
            pinned.setdefault(verifier.keyid, verifier)
    roots: list[x509.Certificate] = []
    for path in trust:
        certs = parse_certificates(read_input(path, "a trust file", PUBLIC_FILE_CAP), str(path), UsageError)
        if not certs:
            raise UsageError(f"{path}: holds no certificate (a trust file is a PEM bundle of CA certificates)")
        roots.extend(certs)
    return Verifiers(pinned, tuple(roots), moment)


def read_public(path: Path | str) -> list[Verifier]:
    """The public keys in `path`: PEM public keys (SubjectPublicKeyInfo or PKCS#1 RSA) and certificates."""
    where = str(path)
    data = read_input(path, "a public key file", PUBLIC_FILE_CAP)
    if b"PRIVATE KEY-----" in data:
        raise UsageError(f"{where}: holds a private key: give its public half (PREFIX.pub) or its certificate")
    found = (
        [
            Verifier(keyid_of(key), key, identity_of(cert), cert)
            for cert in parse_certificates(data, where, UsageError)
            for key in [public_key_of(cert, where, UsageError)]
        ]
        if b"CERTIFICATE-----" in data or not data.lstrip().startswith(b"-----BEGIN")
        else []
    )
    for block in _public_blocks(data):
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{where}: not a valid public key") from exc
        problem = unsupported(key)
        if problem is not None or not isinstance(key, PublicKey):
            raise UsageError(f"{where}: {problem}")
        found.append(Verifier(keyid_of(key), key, f"key {keyid_of(key)[:16]}"))
    if not found:
        raise UsageError(f"{where}: holds no public key or certificate")
    return found


def _public_blocks(data: bytes) -> list[bytes]:
    return re.findall(rb"-----BEGIN (?:RSA )?PUBLIC KEY-----\r?\n.*?-----END (?:RSA )?PUBLIC KEY-----", data, re.DOTALL)
