"""Signers: a private key read from a file the user keeps safe, with its certificate if it has one.

A key file is the one secret auditor reads, so it is read more strictly than any other input: a
regular file itself (never through a link, never a FIFO or a device), at most 1 MiB, and closed
to everyone but its owner (no group or other permission bits, as ssh demands). A passphrase comes
from `--passphrase-file`, then `AUDITOR_KEY_PASSPHRASE`, then a prompt on the terminal, and is
asked for only when the key turns out to be encrypted.

The private key lives only in this process's memory: `Signer.__repr__` leaves it out, no error
message quotes the key file, and nothing here writes it anywhere but into the new key file of
`generate_key` (created with O_EXCL and mode 0600, so an existing key is never overwritten).
"""

from __future__ import annotations

import datetime as dt
import errno
import getpass
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

from auditor.errors import UsageError
from auditor.files import InputFileError, UntrustedFileError, exists, open_regular_file, os_problem, read_input
from auditor.sign.algorithms import PrivateKey, describe, keyid_of, scheme_of, sign_bytes, spki_der, unsupported
from auditor.sign.certs import MAX_CHAIN, identity_of, parse_certificates, self_signed, to_pem
from auditor.sign.trust import Verifier, Verifiers, load_verifiers
from auditor.text import UNSAFE, one_line

__all__ = [
    "ENV_PASSPHRASE",
    "GeneratedKey",
    "PassphraseSource",
    "Signer",
    "Verifier",
    "Verifiers",
    "generate_key",
    "load_signer",
    "load_verifiers",
    "passphrase_source",
]

ENV_PASSPHRASE = "AUDITOR_KEY_PASSPHRASE"  # noqa: S105  # the variable's name, not a secret
KEY_FILE_CAP = 1 << 20
PASSPHRASE_FILE_CAP = 64 << 10
CERT_FILE_CAP = 1 << 20
CERT_DAYS = 3 * 365
PKCS12_SUFFIXES = (".p12", ".pfx")

# Given the key file's name (for the prompt and the error), the passphrase.
PassphraseSource = Callable[[str], bytes]

_PRIVATE_PEM = re.compile(
    rb"-----BEGIN ((?:ENCRYPTED |RSA |EC |OPENSSH )?PRIVATE KEY)-----\r?\n.*?-----END \1-----", re.DOTALL
)


@dataclass(frozen=True, repr=False)
class Signer:
    """A private key that signs, with the certificate that names its holder (if any) and that
    certificate's chain (intermediates, leaf excluded). `keyid` is the SHA-256 of the public key's
    SubjectPublicKeyInfo DER; `identity` the certificate's 'CN <email>', else 'key KEYID[:16]'."""

    private_key: PrivateKey
    certificate: x509.Certificate | None
    chain: tuple[x509.Certificate, ...]
    keyid: str
    identity: str

    def __repr__(self) -> str:  # never the key: reprs reach logs, tracebacks and crash logs
        return f"Signer(keyid={self.keyid!r}, identity={self.identity!r}, algorithm={self.algorithm!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Signer holds a private key and is never pickled")

    @property
    def algorithm(self) -> str:
        return describe(self.private_key)

    @property
    def scheme(self) -> str:
        return scheme_of(self.private_key)

    def sign(self, data: bytes) -> bytes:
        return sign_bytes(self.private_key, data)

    def certificate_pem(self) -> str | None:
        """The certificate and its chain as PEM (leaf first), as a signature may carry them."""
        return None if self.certificate is None else to_pem([self.certificate, *self.chain])

    def verifier(self) -> Verifier:
        """The public half, pinned: what verifies this signer's signatures."""
        return Verifier(self.keyid, self.private_key.public_key(), self.identity, self.certificate)


def passphrase_source(passphrase_file: Path | None = None, *, confirm: bool = False) -> PassphraseSource:
    """Where a passphrase comes from: the file (its first line), else AUDITOR_KEY_PASSPHRASE, else a
    prompt when stdin is a terminal (twice with `confirm`, for a new key), else a UsageError."""

    def get(key: str) -> bytes:
        if passphrase_file is not None:
            return read_passphrase_file(passphrase_file)
        if os.environ.get(ENV_PASSPHRASE):
            return os.environ[ENV_PASSPHRASE].encode("utf-8", "surrogateescape")
        if sys.stdin is not None and sys.stdin.isatty():
            first = getpass.getpass(f"Passphrase for {key}: ")
            if confirm and getpass.getpass("Again: ") != first:
                raise UsageError(f"{key}: the two passphrases differ")
            if not first:
                raise UsageError(f"{key}: empty passphrase")
            return first.encode("utf-8", "surrogateescape")
        raise UsageError(
            f"{key}: needs a passphrase: give --passphrase-file FILE or set {ENV_PASSPHRASE} "
            "(stdin is not a terminal to ask on)"
        )

    return get


def read_passphrase_file(path: Path) -> bytes:
    """The passphrase in `path`, one trailing line break removed; held to a key file's rules."""
    data = _read_private_file(path, "a passphrase file", PASSPHRASE_FILE_CAP)
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    if not data:
        raise InputFileError(path, "empty: a passphrase file holds the passphrase on its first line")
    return data


def load_signer(
    key_path: Path | str,
    *,
    cert_path: Path | str | None = None,
    passphrase: bytes | PassphraseSource | None = None,
) -> Signer:
    """The signer in `key_path`: PEM (PKCS#8, PKCS#1 RSA, SEC1 EC, unencrypted OpenSSH; encrypted or
    not) or PKCS#12 (.p12/.pfx: key, certificate and chain). The certificate comes from
    `cert_path` (PEM, leaf and chain in any order), else from the PKCS#12 file, else from
    `KEY.crt` beside a `KEY.key` (what `generate_key` writes). A certificate for another key, a
    malformed file, a wrong passphrase: a UsageError naming the file (exit 2)."""
    key_path = Path(key_path)
    name = str(key_path)
    data = _read_private_file(key_path, "a key file", KEY_FILE_CAP)
    source = (
        passphrase if callable(passphrase) else _fixed(passphrase) if passphrase is not None else passphrase_source()
    )
    if key_path.suffix.lower() in PKCS12_SUFFIXES or not data.lstrip().startswith(b"-----BEGIN"):
        key, certs = _load_pkcs12(data, name, source)
    else:
        key, certs = _load_pem(data, name, source), parse_certificates(data, name, UsageError)
    if cert_path is None and not certs and key_path.suffix == ".key" and exists(key_path.with_suffix(".crt")):
        cert_path = key_path.with_suffix(".crt")
    where = name
    if cert_path is not None:
        where = str(cert_path)
        certs = parse_certificates(read_input(cert_path, "a certificate file", CERT_FILE_CAP), where, UsageError)
        if not certs:
            raise InputFileError(cert_path, "holds no certificate")
    keyid = keyid_of(key.public_key())
    own = spki_der(key.public_key())
    leaves = [c for c in certs if _spki_or_none(c) == own]
    if certs and not leaves:
        raise UsageError(f"{where}: the certificate is not for this key (the key's id is {keyid[:16]})")
    if len(certs) > MAX_CHAIN + 1:
        raise UsageError(f"{where}: more than {MAX_CHAIN + 1} certificates")
    leaf = leaves[0] if leaves else None
    chain = tuple(c for c in certs if c is not leaf)
    identity = identity_of(leaf) if leaf is not None else f"key {keyid[:16]}"
    return Signer(key, leaf, chain, keyid, identity)


@dataclass(frozen=True)
class GeneratedKey:
    key_path: Path
    public_path: Path
    cert_path: Path
    keyid: str
    identity: str


def generate_key(
    prefix: Path | str,
    *,
    name: str,
    email: str | None = None,
    passphrase: bytes | None = None,
    days: int = CERT_DAYS,
    now: dt.datetime | None = None,
) -> GeneratedKey:
    """A new Ed25519 key: `PREFIX.key` (PKCS#8 PEM, mode 0600, encrypted when a passphrase is
    given), `PREFIX.pub` (SubjectPublicKeyInfo PEM) and `PREFIX.crt` (self-signed, CN=name, valid
    `days`). Refuses to overwrite any of the three; leaves none behind when it fails."""
    name = _check_name(name)
    email = _check_email(email) if email is not None else None
    prefix = Path(prefix)
    paths = [prefix.with_name(prefix.name + suffix) for suffix in (".key", ".pub", ".crt")]
    for path in paths:
        if exists(path):
            raise UsageError(f"{path}: already exists: auditor never overwrites a key (choose another -o PREFIX)")
    if not prefix.parent.is_dir():
        raise UsageError(f"{prefix.parent}: no such folder")
    key = ed25519.Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    cert = self_signed(key, name=name, email=email, now=now or dt.datetime.now(dt.UTC), days=days)
    contents = [
        (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption), 0o600),
        (
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            0o644,
        ),
        (cert.public_bytes(serialization.Encoding.PEM), 0o644),
    ]
    written: list[Path] = []
    try:
        for path, (data, mode) in zip(paths, contents, strict=True):
            _write_new(path, data, mode)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return GeneratedKey(paths[0], paths[1], paths[2], keyid_of(key.public_key()), identity_of(cert))


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError as exc:
        raise UsageError(f"{path}: already exists: auditor never overwrites a key") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode == 0o600:
                os.fchmod(handle.fileno(), 0o600)  # whatever the umask, never more than the owner
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _read_private_file(path: Path, what: str, cap: int) -> bytes:
    try:
        with open_regular_file(path) as handle:
            info = os.fstat(handle.fileno())
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                how = "readable" if mode & 0o044 else "writable" if mode & 0o022 else "open"
                raise UsageError(f"{path}: {how} by others (mode {mode:04o}); chmod 600 {path}")
            if info.st_size > cap:
                raise InputFileError(path, f"{info.st_size:,} bytes: {what} may be at most {cap:,} bytes")
            data = handle.read(cap + 1)
    except UntrustedFileError as exc:
        raise InputFileError(path, f"{exc.why}: {what} is read only from a regular file, never through a link") from exc
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise InputFileError(path, f"not a regular file: {what} is read only from a regular file") from exc
        raise InputFileError(path, os_problem(exc)) from exc
    if len(data) > cap:
        raise InputFileError(path, f"more than {cap:,} bytes: {what} may be at most {cap:,} bytes")
    return data


def _fixed(passphrase: bytes) -> PassphraseSource:
    return lambda _key: passphrase


def _load_pem(data: bytes, name: str, source: PassphraseSource) -> PrivateKey:
    found = _PRIVATE_PEM.search(data)
    if found is None:
        raise UsageError(f"{name}: no private key in it (a public key or a certificate is not a key file)")
    block, kind = found.group(0), found.group(1)
    loaded: object
    try:
        if kind == b"OPENSSH PRIVATE KEY":
            loaded = serialization.load_ssh_private_key(block, None)
        else:
            loaded = serialization.load_pem_private_key(block, None)
    except TypeError:  # encrypted: cryptography says so before it needs the passphrase
        pass
    except ValueError as exc:
        if kind == b"OPENSSH PRIVATE KEY" and "password" in str(exc).lower():
            raise UsageError(
                f"{name}: an encrypted OpenSSH key: convert a copy to PKCS#8 first (ssh-keygen -p -m PKCS8 -f COPY)"
            ) from None
        raise UsageError(f"{name}: not a valid private key") from None
    except UnsupportedAlgorithm:  # from None: the parser's message, never the key
        raise UsageError(f"{name}: a private key of an algorithm auditor cannot read") from None
    else:
        return _checked(loaded, name)
    passphrase = source(name)
    try:
        loaded = serialization.load_pem_private_key(block, passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(f"{name}: wrong passphrase") from None
    return _checked(loaded, name)


def _load_pkcs12(data: bytes, name: str, source: PassphraseSource) -> tuple[PrivateKey, list[x509.Certificate]]:
    try:
        loaded = pkcs12.load_key_and_certificates(data, None)
    except ValueError as exc:
        if "deserialize" in str(exc):
            raise UsageError(f"{name}: neither a PEM key nor a PKCS#12 file") from None
        try:
            loaded = pkcs12.load_key_and_certificates(data, source(name))
        except ValueError:
            raise UsageError(f"{name}: wrong passphrase") from None
    key, cert, extra = loaded
    if key is None:
        raise UsageError(f"{name}: the PKCS#12 file holds no private key")
    return _checked(key, name), ([cert] if cert is not None else []) + list(extra)


def _checked(key: object, name: str) -> PrivateKey:
    problem = unsupported(key)
    if problem is not None or not isinstance(key, PrivateKey):
        raise UsageError(f"{name}: {problem}")
    return key


def _spki_or_none(cert: x509.Certificate) -> bytes | None:
    try:
        public = cert.public_key()
        if unsupported(public) is not None:
            return None
        return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, TypeError):
        return None


def _check_name(name: str) -> str:
    if not name.strip() or UNSAFE.search(name) or len(name) > 64:
        raise UsageError(f"--name {one_line(name, 80)!r}: give a name of 1 to 64 printable characters")
    return name.strip()


def _check_email(email: str) -> str:
    if not re.fullmatch(r"[!-?A-~]+@[A-Za-z0-9.-]+", email) or len(email) > 128:
        raise UsageError(f"--email {one_line(email, 80)!r}: not an email address (ASCII, NAME@DOMAIN)")
    return email
