"""Key files: generated, loaded in every format an organisation hands out, and refused when unsafe."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from auditor.errors import EvidenceError, UsageError
from auditor.sign.dsse import sign_envelope, verify_envelope
from auditor.sign.keys import generate_key, load_signer, load_verifiers
from auditor.sign.trust import Verifiers
from tests.sign.pki import KINDS, Hierarchy, new_key, pem, write_key


def roundtrip(signer_path: Path, verifier_path: Path, **load: object) -> None:
    signer = load_signer(signer_path, **load)  # type: ignore[arg-type]
    envelope = sign_envelope(b"payload", "text/plain", [signer])
    verified = verify_envelope(envelope, load_verifiers([verifier_path]))
    assert verified.payload == b"payload"
    assert verified.keyids == (signer.keyid,)


def test_generate_writes_an_encrypted_key_a_public_key_and_a_certificate(tmp_path: Path) -> None:
    made = generate_key(tmp_path / "ada", name="Ada Lovelace", email="ada@example.org", passphrase=b"s3cret")
    assert stat.S_IMODE(made.key_path.stat().st_mode) == 0o600
    assert made.key_path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert made.public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert made.identity == "Ada Lovelace <ada@example.org>"
    signer = load_signer(made.key_path, passphrase=b"s3cret")
    assert signer.keyid == made.keyid
    assert signer.certificate is not None  # ada.crt, found beside ada.key
    assert signer.identity == "Ada Lovelace <ada@example.org>"
    roundtrip(made.key_path, made.public_path, passphrase=b"s3cret")
    roundtrip(made.key_path, made.cert_path, passphrase=b"s3cret")


def test_generate_never_overwrites_a_key(tmp_path: Path) -> None:
    first = generate_key(tmp_path / "k", name="A", passphrase=None)
    before = first.key_path.read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        generate_key(tmp_path / "k", name="B")
    assert first.key_path.read_bytes() == before
    (tmp_path / "other.crt").write_text("x")  # any one of the three present: nothing is written
    with pytest.raises(UsageError, match=r"other\.crt: already exists"):
        generate_key(tmp_path / "other", name="C")
    assert not (tmp_path / "other.key").exists()


def test_generate_refuses_a_bad_name_or_email(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--name"):
        generate_key(tmp_path / "k", name="evil\x1b[31m")
    with pytest.raises(UsageError, match="--email"):
        generate_key(tmp_path / "k", name="ok", email="not an email")
    assert list(tmp_path.iterdir()) == []


def test_the_key_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        made = generate_key(tmp_path / "k", name="A")
    finally:
        os.umask(old)
    assert stat.S_IMODE(made.key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])  # traditional: PKCS#1 for RSA, SEC1 for EC
@pytest.mark.parametrize("passphrase", [None, b"pass phrase"])
def test_every_key_type_and_format_signs_and_verifies(
    tmp_path: Path, kind: str, fmt: str, passphrase: bytes | None
) -> None:
    if kind == "ed25519" and fmt == "traditional":
        fmt = "pkcs8"  # Ed25519 has no traditional format
    key = new_key(kind)
    path = write_key(tmp_path / "k.pem", key, fmt=fmt, passphrase=passphrase)
    public = tmp_path / "k.pub"
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    roundtrip(path, public, passphrase=passphrase)


def test_an_unencrypted_openssh_ed25519_key_loads(tmp_path: Path) -> None:
    key = new_key("ed25519")
    path = tmp_path / "id_ed25519"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    assert load_signer(path).algorithm == "Ed25519"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (rsa.generate_private_key(65537, 1024), "1024 bits"),  # noqa: S505  # refused, on purpose
        (ec.generate_private_key(ec.SECP521R1()), "secp521r1"),
        (ed448.Ed448PrivateKey.generate(), "Ed448"),
    ],
)
def test_weak_or_unsupported_keys_are_refused(tmp_path: Path, key: object, problem: str) -> None:
    path = write_key(tmp_path / "k.pem", key)
    with pytest.raises(UsageError, match=problem):
        load_signer(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o666, 0o620, 0o601])
def test_a_key_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_key(tmp_path / "k.key", new_key("ed25519"))
    path.chmod(mode)
    with pytest.raises(UsageError) as caught:
        load_signer(path)
    assert f"(mode {mode:04o}); chmod 600 {path}" in caught.value.message
    assert caught.value.exit_code == 2


def test_a_symlinked_key_a_fifo_a_folder_and_a_huge_file_are_refused(tmp_path: Path) -> None:
    real = write_key(tmp_path / "real.key", new_key("ed25519"))
    link = tmp_path / "link.key"
    link.symlink_to(real)
    with pytest.raises(UsageError, match=r"link\.key: a symbolic link"):
        load_signer(link)
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(UsageError, match=r"fifo\.key: not a regular file"):
        load_signer(fifo)
    folder = tmp_path / "dir.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(UsageError, match=r"dir\.key: not a regular file"):
        load_signer(folder)
    huge = tmp_path / "huge.key"
    huge.write_bytes(b"-" * ((1 << 20) + 1))
    huge.chmod(0o600)
    with pytest.raises(UsageError, match="at most"):
        load_signer(huge)
    with pytest.raises(UsageError, match="no such file"):
        load_signer(tmp_path / "absent.key")


def test_a_wrong_passphrase_and_a_missing_one_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_key(tmp_path / "k.key", new_key("p256"), passphrase=b"right")
    with pytest.raises(UsageError, match=r"^.*k\.key: wrong passphrase$"):
        load_signer(path, passphrase=b"wrong")
    monkeypatch.delenv("AUDITOR_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115  # not a terminal
    with pytest.raises(
        UsageError, match="needs a passphrase: give --passphrase-file FILE or set AUDITOR_KEY_PASSPHRASE"
    ):
        load_signer(path)
    monkeypatch.setenv("AUDITOR_KEY_PASSPHRASE", "right")
    assert load_signer(path).algorithm == "ECDSA P-256"


def test_a_passphrase_file_is_held_to_a_key_files_rules(tmp_path: Path) -> None:
    from auditor.sign.keys import passphrase_source

    path = write_key(tmp_path / "k.key", new_key("ed25519"), passphrase=b"right")
    secret = tmp_path / "pass"
    secret.write_bytes(b"right\n")
    secret.chmod(0o600)
    assert load_signer(path, passphrase=passphrase_source(secret)).keyid
    secret.chmod(0o644)
    with pytest.raises(UsageError, match="readable by others"):
        load_signer(path, passphrase=passphrase_source(secret))


def test_a_certificate_for_another_key_is_refused(tmp_path: Path) -> None:
    pki = Hierarchy()
    path = write_key(tmp_path / "other.key", new_key("ed25519"))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem(pki.leaf, pki.intermediate))
    with pytest.raises(UsageError, match=r"chain\.pem: the certificate is not for this key"):
        load_signer(path, cert_path=chain)


def test_an_organisation_key_with_its_certificate_chain(tmp_path: Path) -> None:
    pki = Hierarchy(leaf_kind="p384")
    key, chain, _trust = pki.write(tmp_path)
    signer = load_signer(key, cert_path=chain)
    assert signer.certificate == pki.leaf
    assert signer.chain == (pki.intermediate,)
    assert signer.identity == "Grace Hopper <grace@example.org>"


@pytest.mark.parametrize("suffix", [".p12", ".pfx"])
def test_pkcs12_with_its_chain(tmp_path: Path, suffix: str) -> None:
    pki = Hierarchy(leaf_kind="rsa2048")
    data = pkcs12.serialize_key_and_certificates(
        b"grace", pki.leaf_key, pki.leaf, [pki.intermediate, pki.root], serialization.BestAvailableEncryption(b"pw")
    )
    path = tmp_path / f"grace{suffix}"
    path.write_bytes(data)
    path.chmod(0o600)
    signer = load_signer(path, passphrase=b"pw")
    assert signer.certificate == pki.leaf
    assert set(signer.chain) == {pki.intermediate, pki.root}
    with pytest.raises(UsageError, match=f"grace{suffix}: wrong passphrase"):
        load_signer(path, passphrase=b"nope")
    garbage = tmp_path / f"garbage{suffix}"
    garbage.write_bytes(b"\x30\x03\x02\x01\x00 not pkcs12")
    garbage.chmod(0o600)
    with pytest.raises(UsageError, match="neither a PEM key nor a PKCS#12 file"):
        load_signer(garbage, passphrase=b"pw")


def test_the_private_key_never_shows_in_a_repr_and_is_never_pickled(tmp_path: Path) -> None:
    key = new_key("rsa2048")
    path = write_key(tmp_path / "k.key", key)
    signer = load_signer(path)
    numbers = key.private_numbers()  # type: ignore[union-attr]
    shown = repr(signer) + str(signer) + repr([signer])
    for secret in (numbers.d, numbers.p, numbers.q):
        assert str(secret) not in shown and format(secret, "x") not in shown
    assert "PRIVATE" not in shown
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(signer)


def test_an_empty_set_of_verifiers_is_a_usage_error(tmp_path: Path) -> None:
    signer = load_signer(write_key(tmp_path / "k.key", new_key("ed25519")))
    with pytest.raises(UsageError, match="give --key PUB or --trust CERTS"):
        verify_envelope(sign_envelope(b"x", "t", [signer]), Verifiers())


def test_a_private_key_given_as_a_public_key_is_refused(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k.key", new_key("ed25519"))
    with pytest.raises(UsageError, match="holds a private key"):
        load_verifiers([path])
    assert not isinstance(UsageError("x"), EvidenceError)
