"""`auditor report --sign`: the PDF dossier written signed (and time-stamped), checked by pdfsig and pyHanko."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from auditor.sign.pdf import ED25519_READER_WARNING, verify_pdf
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.factories import make_record
from tests.sign.pdf_pki import Pki, tsa_server
from tests.sign.test_pdf import VALID, pdfsig

RUN = "01JGZ0000000000000000000AA"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin(RUN), make_record(RUN))
    return tmp_path


def _key(cli: CliRunner, project: Path, algorithm: str) -> None:
    done = cli(
        "keys", "generate", "--name", "Ana Auditor", "-o", "ana", "--no-passphrase", "--algorithm", algorithm,
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _report(cli: CliRunner, project: Path, *args: str) -> tuple[int, str, str]:
    done = cli("report", RUN, "--store", "store", "-o", "out", *args, cwd=project, env=base_env())
    return done.returncode, done.stdout, done.stderr


def test_an_ecdsa_signed_dossier_verifies_in_pdfsig_and_pyhanko(cli: CliRunner, project: Path) -> None:
    _key(cli, project, "ecdsa-p256")
    code, out, err = _report(cli, project, "--sign", "ana.key")
    assert code == 0, err
    assert "dossier.pdf (" in out and "signed by Ana Auditor)" in out and "warning" not in err
    pdf = (project / "out" / "dossier.pdf").read_bytes()
    found = pdfsig(pdf, project)
    assert found["Signature Validation"] == VALID and found["coverage"] == "whole"
    assert found["Signer Certificate Common Name"] == "Ana Auditor"
    root = x509.load_pem_x509_certificate((project / "ana.crt").read_bytes())
    report = verify_pdf(pdf, trust_roots=[root])
    assert report.ok, report.problems()
    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01  # inside the signed range: everything but the signature's own bytes
    assert pdfsig(bytes(changed), project)["Signature Validation"] == "Digest Mismatch."
    assert not verify_pdf(bytes(changed), trust_roots=[root]).ok


def test_an_ed25519_key_signs_with_a_warning_and_a_tsa_time_stamps(cli: CliRunner, project: Path) -> None:
    _key(cli, project, "ed25519")
    with tsa_server(Pki()) as tsa:
        code, out, err = _report(cli, project, "--sign", "ana.key", "--tsa", tsa.url, "--format", "pdf")
        assert code == 0, err
        assert tsa.requests and set(tsa.requests) == {"/tsa"}  # pyHanko also asks once to size the token
    assert ED25519_READER_WARNING in err and "time-stamped" in out
    pdf = (project / "out" / "dossier.pdf").read_bytes()
    root = x509.load_pem_x509_certificate((project / "ana.crt").read_bytes())
    (signature,) = verify_pdf(pdf, trust_roots=[root, tsa.root]).signatures
    assert signature.intact and signature.trusted and signature.timestamp is not None and signature.timestamp.valid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tsa", "http://127.0.0.1:9/"), "--cert, --tsa and --passphrase-file go with --sign KEY"),
        (("--sign", "ana.key", "--format", "html"), "--sign signs the PDF dossier: add pdf to --format"),
        (("--sign", "nokey"), "nokey"),
        (("--sign", "ana.key", "--tsa", "http://127.0.0.1:9/tsa"), "time-stamp authority"),
    ],
)
def test_bad_signing_options_are_one_line_and_no_unsigned_pdf(
    cli: CliRunner, project: Path, args: tuple[str, ...], message: str
) -> None:
    _key(cli, project, "ecdsa-p256")
    code, out, err = _report(cli, project, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (project / "out" / "dossier.pdf").exists()


def test_an_unknown_key_algorithm_is_refused_before_anything_is_written(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("keys", "generate", "--name", "A", "-o", "k", "--no-passphrase", "--algorithm", "dsa", cwd=tmp_path)
    assert done.returncode == 2 and "--algorithm: 'dsa' is not one of ed25519, ecdsa-p256" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
