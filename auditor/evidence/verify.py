"""`auditor verify FILE|BUNDLE`: check evidence offline, on the exact bytes it is given.

A bundle is read into memory by the hostile-archive reader (archive.py: nothing is extracted, so
nothing can land anywhere). Then, in this order, each step stopping at the first thing that does
not verify with one line `BUNDLE: MEMBER: reason` (EvidenceError, exit 4):

1. the statement's DSSE signature, against the keys (`--key`) and trust roots (`--trust`) given:
   every signature must be by a key the user trusts (a bundle made without a key fails at the end,
   after every other check, so its reader still learns what else holds);
2. every file against the statement's subjects, on the bytes in the archive: a file missing,
   changed or not listed (added after signing) is named; and no file an auditor bundle does not hold;
3. record.json: the bytes the predicate names, a valid record of the predicate's run;
4. log/inclusion.json: its leaf is exactly the record's log entry (this run id, this sha256), and
   its proof leads to the head the predicate names; log/consistency.json proves that head extends
   the head printed with the run; `--head`, when given, must be one of those two;
5. check-report.json: the findings digest recomputed from its bytes is the predicate's, for this record;
6. the logs: the bytes the record names (or absent, as the predicate says and why);
7. the PDF's PAdES signature(s) (pyHanko's validator): intact, covering the whole file, by a
   certificate the user trusts (a `--trust` root, a `--key` certificate, or the certificate the
   statement's signature carries when `--key` pins its key);
8. every sign-off: its own inclusion proof (a `signoff` entry for this run, these bytes, the same
   head), its signature when signed, and that it covers this record and these findings.

What verified is reported one line each (`Verification.lines`); exit 0 only when all did.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar

from cryptography import x509

from auditor.check.digest import findings_digest_of_json
from auditor.errors import AuditorError, EvidenceError, UsageError
from auditor.evidence.archive import MAX_MEMBER_BYTES, read_archive
from auditor.evidence.layout import (
    CHECK_REPORT,
    CONSISTENCY,
    FIXED,
    HTML,
    INCLUSION,
    LOGS,
    PDF,
    PREDICATE_TYPE,
    RECORD,
    SIGNED_STATEMENT,
    SIGNOFF_DIR,
    UNSIGNED_STATEMENT,
    Predicate,
    parse_predicate,
    signoff_id_of,
    signoff_proof_member,
)
from auditor.files import InputFileError, UntrustedFileError, open_regular_file, os_problem
from auditor.record.io import parse_record
from auditor.record.models import RunRecord
from auditor.sign.canonical import load_strict
from auditor.sign.certs import cert_keyid, identity_of, parse_certificates
from auditor.sign.dsse import parse_envelope, verify_envelope
from auditor.sign.pdf import PdfSignatureReport, verify_pdf
from auditor.sign.statement import PAYLOAD_TYPE, parse_statement
from auditor.sign.trust import Verifiers
from auditor.store.log import ConsistencyProof, InclusionProof, LogHead, entry_line
from auditor.store.runs import record_entry
from auditor.store.signoffs import StoredSignOff, check_signoff
from auditor.text import safe

T = TypeVar("T")
PROOF_CAP = 1 << 20  # a proof of a log of 2^63 entries is under 10 KiB
REPORT_CAP = 256 << 20


@dataclass
class Verification:
    """What was verified, one line each, and the first thing that did not (None when all did)."""

    lines: list[str] = field(default_factory=list)
    error: EvidenceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def verify_path(path: Path, verifiers: Verifiers, head: LogHead | None = None) -> Verification:
    """Verify a bundle or a signed PDF (told apart by the PDF's `%PDF-` header)."""
    if not verifiers:
        raise UsageError(f"{path}: nothing to check the signature against: give --key PUB|CERT or --trust CA.pem")
    result = Verification()
    try:
        if _is_pdf(path):
            if head is not None:
                raise UsageError("--head checks a bundle's log proofs: a PDF carries none")
            _verify_pdf_file(path, verifiers, result)
        else:
            _BundleCheck(path, verifiers, head, result).run()
    except EvidenceError as exc:
        result.error = exc
    return result


def _is_pdf(path: Path) -> bool:
    try:
        with open_regular_file(path) as handle:
            return handle.read(5) == b"%PDF-"
    except UntrustedFileError as exc:
        raise EvidenceError(f"{safe(str(path))}: {exc.why}: evidence is read only from a regular file") from exc
    except OSError as exc:
        raise InputFileError(path, os_problem(exc)) from exc


def _verify_pdf_file(path: Path, verifiers: Verifiers, result: Verification) -> None:
    where = safe(str(path))
    roots = pdf_roots(verifiers)
    if not roots:
        raise UsageError(
            f"{path}: a PDF's signature is checked against certificates: give --trust CA.pem or --key CERT "
            "(a bare public key names no certificate)"
        )
    try:
        with open_regular_file(path) as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except OSError as exc:
        raise InputFileError(path, os_problem(exc)) from exc
    if len(data) > MAX_MEMBER_BYTES:
        raise EvidenceError(f"{where}: larger than {MAX_MEMBER_BYTES:,} bytes, the most a dossier may be")
    report = verify_pdf(data, trust_roots=roots)
    result.lines.extend(pdf_lines(where, report))
    if not report.ok:
        raise EvidenceError(f"{where}: {'; '.join(report.problems())}")
    result.lines.append(f"verified: {where} (sha256 {hashlib.sha256(data).hexdigest()})")


def pdf_roots(verifiers: Verifiers, carried: tuple[x509.Certificate, ...] = ()) -> list[x509.Certificate]:
    """The certificates a PDF signer may chain to: the trust roots, the certificates given with
    --key, and `carried` (certificates whose key --key pins)."""
    roots = list(verifiers.roots)
    roots += [v.certificate for v in verifiers.keys.values() if v.certificate is not None]
    roots += carried
    return roots


def pdf_lines(where: str, report: PdfSignatureReport) -> list[str]:
    lines = []
    for signature in report.signatures:
        if not signature.ok:
            continue
        stamp = ""
        if signature.timestamp is not None:
            stamp = f", time-stamped {signature.timestamp.time:%Y-%m-%d %H:%M:%S %Z} by {signature.timestamp.authority}"
        lines.append(
            f"{where}: PAdES signature by {safe(signature.signer)}: intact, covers the whole file, "
            f"certificate trusted{stamp}"
        )
    return lines


class _BundleCheck:
    def __init__(self, path: Path, verifiers: Verifiers, head: LogHead | None, result: Verification) -> None:
        self.path = path
        self.where = safe(str(path))
        self.verifiers = verifiers
        self.given_head = head
        self.say = result.lines.append
        self.members: dict[str, bytes] = {}
        self.carried: tuple[x509.Certificate, ...] = ()

    def fail(self, member: str, reason: str) -> NoReturn:
        raise EvidenceError(f"{self.where}: {safe(member)}: {reason}")

    def run(self) -> None:
        self.members = read_archive(self.path)
        payload, signed = self.statement()
        statement = parse_statement(
            payload, where=self._at(self._statement_name(signed)), predicate_type=PREDICATE_TYPE
        )
        self.subjects(statement.subjects, self._statement_name(signed))
        predicate = parse_predicate(statement.predicate, self._at(f"{self._statement_name(signed)}: predicate"))
        record = self.record(predicate)
        head = self.log(predicate)
        self.check_report(predicate)
        self.logs(predicate, record)
        self.pdf(predicate)
        self.say(f"{self.where}: {HTML}: the dossier the statement names")
        self.signoffs(predicate, head)
        if not signed:
            self.fail(
                UNSIGNED_STATEMENT,
                "not signed: the bundle was made without --sign, so nothing proves who made it or that its files "
                "are the ones it was made with (every other check above passed)",
            )
        whole = hashlib.sha256(self._archive_bytes()).hexdigest()
        self.say(f"verified: {self.where} (sha256 {whole}): every file, signature and proof above")

    def _at(self, member: str) -> str:
        return f"{self.where}: {member}"

    @staticmethod
    def _statement_name(signed: bool) -> str:
        return SIGNED_STATEMENT if signed else UNSIGNED_STATEMENT

    def _archive_bytes(self) -> bytes:
        with open_regular_file(self.path) as handle:
            return handle.read()

    # 1. the statement and its signature

    def statement(self) -> tuple[bytes, bool]:
        if SIGNED_STATEMENT in self.members and UNSIGNED_STATEMENT in self.members:
            self.fail(UNSIGNED_STATEMENT, f"a second, unsigned statement beside {SIGNED_STATEMENT}")
        if UNSIGNED_STATEMENT in self.members:
            return self.members[UNSIGNED_STATEMENT], False
        if SIGNED_STATEMENT not in self.members:
            self.fail(SIGNED_STATEMENT, "missing: an auditor bundle carries its signed statement here")
        envelope = self.members[SIGNED_STATEMENT]
        at = self._at(SIGNED_STATEMENT)
        verified = verify_envelope(envelope, self.verifiers, payload_type=PAYLOAD_TYPE, where=at)
        pinned = []
        for signature in parse_envelope(envelope, where=at).signatures:
            if signature.keyid in self.verifiers.keys and signature.cert:
                pinned += parse_certificates(signature.cert.encode(), at, EvidenceError)[:1]
        self.carried = tuple(pinned)
        names = {cert_keyid(c): identity_of(c) for c in self.carried}
        who = ", ".join(
            safe(name) if keyid not in names or not name.startswith("key ") else f"{name} ({safe(names[keyid])})"
            for name, keyid in zip(verified.signed_by, verified.keyids, strict=True)
        )
        self.say(f"{at}: signed by {who}, a key you trust")
        return verified.payload, True

    # 2. every file against the statement

    def subjects(self, subjects: Mapping[str, str], statement: str) -> None:
        differ = []
        for name in sorted(subjects):
            data = self.members.get(name)
            if data is None:
                differ.append((name, "missing: the signed statement lists it"))
                continue
            actual = hashlib.sha256(data).hexdigest()
            if actual != subjects[name]:
                differ.append((name, f"changed: its sha256 is {actual}, the signed statement lists {subjects[name]}"))
        if len(differ) == 1:
            self.fail(*differ[0])
        if differ:  # more than one file: the statement may be the one replaced (another bundle's)
            names = ", ".join(safe(name) for name, _ in differ[:5]) + (", ..." if len(differ) > 5 else "")
            self.fail(
                statement,
                f"{len(differ)} of the {len(subjects)} files it lists are missing or differ ({names}): the files or "
                "the statement were replaced",
            )
        for name in sorted(self.members):
            if name != statement and name not in subjects:
                self.fail(name, "not listed in the signed statement: added after it was signed")
        for name in sorted(subjects):
            if name not in FIXED and signoff_id_of(name) is None:
                self.fail(name, "not a file an auditor bundle holds")
        self.say(f"{self.where}: {len(subjects)} files, each with the sha256 the statement lists; no other file")

    # 3. and 4. the record and the log

    def record(self, predicate: Predicate) -> RunRecord:
        raw = self._member(RECORD)
        actual = hashlib.sha256(raw).hexdigest()
        if actual != predicate.record_sha256:
            self.fail(RECORD, f"sha256 {actual}, the statement's predicate names {predicate.record_sha256}")
        try:
            record = parse_record(raw, self._at(RECORD))
        except AuditorError as exc:
            raise EvidenceError(exc.message) from exc
        if record.identity.run_id != predicate.run_id:
            self.fail(RECORD, f"the record of run {safe(record.identity.run_id)}, not of {safe(predicate.run_id)}")
        return record

    def log(self, predicate: Predicate) -> LogHead:
        proof = self._proof(INCLUSION, InclusionProof.from_json)
        expected = record_entry(predicate.run_id, predicate.record_sha256)
        if proof.entry != expected:
            self.fail(INCLUSION, f"its leaf is not this record's log entry ({expected.decode()})")
        if not proof.verify():
            self.fail(INCLUSION, f"the proof does not lead from leaf {proof.leaf_index} to root {proof.root}")
        head = proof.head
        if head != predicate.log_head:
            self.fail(INCLUSION, f"leads to head {head.text()}, the statement names {predicate.log_head.text()}")
        self.say(
            f"{self._at(RECORD)}: run {safe(predicate.run_id)}, sha256 {predicate.record_sha256}: entry "
            f"{proof.leaf_index} of the store's log at head {head.text()} (inclusion proof verified)"
        )
        since = self._proof(CONSISTENCY, ConsistencyProof.from_json)
        if since.new != head or since.old != predicate.run_head:
            self.fail(CONSISTENCY, f"not a proof from head {predicate.run_head.text()} to {head.text()}")
        if since.old.size <= proof.leaf_index or not since.verify():
            self.fail(CONSISTENCY, f"does not prove that head {head.text()} extends {since.old.text()}")
        if since.old == head:
            self.say(f"{self._at(CONSISTENCY)}: head {head.text()} is the one printed with the run")
        else:
            self.say(
                f"{self._at(CONSISTENCY)}: head {head.text()} extends head {since.old.text()}, the one printed "
                "with the run (consistency proof verified)"
            )
        given = self.given_head
        if given is None:
            self.say(f"{self.where}: log head not compared with one you hold (give --head SIZE:ROOT as published)")
        elif given == head:
            self.say(f"{self.where}: log head {head.text()} is --head")
        elif given == since.old:
            self.say(f"{self.where}: log head {head.text()} extends --head {given.text()} (consistency proof)")
        else:
            self.fail(
                INCLUSION,
                f"the bundle's log head {head.text()} neither is --head {given.text()} nor is proven to extend it "
                f"(it carries a proof from {since.old.text()} only)",
            )
        return head

    def _proof(self, member: str, parse: Callable[[bytes], T]) -> T:
        data = self._member(member)
        if len(data) > PROOF_CAP:
            self.fail(member, f"{len(data):,} bytes: a log proof is far smaller")
        try:
            return parse(data)
        except ValueError as exc:
            self.fail(member, str(exc))

    def _member(self, name: str) -> bytes:
        data = self.members.get(name)
        if data is None:
            self.fail(name, "missing")
        return data

    # 5. and 6. the check report and the logs

    def check_report(self, predicate: Predicate) -> None:
        data = load_strict(self._member(CHECK_REPORT), self._at(CHECK_REPORT), REPORT_CAP)
        try:
            digest = findings_digest_of_json(data)
            record_sha = data["run"]["record_sha256"]
            verdict = data["with_waivers"]["verdict"]
        except (KeyError, TypeError, ValueError):
            self.fail(CHECK_REPORT, "not an auditor check report (run, with_waivers, findings)")
        if record_sha != predicate.record_sha256:
            self.fail(CHECK_REPORT, f"a check of record sha256 {safe(str(record_sha))[:64]}, not of the bundled record")
        if digest != predicate.findings_sha256:
            self.fail(CHECK_REPORT, f"its findings digest is {digest}, the statement names {predicate.findings_sha256}")
        if verdict != predicate.verdict:
            self.fail(CHECK_REPORT, f"verdict {safe(str(verdict))[:40]}, the statement names {predicate.verdict}")
        self.say(f"{self._at(CHECK_REPORT)}: verdict {safe(str(verdict))}, findings digest {digest}")

    def logs(self, predicate: Predicate, record: RunRecord) -> None:
        for stream, log in (("stdout", record.outputs.stdout), ("stderr", record.outputs.stderr)):
            member, absent = LOGS[stream], predicate.logs[stream]
            if absent is not None:
                if member in self.members:
                    self.fail(member, "the statement says this log is absent, yet the bundle holds it")
                self.say(f"{self._at(member)}: absent: {safe(absent)}")
                continue
            if log is None:
                self.fail(member, "the record names no such log")
            actual = hashlib.sha256(self._member(member)).hexdigest()
            if actual != log.sha256:
                self.fail(member, f"sha256 {actual}, not the {safe(log.sha256)[:64]} the record names")
            self.say(f"{self._at(member)}: the bytes the record names (sha256 {actual})")

    # 7. the PDF

    def pdf(self, predicate: Predicate) -> None:
        data = self._member(PDF)
        report = verify_pdf(data, trust_roots=pdf_roots(self.verifiers, self.carried))
        if not predicate.pdf_signed and not report.signatures and not report.unreadable:
            self.say(f"{self._at(PDF)}: not PAdES-signed (the key has no certificate); the statement covers it")
            return
        if not report.ok:
            self.fail(PDF, "; ".join(report.problems()))
        for line in pdf_lines(self._at(PDF), report):
            self.say(line)

    # 8. sign-offs

    def signoffs(self, predicate: Predicate, head: LogHead) -> None:
        found = sorted(s for n in self.members if n.startswith(SIGNOFF_DIR) for s in [signoff_id_of(n)] if s)
        if found != sorted(predicate.signoffs):
            self.fail(SIGNOFF_DIR, "the sign-offs in the bundle are not the ones the statement names")
        proofs = {signoff_id_of(n) for n in self.members if n.startswith("log/signoffs/")}
        stray = proofs - set(found)
        if stray:
            self.fail(signoff_proof_member(str(sorted(str(s) for s in stray)[0])), "a proof for no bundled sign-off")
        for signoff_id in found:
            self.signoff(signoff_id, predicate, head)
        for name, why in predicate.signoffs_left_out:
            self.say(f"{self.where}: sign-off {safe(name)} left out by the bundle's maker: {safe(why)}")
        if not found and not predicate.signoffs_left_out:
            self.say(f"{self.where}: no sign-offs")

    def signoff(self, signoff_id: str, predicate: Predicate, head: LogHead) -> None:
        member, proof_member = f"{SIGNOFF_DIR}{signoff_id}.json", signoff_proof_member(signoff_id)
        data = self._member(member)
        proof: InclusionProof = self._proof(proof_member, InclusionProof.from_json)
        entry = {
            "v": 1,
            "kind": "signoff",
            "run_id": predicate.run_id,
            "signoff_id": signoff_id,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if proof.entry != entry_line(entry):
            self.fail(proof_member, f"its leaf is not the log entry of {member} (this run, these bytes)")
        if proof.head != head or not proof.verify():
            self.fail(proof_member, f"does not prove the entry is in the log at head {head.text()}")
        status = check_signoff(
            StoredSignOff(Path(member), data, None),
            run_id=predicate.run_id,
            record_sha256=predicate.record_sha256,
            findings_sha256=predicate.findings_sha256,
            verifiers=self.verifiers,
        )
        signoff = status.signoff
        if status.problem is not None or signoff is None:
            self.fail(member, status.problem or "not a sign-off")
        if signoff.signoff_id != signoff_id:
            self.fail(member, f"holds sign-off {signoff.signoff_id}, not the one it is named by")
        if not status.covers_record:
            self.fail(member, f"covers record sha256 {signoff.record_sha256}, not the bundled record")
        if not status.covers_findings:
            self.fail(member, f"covers findings digest {signoff.findings_sha256}, not the bundled check's")
        if status.signature not in ("verified", "unsigned"):
            self.fail(member, status.signature_note)
        signed = (
            f"signed by {safe(status.signer or '')}"
            if status.signature == "verified"
            else "NOT signed (it names a person; nothing proves it was them)"
        )
        self.say(
            f"{self._at(member)}: {signoff.decision} by {safe(signoff.name)} as {safe(signoff.role)} on "
            f"{signoff.decided_at:%Y-%m-%d %H:%M %Z}, {signed}; covers this record and these findings; entry "
            f"{proof.leaf_index} of the log"
        )
