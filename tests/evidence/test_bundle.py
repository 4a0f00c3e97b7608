"""`auditor bundle` and `auditor verify` on a real captured run of the sample project.

The sample is captured once per module (two runs: the sample's pipeline, and a second, small run
of the same project whose bundle supplies "another run's" files), each signed off and bundled with
an ECDSA P-256 key from `auditor keys generate`. Every test then works on copies of the bundles'
bytes, so tampering with one never touches another."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.evidence.archive import archive_bytes, read_archive
from auditor.sign.dsse import sign_envelope
from auditor.sign.keys import load_signer
from auditor.sign.statement import PAYLOAD_TYPE, build_statement, parse_statement
from tests.conftest import ADVISORY_SNAPSHOT, AUDITOR, SAMPLE, base_env
from tests.readme import snippet
from tests.sign.pki import Hierarchy, pem
from tests.sign.test_pdf import VALID, pdfsig

pytestmark = pytest.mark.slow

CHECK = ("--vuln-source", "local", "--advisory-db", str(ADVISORY_SNAPSHOT))
FIXED = (
    "VERIFY.txt",
    "check-report.json",
    "dossier/dossier.html",
    "dossier/dossier.pdf",
    "log/consistency.json",
    "log/inclusion.json",
    "logs/stderr.log",
    "logs/stdout.log",
    "record.json",
    "statement.dsse.json",
)
SIGNOFF, SIGNOFF_PROOF = "signoffs/{ID}.json", "log/signoffs/{ID}.json"


def auditor(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AUDITOR), *args], cwd=cwd, env=base_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Sample:
    project: Path
    run_a: str
    run_b: str
    bundle_a: bytes
    bundle_b: bytes
    signoff_a: str
    signoff_b: str
    head_a: str  # the head `auditor run` printed with run A

    @property
    def members_a(self) -> dict[str, bytes]:
        return read_archive(self.project / "a.tar")

    @property
    def members_b(self) -> dict[str, bytes]:
        return read_archive(self.project / "b.tar")

    def name(self, member: str, which: str = "a") -> str:
        return member.replace("{ID}", self.signoff_a if which == "a" else self.signoff_b)


def _run(project: Path, *command: str) -> tuple[str, str]:
    done = auditor("run", "--project", "credit-scoring", "--", *command, cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("auditor: run ", 1)[1].split()[0]
    head = done.stderr.split("log head ", 1)[1].split()[0]
    return run_id, head


def _approve(project: Path, run_id: str) -> str:
    done = auditor(
        "approve", run_id, "--role", "model risk officer", "--decision", "approve", "--comment", "Reviewed.",
        "--sign", "ana.key", *CHECK, cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split("sign-off ", 1)[1].split(":")[0]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    python = SAMPLE / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup`")
    project = tmp_path_factory.mktemp("bundle") / "credit-scoring"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(".venv", "data", "models", "outputs", ".auditor"))
    (project / ".venv").symlink_to(SAMPLE / ".venv")
    python = project / ".venv" / "bin" / "python"
    run_a, head_a = _run(project, str(python), "run_pipeline.py")
    run_b, _ = _run(project, str(python), "-c", "import sys; print('another run'); print('warn', file=sys.stderr)")
    made = auditor("keys", "generate", "--name", "Ana Auditor", "-o", "ana", "--no-passphrase",
                   "--algorithm", "ecdsa-p256", cwd=project)  # fmt: skip
    assert made.returncode == 0, made.stderr
    made = auditor("keys", "generate", "--name", "Bob", "-o", "bob", "--no-passphrase", cwd=project)
    assert made.returncode == 0, made.stderr
    signoff_a, signoff_b = _approve(project, run_a), _approve(project, run_b)
    for run_id, out in ((run_a, "a.tar"), (run_b, "b.tar")):
        done = auditor("bundle", run_id, "-o", out, "--sign", "ana.key", *CHECK, cwd=project)
        assert done.returncode == 0, done.stderr
    return Sample(
        project, run_a, run_b, (project / "a.tar").read_bytes(), (project / "b.tar").read_bytes(),
        signoff_a, signoff_b, head_a,
    )  # fmt: skip


def _verify(sample: Sample, data: bytes, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bundle.tar"
    path.write_bytes(data)
    return auditor("verify", str(path), *(args or ("--key", str(sample.project / "ana.pub"))), cwd=tmp_path)


def _refused(done: subprocess.CompletedProcess[str], member: str, reason: str = "") -> None:
    assert done.returncode == 4, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("auditor: error: ") and "Traceback" not in done.stderr
    assert f"bundle.tar: {member}: " in line, line
    assert reason in line, line


def test_the_bundle_holds_every_member_and_verifies(sample: Sample, tmp_path: Path) -> None:
    members = sample.members_a
    expected = {*FIXED, sample.name(SIGNOFF), sample.name(SIGNOFF_PROOF)}
    assert set(members) == expected
    assert members["record.json"] == (sample.project / ".auditor" / "runs" / sample.run_a / "record.json").read_bytes()
    assert (
        members["logs/stdout.log"] == (sample.project / ".auditor" / "runs" / sample.run_a / "stdout.log").read_bytes()
    )
    listed = subprocess.run(["tar", "-tf", str(sample.project / "a.tar")], capture_output=True, text=True, check=True)
    assert set(listed.stdout.split()) == expected  # GNU tar reads it as it is
    done = _verify(sample, sample.bundle_a, tmp_path, "--key", str(sample.project / "ana.pub"), "--head", sample.head_a)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "statement.dsse.json: signed by key " in out and "(Ana Auditor), a key you trust" in out
    assert f"record.json: run {sample.run_a}, sha256 {hashlib.sha256(members['record.json']).hexdigest()}" in out
    assert f"extends --head {sample.head_a} (consistency proof)" in out
    assert "dossier/dossier.pdf: PAdES signature by CN=Ana Auditor: intact, covers the whole file" in out
    assert f"signoffs/{sample.signoff_a}.json: approve by Ana Auditor as model risk officer" in out
    assert ", signed by key " in out and "; covers this record and these findings" in out
    assert out.splitlines()[-1].startswith("verified: ")
    assert hashlib.sha256(sample.bundle_a).hexdigest() in out.splitlines()[-1]
    found = pdfsig(members["dossier/dossier.pdf"], tmp_path)
    assert found["Signature Validation"] == VALID and found["coverage"] == "whole"
    assert found["Signer Certificate Common Name"] == "Ana Auditor"
    by_cert = _verify(sample, sample.bundle_a, tmp_path, "--trust", str(sample.project / "ana.crt"))
    assert by_cert.returncode == 0 and "statement.dsse.json: signed by Ana Auditor, a key you trust" in by_cert.stdout


def test_bundle_prints_the_head_and_its_sha256_and_is_deterministic_in_its_layout(sample: Sample) -> None:
    done = auditor("bundle", sample.run_a, "-o", "again.tar", "--sign", "ana.key", *CHECK, cwd=sample.project)
    assert done.returncode == 0, done.stderr
    *_, head, digest = done.stdout.splitlines()
    data = (sample.project / "again.tar").read_bytes()
    assert digest == f"sha256 {hashlib.sha256(data).hexdigest()}  again.tar"
    members = read_archive(sample.project / "again.tar")
    assert (
        head
        == f"log head {json.loads(members['log/inclusion.json'])['tree_size']}:"
        + json.loads(members["log/inclusion.json"])["root"]
    )
    assert set(members) == set(sample.members_a)


MUTATIONS: dict[str, Callable[[bytes, bytes], bytes]] = {
    "flip": lambda data, other: (
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1 :] if data else b"\x00"
    ),
    "truncate": lambda data, other: data[: len(data) // 2],
    "other-run": lambda data, other: other,
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("member", [*FIXED, SIGNOFF, SIGNOFF_PROOF])
def test_every_member_flipped_truncated_or_replaced_is_named(
    sample: Sample, tmp_path: Path, member: str, mutation: str
) -> None:
    members = sample.members_a
    name = sample.name(member)
    other = sample.members_b[sample.name(member, "b")]
    changed = MUTATIONS[mutation](members[name], other)
    if mutation == "truncate" and not members[name]:
        changed = b"x"  # an empty log cannot be shortened: lengthened, it must be named all the same
    assert changed != members[name]
    members[name] = changed
    done = _verify(sample, archive_bytes(members), tmp_path)
    # Replacing the statement with another bundle's (signed by the same key) makes every other file
    # differ from what it lists: the statement is named, with the files.
    _refused(done, name, "were replaced" if (name, mutation) == ("statement.dsse.json", "other-run") else "")


def test_a_missing_and_an_extra_member_are_named(sample: Sample, tmp_path: Path) -> None:
    members = sample.members_a
    del members["logs/stdout.log"]
    _refused(_verify(sample, archive_bytes(members), tmp_path), "logs/stdout.log", "missing")
    members = sample.members_a
    members["notes.txt"] = b"trust me"
    _refused(_verify(sample, archive_bytes(members), tmp_path), "notes.txt", "not listed in the signed statement")
    members = sample.members_a
    members["statement.json"] = b"{}"
    _refused(_verify(sample, archive_bytes(members), tmp_path), "statement.json", "a second, unsigned statement")


def test_a_wrong_key_an_untrusted_or_expired_certificate_and_no_key_are_refused(sample: Sample, tmp_path: Path) -> None:
    bob = str(sample.project / "bob.pub")
    _refused(_verify(sample, sample.bundle_a, tmp_path, "--key", bob), "statement.dsse.json", "signatures[0]")
    untrusted = _verify(sample, sample.bundle_a, tmp_path, "--trust", str(sample.project / "bob.crt"))
    _refused(untrusted, "statement.dsse.json", "signatures[0]")
    none = _verify(sample, sample.bundle_a, tmp_path, "--head", sample.head_a)
    assert none.returncode == 2 and "nothing to check the signature against" in none.stderr
    # A bundle signed with a certificate that has since expired: refused against its CA.
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    pki = Hierarchy("p256", start=now - dt.timedelta(days=10), end=now - dt.timedelta(days=1))
    key, chain, trust = pki.write(tmp_path)
    made = auditor(
        "bundle", sample.run_b, "-o", str(tmp_path / "expired.tar"), "--sign", str(key), "--cert", str(chain), *CHECK,
        cwd=sample.project,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = auditor("verify", str(tmp_path / "expired.tar"), "--trust", str(trust), cwd=tmp_path)
    assert done.returncode == 4 and "expired.tar: statement.dsse.json: " in done.stderr and "expired" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert pem(pki.root)  # the root is what was trusted


def test_a_head_that_does_not_match_is_refused(sample: Sample, tmp_path: Path) -> None:
    inclusion = json.loads(sample.members_a["log/inclusion.json"])
    head = f"{inclusion['tree_size']}:{inclusion['root']}"
    assert (
        _verify(sample, sample.bundle_a, tmp_path, "--key", str(sample.project / "ana.pub"), "--head", head).returncode
        == 0
    )
    wrong = f"{inclusion['tree_size']}:{'0' * 64}"
    done = _verify(sample, sample.bundle_a, tmp_path, "--key", str(sample.project / "ana.pub"), "--head", wrong)
    _refused(done, "log/inclusion.json", f"neither is --head {wrong}")
    bad = _verify(sample, sample.bundle_a, tmp_path, "--key", str(sample.project / "ana.pub"), "--head", "12")
    assert bad.returncode == 2 and "is not a log head" in bad.stderr


def _resign(sample: Sample, members: dict[str, bytes]) -> bytes:
    """The bundle re-signed by its own key after its files changed: a signer who vouches for
    inconsistent evidence. The statement then matches the files; the deeper checks must not."""
    envelope = json.loads(members.pop("statement.dsse.json"))
    import base64

    old = parse_statement(base64.b64decode(envelope["payload"]))
    subjects = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    payload = build_statement(subjects, old.predicate_type, old.predicate)
    signer = load_signer(sample.project / "ana.key")
    members["statement.dsse.json"] = sign_envelope(payload, PAYLOAD_TYPE, [signer])
    return archive_bytes(members)


def test_a_re_signed_bundle_with_inconsistent_evidence_is_refused(sample: Sample, tmp_path: Path) -> None:
    a, b = sample.members_a, sample.members_b
    untouched = _resign(sample, dict(a))
    assert _verify(sample, untouched, tmp_path).returncode == 0  # re-signing alone changes nothing
    cases = [
        ("record.json", b["record.json"], "record.json", "the statement's predicate names"),
        ("log/inclusion.json", b["log/inclusion.json"], "log/inclusion.json", "its leaf is not this record's"),
        ("logs/stdout.log", b"edited log\n", "logs/stdout.log", "not the "),
        ("check-report.json", b["check-report.json"], "check-report.json", "not of the bundled record"),
    ]
    for name, data, member, reason in cases:
        members = dict(a)
        members[name] = data
        _refused(_verify(sample, _resign(sample, members), tmp_path), member, reason)


def test_a_sign_off_over_another_record_is_refused(sample: Sample, tmp_path: Path) -> None:
    """Run B's sign-off and its proof carried in run A's bundle, under A's sign-off's names, re-signed."""
    members = sample.members_a
    members[sample.name(SIGNOFF)] = sample.members_b[sample.name(SIGNOFF, "b")]
    members[sample.name(SIGNOFF_PROOF)] = sample.members_b[sample.name(SIGNOFF_PROOF, "b")]
    _refused(_verify(sample, _resign(sample, members), tmp_path), sample.name(SIGNOFF_PROOF), "its leaf is not")
    # Its proof made to match (as if the log held it): the sign-off itself is refused.
    signoff = json.loads(sample.members_b[sample.name(SIGNOFF, "b")])
    assert signoff["payloadType"] == "application/vnd.auditor.signoff.v1+json"
    members = sample.members_a
    del members[sample.name(SIGNOFF)], members[sample.name(SIGNOFF_PROOF)]
    b_id = sample.signoff_b
    members[f"signoffs/{b_id}.json"] = sample.members_b[sample.name(SIGNOFF, "b")]
    members[f"log/signoffs/{b_id}.json"] = sample.members_b[sample.name(SIGNOFF_PROOF, "b")]
    done = _verify(sample, _resign(sample, members), tmp_path)
    _refused(done, "signoffs/", "not the ones the statement names")


def test_an_unsigned_bundle_checks_everything_then_says_it_is_not_signed(sample: Sample, tmp_path: Path) -> None:
    done = auditor("bundle", sample.run_b, "-o", str(tmp_path / "u.tar"), *CHECK, cwd=sample.project)
    assert done.returncode == 0 and "not signed" in done.stderr
    assert "statement.json" in read_archive(tmp_path / "u.tar")
    check = auditor("verify", str(tmp_path / "u.tar"), "--key", str(sample.project / "ana.pub"), cwd=tmp_path)
    assert check.returncode == 4 and "record.json: run " in check.stdout
    assert "u.tar: statement.json: not signed" in check.stderr


def test_a_truncated_bundle_and_a_link_are_refused(sample: Sample, tmp_path: Path) -> None:
    _refused(
        _verify(sample, sample.bundle_a[: len(sample.bundle_a) // 2], tmp_path), "dossier/dossier.pdf", "truncated"
    )
    link = tmp_path / "link.tar"
    link.symlink_to(sample.project / "a.tar")
    done = auditor("verify", str(link), "--key", str(sample.project / "ana.pub"), cwd=tmp_path)
    assert done.returncode == 4 and "link.tar: " in done.stderr and len(done.stderr.splitlines()) == 1


def test_verify_a_pdf_alone(sample: Sample, tmp_path: Path) -> None:
    pdf = sample.members_a["dossier/dossier.pdf"]
    (tmp_path / "dossier.pdf").write_bytes(pdf)
    done = auditor("verify", "dossier.pdf", "--key", str(sample.project / "ana.crt"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dossier.pdf: PAdES signature by CN=Ana Auditor: intact" in done.stdout
    (tmp_path / "dossier.pdf").write_bytes(pdf[:1000] + b"X" + pdf[1001:])
    done = auditor("verify", "dossier.pdf", "--trust", str(sample.project / "ana.crt"), cwd=tmp_path)
    assert done.returncode == 4 and done.stderr.startswith("auditor: error: dossier.pdf: signature ")
    done = auditor("verify", "dossier.pdf", "--key", str(sample.project / "ana.pub"), cwd=tmp_path)
    assert done.returncode == 2 and "give --trust CA.pem or --key CERT" in done.stderr


def test_the_clean_commit_forgery_is_refused_and_nothing_written(sample: Sample, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(sample.project / ".auditor", project / ".auditor")
    shutil.copy(sample.project / "ana.key", project / "ana.key")
    os.chmod(project / "ana.key", 0o600)
    record = project / ".auditor" / "runs" / sample.run_a / "record.json"
    data = json.loads(record.read_bytes())
    data["source"].update(dirty=False, diff_sha256=None)  # the forgery's claim: a clean commit
    record.write_text(json.dumps(data))
    done = auditor("bundle", sample.run_a, "-o", "forged.tar", "--sign", "ana.key", *CHECK, cwd=project)
    assert done.returncode == 4 and "changed since auditor recorded it" in done.stderr, done.stderr
    assert not (project / "forged.tar").exists()


def test_the_readme_checks_verify_the_bundle_without_auditor(sample: Sample, tmp_path: Path) -> None:
    shutil.copy(sample.project / "ana.pub", tmp_path / "ana.pub")
    shutil.copy(sample.project / "ana.crt", tmp_path / "ana.crt")
    folder = tmp_path / "b"
    folder.mkdir()
    subprocess.run(["tar", "-xf", str(sample.project / "a.tar"), "-C", str(folder)], check=True)

    def python(name: str, cwd: Path = folder) -> subprocess.CompletedProcess[str]:
        code = snippet(name)
        return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)

    files = python("bundle-files")
    assert files.returncode == 0 and "statement verified; files as listed" in files.stdout, files.stderr
    inclusion = python("bundle-inclusion")
    assert inclusion.returncode == 0 and "is in the log at head" in inclusion.stdout, inclusion.stderr
    store_snippet = python("inclusion-proof", folder / "log")  # "The run store"'s, on the same proof
    assert store_snippet.returncode == 0 and store_snippet.stdout == "True\n", store_snippet.stderr
    for line in snippet("bundle-pdf").splitlines():
        command = line.split("  #")[0].split()
        command[0] = str(Path(sys.executable).parent / "pyhanko") if command[0] == "pyhanko" else command[0]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert ("Signature is Valid." in done.stdout) or ("The signature is judged VALID." in done.stdout)
    # Each check fails once its file changes.
    (folder / "logs" / "stdout.log").write_bytes(b"edited\n")
    files = python("bundle-files")
    assert files.returncode != 0 and "logs/stdout.log: changed" in files.stderr
    proof = json.loads((folder / "log" / "inclusion.json").read_text())
    proof["root"] = "0" * 64
    (folder / "log" / "inclusion.json").write_text(json.dumps(proof))
    inclusion = python("bundle-inclusion")
    assert inclusion.returncode != 0 and "not in the log" in inclusion.stderr
