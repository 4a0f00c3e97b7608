"""`auditor report`: check a run, build the dossier's content once, write it as HTML and/or PDF.

The check is the same as `auditor check` (same options, same report), so a dossier can never
disagree with the CI gate. Output files are written atomically; a PDF that fails leaves the
HTML written and says so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor.capture.redact import mask
from auditor.check.digest import findings_digest
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.report import CheckReport
from auditor.errors import AuditorError, UsageError
from auditor.extras import need
from auditor.files import UntrustedFileError, open_folder, open_regular_file, write_output
from auditor.index.query import reproduction_records
from auditor.record import Missing, RunRecord
from auditor.record.models import LogFile
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.format import bytes_text
from auditor.render.dossier.html import render_html
from auditor.render.dossier.views import Cover, Dossier, LogExcerpt
from auditor.render.formats import DOSSIER_FORMATS
from auditor.sign.keys import Signer
from auditor.sign.trust import Verifiers
from auditor.store.notes import StoredNote, notes_of
from auditor.store.runs import RunStore
from auditor.store.signoffs import SignOffStatus, check_signoff, stored_signoffs
from auditor.text import scrub

LOG_LINES = 60
LOG_BYTES = 64 * 1024
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


@dataclass(frozen=True)
class Written:
    report: CheckReport
    files: tuple[Path, ...]
    pdf_pages: int | None


@dataclass(frozen=True)
class Rendered:
    """One check and its dossier's HTML, in memory; `title` names the PDF made from it, `cover` and
    `generated` fill the PDF's metadata; the PDF is laid out from `dossier`'s copy for print, when given."""

    report: CheckReport
    html: str
    title: str
    cover: Cover | None = None
    generated: datetime | None = None
    dossier: Dossier | None = None


def make_report(
    request: CheckRequest,
    out_dir: Path,
    formats: Sequence[str],
    pdfa: bool,
    now: datetime | None = None,
    pdf_signer: Signer | None = None,
    tsa_url: str | None = None,
    signoff_verifiers: Verifiers | None = None,
) -> Written:
    """Check, build, write. With `pdf_signer`, the PDF is signed (PAdES; time-stamped by `tsa_url`)
    before it is written: an unsigned PDF never lands where a signed one was asked for. Sign-off
    signatures are checked against `signoff_verifiers` (keys and trust roots the reader gave)."""
    rendered = render_dossier(request, now, signoff_verifiers)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot create the output folder: {exc.strerror}") from exc
    files: list[Path] = []
    pages = None
    names = set(formats)
    if "html" in names:
        files.append(out_dir / DOSSIER_FORMATS["html"].file_name)
        write_output(files[-1], rendered.html.encode())
    if "pdf" in names:
        data, pages = render_dossier_pdf(request, rendered, pdfa=pdfa, pdf_signer=pdf_signer, tsa_url=tsa_url)
        files.append(out_dir / DOSSIER_FORMATS["pdf"].file_name)
        write_output(files[-1], data)
    return Written(report=rendered.report, files=tuple(files), pdf_pages=pages)


def render_dossier(
    request: CheckRequest, now: datetime | None = None, signoff_verifiers: Verifiers | None = None
) -> Rendered:
    """Check once and build the dossier's HTML from that one report."""
    report = run_check(request)
    generated = now or datetime.now(UTC)
    logs = _logs(request.record, request.run_folder)
    reproductions = _reproductions(request.record, request.run_folder)
    signoffs = _signoffs(request, report, signoff_verifiers)
    notes = _notes(request)
    dossier = build_dossier(
        request.record, report, request.waivers, logs, generated, default_drawing(), reproductions, signoffs, notes
    )
    return Rendered(report, render_html(dossier), scrub(dossier.cover.title), dossier.cover, generated, dossier)


def render_dossier_pdf(
    request: CheckRequest,
    rendered: Rendered,
    *,
    pdfa: bool,
    pdf_signer: Signer | None = None,
    tsa_url: str | None = None,
) -> tuple[bytes, int]:
    """The PDF of a rendered dossier and its page count: PDF/A-3b with the record and the check
    report attached with `pdfa`, PAdES-signed with `pdf_signer`."""
    need("weasyprint")
    from auditor.render.dossier.pdf import PdfFacts, render_pdf
    from auditor.render.json_report import render_json

    attachments = []
    if pdfa:
        raw = _record_bytes(request)
        attachments = [
            ("record.json", raw, "The run record this dossier describes (auditor run record JSON)"),
            ("findings.json", render_json(rendered.report).encode(), "auditor check report (JSON) for this run"),
        ]
    facts = None
    if rendered.cover is not None and rendered.generated is not None:
        cover = rendered.cover
        facts = PdfFacts(
            run_id=cover.run_id,
            record_sha256=cover.record_sha256,
            verdict=cover.verdict,
            verdict_text=cover.verdict_text,
            generated_at=rendered.generated,
            creator=f"auditor {cover.auditor_version}",
        )
    from auditor import progress

    with progress.step(f"rendering the PDF dossier of {request.record.identity.run_id}"):  # 10 s and more
        html = rendered.html if rendered.dossier is None else render_html(rendered.dossier, for_print=True)
        result = render_pdf(html, attachments=attachments, pdfa=pdfa, title=rendered.title, facts=facts)
    data = result.data
    if pdf_signer is not None:
        data = _sign(data, pdf_signer, tsa_url, request.record.identity.run_id)
    return data, result.pages


def _sign(pdf: bytes, signer: Signer, tsa_url: str | None, run_id: str) -> bytes:
    need("pyhanko")
    from auditor.sign.pdf import sign_pdf

    if signer.certificate is None:
        raise UsageError("--sign: a PDF signature needs an X.509 certificate for the key: give --cert CERT")
    return sign_pdf(
        pdf,
        key=signer.private_key,
        certificate=signer.certificate,
        chain=signer.chain,
        tsa_url=tsa_url,
        reason=f"auditor audit dossier of run {run_id}",
        name=signer.identity,
    )


def _record_bytes(request: CheckRequest) -> bytes:
    """The record to attach, read again: only if it still has the bytes that were checked."""
    if request.run_folder is not None:
        raw = RunStore(request.run_folder.parent.parent).verify(request.record.identity.run_id)
    else:
        try:
            raw = request.record_path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{request.record_path}: cannot read: {exc.strerror}") from exc
    if hashlib.sha256(raw).hexdigest() != request.record_sha256:
        raise UsageError(f"{request.record_path}: changed while the dossier was made; nothing attached")
    return raw


def _reproductions(record: RunRecord, run_folder: Path | None) -> list[RunRecord] | Missing:
    """The re-runs of a run kept in a store; a loose record has no store to ask."""
    if run_folder is None:
        return Missing(reason="the record was read from a file outside a run store")
    try:
        return reproduction_records(RunStore(run_folder.parent.parent), record.identity.run_id)
    except AuditorError as exc:
        return Missing(reason=f"the run store could not be read ({exc})")


def _signoffs(request: CheckRequest, report: CheckReport, verifiers: Verifiers | None) -> list[SignOffStatus] | Missing:
    """The run's sign-offs, each checked against this record's bytes and these findings. Without a
    key or trust list, a signature is checked against the certificate it carries (the view says so)."""
    if request.run_folder is None:
        return Missing(reason="the record was read from a file outside a run store, which keeps sign-offs")
    run_id = request.record.identity.run_id
    try:
        stored = stored_signoffs(RunStore(request.run_folder.parent.parent), run_id)
    except AuditorError as exc:
        return Missing(reason=f"the run store could not be read ({exc})")
    digest = findings_digest(report)
    return [
        check_signoff(
            s, run_id=run_id, record_sha256=request.record_sha256, findings_sha256=digest, verifiers=verifiers
        )
        for s in stored
    ]


def _notes(request: CheckRequest) -> list[StoredNote] | Missing:
    """The run's notes, each believed only when the store's log vouches for its bytes."""
    if request.run_folder is None:
        return Missing(reason="the record was read from a file outside a run store, which keeps notes")
    try:
        return notes_of(RunStore(request.run_folder.parent.parent), request.record.identity.run_id)
    except AuditorError as exc:
        return Missing(reason=f"the run store could not be read ({exc})")


def _logs(record: RunRecord, run_folder: Path | None) -> list[LogExcerpt]:
    out = []
    for name, log in (("Standard output", record.outputs.stdout), ("Standard error", record.outputs.stderr)):
        if log is not None:  # ingested runs may have no logs; the record's notes say why
            out.append(_excerpt(name, log, run_folder))
    return out


def _excerpt(name: str, log: LogFile, run_folder: Path | None) -> LogExcerpt:
    """The tail of a stored log. The path comes from the record, so it is untrusted: only a file
    named in the run's own folder in a store (the store verified that folder) is read, never
    through a link, and what is shown is masked again and capped. A loose record file names
    nothing auditor reads: beside it may lie anything (an .env, a key)."""
    verified, intact = "not checked: the file was not read", False
    if run_folder is None:
        lines = ["(not read: the record was given as a loose file, not a run in a store, so no file it names is read)"]
    elif not _plain_name(log.path):
        lines = [f"(the log path {log.path} is not a file name in this run's folder: not read)"]
    else:
        try:
            digest, tail, whole = _read_tail(run_folder, log.path)
        except UntrustedFileError as exc:
            lines = [f"(the log file {log.path} is {exc.why}: not read)"]
        except OSError:
            lines = [f"(the log file {log.path} is not in this run's folder)"]
        else:
            intact = digest == log.sha256
            verified = "matches the recorded sha256" if intact else f"DOES NOT MATCH the recorded sha256 (now {digest})"
            lines = _masked_lines(tail, whole) or ["(empty)"]
    tail_lines = lines[-LOG_LINES:]
    return LogExcerpt(
        name=f"{name} ({log.path})",
        sha256=log.sha256,
        size=bytes_text(log.bytes),
        redactions=log.redactions,
        lines=tuple(tail_lines),
        omitted=len(lines) - len(tail_lines),
        verified=verified,
        intact=intact,
    )


def _plain_name(path: str) -> bool:
    return bool(path) and path not in (".", "..") and "/" not in path and "\\" not in path and "\0" not in path


def _read_tail(run_folder: Path, name: str) -> tuple[str, bytes, bool]:
    """The SHA-256 of the whole file (read in chunks) and its last LOG_BYTES; whether that is all of it."""
    digest = hashlib.sha256()
    tail = b""
    with open_folder(run_folder) as folder, open_regular_file(name, dir_fd=folder) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            tail = (tail + chunk)[-LOG_BYTES:]
        size = handle.tell()
    return digest.hexdigest(), tail, size <= LOG_BYTES


def _masked_lines(tail: bytes, whole: bool) -> list[str]:
    """Lines of a log tail with token shapes masked again (the file on disk may not be what
    auditor wrote). A tail cut mid-file drops its first, partial line, where a cut token would
    no longer look like one; a private key whose BEGIN line was cut off is masked up to its END."""
    text = tail.decode("utf-8", errors="replace")
    if not whole:
        text = text.partition("\n")[2]
    text, _ = mask(text)
    end = _KEY_END.search(text)
    if end is not None:
        text = "[REDACTED:private-key]" + text[end.end() :]
    return text.splitlines()
