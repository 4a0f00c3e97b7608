"""DSSE envelopes: signed and verified here, checked by securesystemslib, refused when touched."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from auditor.errors import EvidenceError
from auditor.sign.dsse import pae, parse_envelope, sign_envelope, verify_envelope
from auditor.sign.keys import Signer, load_signer, load_verifiers
from auditor.sign.trust import Verifiers
from tests.sign.pki import KINDS, NOW, Hierarchy, cert, new_key, pem, write_key

PAYLOAD = b'{"hello":"world"}'
TYPE = "application/vnd.in-toto+json"


def signer_of(tmp_path: Path, kind: str) -> Signer:
    return load_signer(write_key(tmp_path / f"{kind}.key", new_key(kind)))


def test_pae_is_the_protocols() -> None:
    # The worked example of DSSE's protocol.md.
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t\u00e9", b"") == b"DSSEv1 3 t\xc3\xa9 0 "


@pytest.mark.parametrize("kind", KINDS)
def test_securesystemslib_verifies_what_we_sign(tmp_path: Path, kind: str) -> None:
    signer = signer_of(tmp_path, kind)
    ours = sign_envelope(PAYLOAD, TYPE, [signer])
    theirs = Envelope.from_dict(json.loads(ours))
    key = SSlibKey.from_crypto(signer.private_key.public_key(), keyid=signer.keyid)
    accepted = theirs.verify([key], 1)
    assert list(accepted) == [signer.keyid]
    assert theirs.payload == PAYLOAD and theirs.payload_type == TYPE
    tampered = Envelope(PAYLOAD + b" ", TYPE, theirs.signatures)
    with pytest.raises(Exception, match="threshold"):
        tampered.verify([key], 1)


@pytest.mark.parametrize("kind", KINDS)
def test_we_verify_what_securesystemslib_signs(tmp_path: Path, kind: str) -> None:
    private = new_key(kind)
    path = tmp_path / "k.pub"
    path.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    verifiers = load_verifiers([path])
    (keyid,) = verifiers.keys
    theirs = Envelope(PAYLOAD, TYPE, {})
    theirs.sign(CryptoSigner(private, SSlibKey.from_crypto(private.public_key(), keyid=keyid)))
    data = json.dumps(theirs.to_dict()).encode()
    verified = verify_envelope(data, verifiers, payload_type=TYPE)
    assert verified.payload == PAYLOAD
    assert verified.signed_by == (f"key {keyid[:16]}",)


def test_a_certificate_signer_carries_its_chain_and_securesystemslib_still_reads_it(tmp_path: Path) -> None:
    pki = Hierarchy()
    key, chain, trust = pki.write(tmp_path)
    signer = load_signer(key, cert_path=chain)
    envelope = sign_envelope(PAYLOAD, TYPE, [signer])
    (signature,) = json.loads(envelope)["signatures"]
    assert signature["cert"] == pem(pki.leaf, pki.intermediate).decode()
    theirs = Envelope.from_dict(json.loads(envelope))
    assert theirs.verify([SSlibKey.from_crypto(pki.leaf_key.public_key(), keyid=signer.keyid)], 1)
    verified = verify_envelope(envelope, load_verifiers(trust=[trust]))
    assert verified.signed_by == ("Grace Hopper <grace@example.org>",)


def test_the_envelope_is_canonical_json(tmp_path: Path) -> None:
    envelope = sign_envelope(PAYLOAD, TYPE, [signer_of(tmp_path, "ed25519")])
    data = json.loads(envelope)
    assert envelope == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    assert base64.b64decode(data["payload"]) == PAYLOAD


def mutate(envelope: bytes, change: str) -> bytes:
    data = json.loads(envelope)
    sig = data["signatures"][0]
    if change == "payload byte":
        raw = bytearray(base64.b64decode(data["payload"]))
        raw[3] ^= 0x01
        data["payload"] = base64.b64encode(bytes(raw)).decode()
    elif change == "signature byte":
        raw = bytearray(base64.b64decode(sig["sig"]))
        raw[10] ^= 0x80
        sig["sig"] = base64.b64encode(bytes(raw)).decode()
    elif change == "keyid":
        sig["keyid"] = ("0" if sig["keyid"][0] != "0" else "1") + sig["keyid"][1:]
    elif change == "payloadType":
        data["payloadType"] = "application/json"
    elif change == "extra field":
        data["signed"] = True
    elif change == "extra signature field":
        sig["note"] = "trust me"
    elif change == "no signatures":
        data["signatures"] = []
    elif change == "bad base64":
        data["payload"] = data["payload"][:-2] + "*="
    elif change == "non-canonical base64":
        payload = data["payload"].rstrip("=")
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(payload[-1])
        data["payload"] = (
            payload[:-1]
            + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last | 1]
            + "=" * (-len(payload) % 4)
        )
    elif change == "missing payload":
        del data["payload"]
    elif change == "signatures not a list":
        data["signatures"] = sig
    elif change == "a second signature by the same key":
        data["signatures"].append(dict(sig))
    return json.dumps(data).encode()


CHANGES = {
    "payload byte": r"signatures\[0\]\.sig: does not verify",
    "signature byte": r"signatures\[0\]\.sig: does not verify",
    "keyid": r"signatures\[0\]: signed by an unknown key",
    "payloadType": r"payloadType: 'application/json', expected",
    "extra field": r"unexpected field 'signed'",
    "extra signature field": r"signatures\[0\]: unexpected field 'note'",
    "no signatures": r"signatures: none",
    "bad base64": r"payload: not valid base64",
    "non-canonical base64": r"payload: not valid base64",
    "missing payload": r"field 'payload' is missing",
    "signatures not a list": r"signatures: expected a list",
    "a second signature by the same key": r"signatures\[1\]\.keyid: a second signature",
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_is_refused_naming_the_field(tmp_path: Path, change: str) -> None:
    signer = signer_of(tmp_path, "p256")
    envelope = sign_envelope(PAYLOAD, TYPE, [signer])
    verifiers = Verifiers({signer.keyid: signer.verifier()})
    assert verify_envelope(envelope, verifiers, payload_type=TYPE).payload == PAYLOAD
    with pytest.raises(EvidenceError, match=r"^bundle: envelope\.json: " + CHANGES[change]) as caught:
        verify_envelope(mutate(envelope, change), verifiers, payload_type=TYPE, where="bundle: envelope.json")
    assert caught.value.exit_code == 4
    assert "\n" not in caught.value.message


def test_a_payload_type_changed_with_no_expectation_still_breaks_the_signature(tmp_path: Path) -> None:
    signer = signer_of(tmp_path, "ed25519")
    envelope = mutate(sign_envelope(PAYLOAD, TYPE, [signer]), "payloadType")
    with pytest.raises(EvidenceError, match="does not verify"):
        verify_envelope(envelope, Verifiers({signer.keyid: signer.verifier()}))


def test_every_signature_must_verify_not_just_one(tmp_path: Path) -> None:
    trusted, stranger = signer_of(tmp_path, "ed25519"), signer_of(tmp_path, "p384")
    envelope = sign_envelope(PAYLOAD, TYPE, [trusted, stranger])
    with pytest.raises(EvidenceError, match=r"signatures\[1\]: signed by an unknown key"):
        verify_envelope(envelope, Verifiers({trusted.keyid: trusted.verifier()}))
    both = Verifiers({s.keyid: s.verifier() for s in (trusted, stranger)})
    assert len(verify_envelope(envelope, both).signed_by) == 2


@pytest.mark.parametrize(
    "raw",
    [
        b'{"payload":"","payload":"","payloadType":"t","signatures":[]}',
        b'{"payload":NaN}',
        b"[" * 100_000,
        b"\xff",
        b"not json",
    ],
)
def test_hostile_json_is_one_evidence_error(raw: bytes) -> None:
    with pytest.raises(EvidenceError, match=r"^envelope: "):
        parse_envelope(raw)


# --- certificate chains: root CA -> intermediate -> leaf, validated offline against --trust ---


def chain_envelope(tmp_path: Path, pki: Hierarchy) -> tuple[bytes, Path]:
    key, chain, trust = pki.write(tmp_path)
    return sign_envelope(PAYLOAD, TYPE, [load_signer(key, cert_path=chain)]), trust


def test_a_chain_to_the_trusted_root_verifies(tmp_path: Path) -> None:
    envelope, trust = chain_envelope(tmp_path, Hierarchy())
    assert verify_envelope(envelope, load_verifiers(trust=[trust])).signed_by == ("Grace Hopper <grace@example.org>",)


@pytest.mark.parametrize(
    ("leaf", "moment", "problem"),
    [
        ({"start": NOW - dt.timedelta(days=30), "end": NOW - dt.timedelta(days=1)}, None, "expired"),
        ({"start": NOW + dt.timedelta(days=1)}, None, "not yet valid"),
        ({}, NOW + dt.timedelta(days=400), "expired"),  # checked at a later moment
        ({"signing": False}, None, "wrong key usage"),
    ],
)
def test_a_chain_that_does_not_hold_is_refused(
    tmp_path: Path, leaf: dict[str, object], moment: dt.datetime | None, problem: str
) -> None:
    envelope, trust = chain_envelope(tmp_path, Hierarchy(**leaf))
    with pytest.raises(
        EvidenceError, match=rf"^envelope: signatures\[0\]: certificate of Grace Hopper <grace@example\.org>: {problem}"
    ):
        verify_envelope(envelope, load_verifiers(trust=[trust], moment=moment))


def test_a_chain_to_another_root_is_untrusted(tmp_path: Path) -> None:
    envelope, _ = chain_envelope(tmp_path, Hierarchy())
    other = tmp_path / "other-root.pem"
    other.write_bytes(pem(Hierarchy().root))
    with pytest.raises(EvidenceError, match=r"untrusted \(the signature of intermediate certificate 1 could not be"):
        verify_envelope(envelope, load_verifiers(trust=[other]))  # a root of the same name, another key
    named = tmp_path / "another-root.pem"
    another = new_key("p256")
    named.write_bytes(pem(cert(another, "Another Root CA", another, ca=True)))
    with pytest.raises(EvidenceError, match="untrusted: it does not chain to any --trust root"):
        verify_envelope(envelope, load_verifiers(trust=[named]))


def test_a_chain_without_its_intermediate_is_untrusted(tmp_path: Path) -> None:
    pki = Hierarchy()
    key, _, trust = pki.write(tmp_path)
    leaf_only = tmp_path / "leaf.pem"
    leaf_only.write_bytes(pem(pki.leaf))
    envelope = sign_envelope(PAYLOAD, TYPE, [load_signer(key, cert_path=leaf_only)])
    with pytest.raises(EvidenceError, match="untrusted"):
        verify_envelope(envelope, load_verifiers(trust=[trust]))


def test_a_certificate_swapped_for_another_keys_is_refused(tmp_path: Path) -> None:
    pki = Hierarchy()
    envelope, trust = chain_envelope(tmp_path, pki)
    data = json.loads(envelope)
    data["signatures"][0]["cert"] = pem(Hierarchy().leaf).decode()
    with pytest.raises(EvidenceError, match="the certificate carried is not for key"):
        verify_envelope(json.dumps(data).encode(), load_verifiers(trust=[trust]))


def test_a_self_signed_generated_certificate_can_be_its_own_trust_root(tmp_path: Path) -> None:
    from auditor.sign.keys import generate_key

    made = generate_key(tmp_path / "ada", name="Ada Lovelace")
    envelope = sign_envelope(PAYLOAD, TYPE, [load_signer(made.key_path)])
    assert verify_envelope(envelope, load_verifiers(trust=[made.cert_path])).signed_by == ("Ada Lovelace",)
    (tmp_path / "x").mkdir()
    stranger = Hierarchy().write(tmp_path / "x")[2]
    with pytest.raises(EvidenceError, match="untrusted"):
        verify_envelope(envelope, load_verifiers(trust=[stranger]))


def test_the_readmes_securesystemslib_check_verifies_our_envelope(tmp_path: Path) -> None:
    import subprocess
    import sys

    from auditor.sign.keys import generate_key
    from tests.readme import snippet

    made = generate_key(tmp_path / "ada", name="Ada")
    (tmp_path / "envelope.json").write_bytes(sign_envelope(PAYLOAD, TYPE, [load_signer(made.key_path)]))
    run = [sys.executable, "-c", snippet("dsse-envelope")]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, PAYLOAD.decode() + "\n"), done.stderr
    (tmp_path / "envelope.json").write_bytes(mutate((tmp_path / "envelope.json").read_bytes(), "payload byte"))
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "VerificationError" in done.stderr
