"""`auditor bundle`: one portable archive of a run's evidence, with a signed statement over every file.

The run is checked once, exactly as `auditor check` does; the check report, the dossier (HTML
and PDF) and the findings digest all come from that one check. The record and its logs are the
bytes the store holds, read from the run's verified folder (never through a link), and the
record's bytes must still be the ones the check read. The log's proofs (the record's inclusion,
each sign-off's, and the consistency from the head printed with the run) come from one reading
of the log, so they all lead to one head. Members are listed in `layout.py`.

A bundle made without a key carries the bare statement (`statement.json`): its files are
consistent with each other, but nothing proves who made it, so `auditor verify` refuses it
(exit 4) after checking everything else. The archive is written atomically: complete or absent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor import __version__
from auditor.check.digest import findings_digest, findings_digest_of_json
from auditor.check.evaluate import CheckRequest
from auditor.check.report import CheckReport
from auditor.errors import EvidenceError, UsageError
from auditor.evidence.archive import MAX_MEMBER_BYTES, archive_bytes
from auditor.evidence.guide import guide_text
from auditor.evidence.layout import (
    CHECK_REPORT,
    CONSISTENCY,
    GUIDE,
    HTML,
    INCLUSION,
    LOGS,
    PDF,
    PREDICATE_TYPE,
    RECORD,
    SIGNED_STATEMENT,
    UNSIGNED_STATEMENT,
    Predicate,
    signoff_member,
    signoff_proof_member,
)
from auditor.files import UntrustedFileError, open_folder, read_regular_file, write_output
from auditor.record.models import LogFile
from auditor.render.dossier.make import render_dossier, render_dossier_pdf
from auditor.render.json_report import render_json
from auditor.sign.dsse import sign_envelope
from auditor.sign.keys import Signer
from auditor.sign.statement import PAYLOAD_TYPE, build_statement
from auditor.store.log import InclusionProof
from auditor.store.runs import RunProofs, RunStore
from auditor.store.signoffs import StoredSignOff, check_signoff, parse_signoff, stored_signoffs


@dataclass(frozen=True)
class Bundled:
    path: Path
    sha256: str
    members: tuple[str, ...]
    report: CheckReport
    predicate: Predicate
    signed_by: str | None
    pdf_pages: int


def make_bundle(
    request: CheckRequest,
    out: Path,
    signer: Signer | None,
    *,
    tsa_url: str | None = None,
    now: datetime | None = None,
) -> Bundled:
    """Check the run, build every member, sign the statement with `signer` (and the PDF, when the
    key has a certificate), and write the archive to `out` in one step."""
    if request.run_folder is None:
        raise UsageError(f"{request.record_path}: a bundle is made from a run in the store: give a run id, not a file")
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    store = RunStore(request.run_folder.parent.parent)
    run_id = request.record.identity.run_id
    rendered = render_dossier(request, created)
    report = rendered.report
    check_json = render_json(report).encode()
    digest = findings_digest(report)
    if findings_digest_of_json(json.loads(check_json)) != digest:
        raise UsageError(
            f"{request.record_path}: the check report's JSON form gives another findings digest than the report, "
            "so the digest could not be checked from the bundle; nothing written"
        )
    pdf_signer = signer if signer is not None and signer.certificate is not None else None
    pdf, pages = render_dossier_pdf(request, rendered, pdfa=True, pdf_signer=pdf_signer, tsa_url=tsa_url)
    stored = stored_signoffs(store, run_id)
    proofs = store.proofs(run_id)
    if hashlib.sha256(proofs.record_bytes).hexdigest() != request.record_sha256:
        raise EvidenceError(f"{request.record_path}: changed while the bundle was made; nothing written")
    members = {
        RECORD: proofs.record_bytes,
        CHECK_REPORT: check_json,
        HTML: rendered.html.encode("utf-8"),
        PDF: pdf,
        INCLUSION: proofs.record.to_json(),
        CONSISTENCY: proofs.since.to_json(),
    }
    logs: dict[str, str | None] = {}
    for stream, log in (("stdout", request.record.outputs.stdout), ("stderr", request.record.outputs.stderr)):
        data, why = _log_bytes(request.run_folder, stream, log)
        logs[stream] = why
        if data is not None:
            members[LOGS[stream]] = data
    kept, left_out = _signoffs(stored, proofs, run_id, request.record_sha256, digest)
    for signoff_id, (data, proof) in kept.items():
        members[signoff_member(signoff_id)] = data
        members[signoff_proof_member(signoff_id)] = proof.to_json()
    predicate = Predicate(
        run_id=run_id,
        record_sha256=request.record_sha256,
        findings_sha256=digest,
        verdict=report.with_waivers.verdict,
        log_head=proofs.record.head,
        run_head=proofs.since.old,
        created=created.isoformat().replace("+00:00", "Z"),
        tool_version=__version__,
        pdf_signed=pdf_signer is not None,
        logs=logs,
        signoffs=tuple(kept),
        signoffs_left_out=tuple(left_out),
    )
    members[GUIDE] = guide_text(
        run_id=run_id,
        record_sha256=request.record_sha256,
        head=predicate.log_head.text(),
        run_head=predicate.run_head.text(),
        signed_by=signer.identity if signer is not None else None,
    )
    subjects = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    statement = build_statement(subjects, PREDICATE_TYPE, predicate.to_json())
    if signer is not None:
        members[SIGNED_STATEMENT] = sign_envelope(statement, PAYLOAD_TYPE, [signer])
    else:
        members[UNSIGNED_STATEMENT] = statement
    data = archive_bytes(members)
    write_output(out, data)
    return Bundled(
        path=out,
        sha256=hashlib.sha256(data).hexdigest(),
        members=tuple(sorted(members)),
        report=report,
        predicate=predicate,
        signed_by=signer.identity if signer is not None else None,
        pdf_pages=pages,
    )


def _log_bytes(run_folder: Path, stream: str, log: LogFile | None) -> tuple[bytes | None, str | None]:
    """A log's exact stored bytes, or None and why it is not bundled. The name comes from the
    record, so only a plain file name in the run's own (verified) folder is read, never through a
    link; bytes that are not the ones the record names are refused (exit 4): a bundle never
    carries a log its record disowns."""
    if log is None:
        return None, f"the record keeps no {stream} log (its source tool kept none)"
    name = log.path
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        return None, f"the record names {name[:100]!r}, not a file in the run's folder: not read"
    try:
        with open_folder(run_folder) as folder:
            data = read_regular_file(name, MAX_MEMBER_BYTES, dir_fd=folder)
    except FileNotFoundError:
        return None, f"the record names {name}, which the run's folder in the store no longer holds"
    except UntrustedFileError as exc:
        raise EvidenceError(f"{run_folder / name}: {exc.why}: a run's log is read only from a regular file") from exc
    except OSError as exc:
        raise UsageError(f"{run_folder / name}: cannot read: {exc.strerror or exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != log.sha256:
        raise EvidenceError(
            f"{run_folder / name}: changed since auditor recorded it: its sha256 is {actual}, the record names "
            f"{log.sha256}; nothing written"
        )
    return data, None


def _signoffs(
    stored: list[StoredSignOff], proofs: RunProofs, run_id: str, record_sha256: str, findings_sha256: str
) -> tuple[dict[str, tuple[bytes, InclusionProof]], list[tuple[str, str]]]:
    """The sign-offs to bundle (id -> bytes and inclusion proof): those the log vouches for that
    cover this record and these findings with an intact signature (or none). The others are named
    in the statement with the reason, so a reader knows they exist."""
    kept: dict[str, tuple[bytes, InclusionProof]] = {}
    left_out: list[tuple[str, str]] = []
    for item in stored:
        name = item.path.name
        status = check_signoff(item, run_id=run_id, record_sha256=record_sha256, findings_sha256=findings_sha256)
        if item.data is None or status.problem is not None:
            left_out.append((name, status.problem or item.problem or "unreadable"))
            continue
        signoff, _ = parse_signoff(item.data, str(item.path))
        proof = proofs.signoffs.get(signoff.signoff_id)
        if name != f"{signoff.signoff_id}.json" or proof is None:
            left_out.append((name, "its log entry was not found"))
            continue
        entry = json.loads(proof.entry)
        if entry.get("sha256") != hashlib.sha256(item.data).hexdigest():
            left_out.append((name, "its bytes are not the ones its log entry holds"))
        elif not status.covers_record:
            left_out.append((name, f"covers another record (sha256 {signoff.record_sha256})"))
        elif not status.covers_findings:
            left_out.append((name, f"covers other findings (digest {signoff.findings_sha256})"))
        elif status.signature == "invalid":
            left_out.append((name, f"its signature does not verify: {status.signature_note}"))
        else:
            kept[signoff.signoff_id] = (item.data, proof)
    return kept, left_out
