"""A root CA, leaf certificates and a real RFC 3161 time stamper (certomancer) for the PDF signature tests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from certomancer.services import TimeStamper
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditor.sign.pdf import PrivateKey

KEY_TYPES = ("ed25519", "p256", "p384", "rsa")


def new_key(kind: str) -> PrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind in ("p256", "p384"):
        return ec.generate_private_key(ec.SECP256R1() if kind == "p256" else ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(
    key: PrivateKey,
    subject: str,
    *,
    issuer: tuple[PrivateKey, x509.Certificate] | None = None,
    ca: bool = False,
    time_stamping: bool = False,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """A certificate for `key`, issued by `issuer` (key, cert) or self-signed."""
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and not time_stamping,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if time_stamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


@dataclass
class Pki:
    """A root CA and a leaf per key type it issued."""

    name: str = "auditor test root"
    root_key: PrivateKey = field(default_factory=lambda: new_key("p256"))
    root: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.root = certificate(self.root_key, self.name, ca=True)

    def leaf(self, kind: str, **options: object) -> tuple[PrivateKey, x509.Certificate]:
        key = new_key(kind)
        return key, certificate(key, f"Jane Auditor ({kind})", issuer=(self.root_key, self.root), **options)  # type: ignore[arg-type]


@dataclass
class TsaServer:
    url: str
    root: x509.Certificate
    requests: list[str]


@contextmanager
def tsa_server(pki: Pki, *, redirect_to: str | None = None) -> Iterator[TsaServer]:
    """certomancer's RFC 3161 time stamper behind a loopback HTTP server; its certificate is issued by
    `pki.root` with the (critical) timeStamping key purpose. With `redirect_to`, it answers 307."""
    key = new_key("p256")
    cert = certificate(key, "auditor test TSA", issuer=(pki.root_key, pki.root), time_stamping=True)
    stamper = TimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if redirect_to is not None:
                self.send_response(307)
                self.send_header("Location", redirect_to)
                self.end_headers()
                return
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TsaServer(url=f"http://127.0.0.1:{server.server_address[1]}/tsa", root=pki.root, requests=seen)
    finally:
        server.shutdown()
        server.server_close()
