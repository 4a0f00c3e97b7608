"""`auditor keys generate` and `auditor keys show`, driven as a user would; no private byte ever printed."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import CliRunner, base_env
from tests.sign.pki import Hierarchy, pem


def private_fragments(key_file: Path, passphrase: bytes | None = None) -> list[str]:
    """Pieces of the private key as they could leak: PEM body lines, raw bytes in hex and base64."""
    data = key_file.read_bytes()
    key = serialization.load_pem_private_key(data, passphrase)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    body = [line for line in data.decode().splitlines() if line and not line.startswith("-----")]
    return [*body, raw.hex(), base64.b64encode(raw).decode(), "PRIVATE KEY-----"]


def assert_clean(done: object, fragments: list[str]) -> None:
    out = done.stdout + done.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment not in out


def test_generate_then_show_every_file(cli: CliRunner, tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text("correct horse\n")
    secret.chmod(0o600)
    done = cli("keys", "generate", "--name", "Ada Lovelace", "--email", "ada@example.org", "-o", "ada",
               "--passphrase-file", str(secret), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    keyid = re.search(r"keyid\s+([0-9a-f]{64})", done.stdout).group(1)  # type: ignore[union-attr]
    assert "encrypted" in done.stdout and "NOT" not in done.stdout
    fragments = private_fragments(tmp_path / "ada.key", b"correct horse")
    outputs = [done]
    for name in ("ada.key", "ada.pub", "ada.crt"):
        shown = cli("keys", "show", name, "--passphrase-file", str(secret), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert keyid in shown.stdout and "Ed25519" in shown.stdout
        outputs.append(shown)
    assert "Ada Lovelace <ada@example.org>" in outputs[1].stdout
    assert "(valid)" in outputs[3].stdout and "digitalSignature, nonRepudiation" in outputs[3].stdout
    env = base_env(AUDITOR_KEY_PASSPHRASE="wrong")
    outputs.append(wrong := cli("keys", "show", "ada.key", cwd=tmp_path, env=env))
    assert wrong.returncode == 2 and wrong.stderr == "auditor: error: ada.key: wrong passphrase\n"
    outputs.append(again := cli("keys", "generate", "--name", "X", "-o", "ada", "--no-passphrase", cwd=tmp_path))
    assert again.returncode == 2 and "ada.key: already exists" in again.stderr
    for done in outputs:
        assert_clean(done, fragments)


def test_generate_without_a_passphrase_source_asks_for_one(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("keys", "generate", "--name", "Ada", cwd=tmp_path, input="")
    assert done.returncode == 2
    assert "needs a passphrase: give --passphrase-file FILE or set AUDITOR_KEY_PASSPHRASE" in done.stderr
    assert list(tmp_path.iterdir()) == []
    done = cli("keys", "generate", "--name", "Ada", cwd=tmp_path, env=base_env(AUDITOR_KEY_PASSPHRASE="from env"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "signing.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o666])
def test_show_refuses_a_loose_key_with_the_fix(cli: CliRunner, tmp_path: Path, mode: int) -> None:
    assert cli("keys", "generate", "--name", "A", "-o", "k", "--no-passphrase", cwd=tmp_path).returncode == 0
    fragments = private_fragments(tmp_path / "k.key")
    (tmp_path / "k.key").chmod(mode)
    done = cli("keys", "show", "k.key", cwd=tmp_path)
    assert done.returncode == 2
    kind = "readable" if mode & 0o044 else "writable"
    assert done.stderr == f"auditor: error: k.key: {kind} by others (mode {mode:04o}); chmod 600 k.key\n"
    assert_clean(done, fragments)


def test_show_refuses_a_symlinked_key(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("keys", "generate", "--name", "A", "-o", "k", "--no-passphrase", cwd=tmp_path).returncode == 0
    (tmp_path / "link.key").symlink_to(tmp_path / "k.key")
    done = cli("keys", "show", "link.key", cwd=tmp_path)
    assert done.returncode == 2 and "link.key: a symbolic link" in done.stderr
    assert_clean(done, private_fragments(tmp_path / "k.key"))


def test_show_an_expired_organisation_certificate(cli: CliRunner, tmp_path: Path) -> None:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    pki = Hierarchy(start=now - dt.timedelta(days=30), end=now - dt.timedelta(days=1))
    (tmp_path / "leaf.pem").write_bytes(pem(pki.leaf))
    done = cli("keys", "show", "leaf.pem", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(expired)" in done.stdout and "CN=Test Issuing CA" in done.stdout
    assert "Grace Hopper <grace@example.org>" in done.stdout


def test_show_a_file_that_is_no_key(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("-----BEGIN NOTHING-----\n")
    done = cli("keys", "show", "notes.txt", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == "auditor: error: notes.txt: holds no public key or certificate\n"
    done = cli("keys", "show", "absent.key", cwd=tmp_path)
    assert done.returncode == 2 and "absent.key" in done.stderr and "Traceback" not in done.stderr


def test_show_with_trust_exits_4_for_a_chain_that_does_not_hold(cli: CliRunner, tmp_path: Path) -> None:
    import datetime as dt

    good = Hierarchy()
    key, chain, _trust = good.write(tmp_path)
    done = cli("keys", "show", "leaf-chain.pem", "--trust", "root.pem", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "trusted" in done.stdout and "Grace Hopper <grace@example.org>: the chain validates" in done.stdout
    (tmp_path / "leaf-only.pem").write_bytes(pem(good.leaf))
    done = cli("keys", "show", "leaf-only.pem", "--trust", "root.pem", cwd=tmp_path)
    assert done.returncode == 4
    assert done.stderr == (
        "auditor: error: leaf-only.pem: certificate of Grace Hopper <grace@example.org>: "
        "untrusted: it does not chain to any --trust root\n"
    )
    now = dt.datetime.now(dt.UTC)
    old = Hierarchy(start=now - dt.timedelta(days=30), end=now - dt.timedelta(days=1))
    (tmp_path / "old.pem").write_bytes(pem(old.leaf, old.intermediate))
    (tmp_path / "old-root.pem").write_bytes(pem(old.root))
    done = cli("keys", "show", "old.pem", "--trust", "old-root.pem", cwd=tmp_path)
    assert done.returncode == 4 and ": expired (" in done.stderr and "Traceback" not in done.stderr
    assert_clean(done, private_fragments(key))
    done = cli("keys", "show", "leaf.key", "--trust", "root.pem", cwd=tmp_path)  # the key alone: no certificate
    assert done.returncode == 2 and "nothing to check against --trust" in done.stderr
    assert chain.exists()
