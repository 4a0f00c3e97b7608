"""`auditor report`: check a run, build the dossier's content once, write it as HTML and/or PDF.

The check is the same as `auditor check` (same options, same report), so a dossier can never
disagree with the CI gate. Output files are written atomically; a PDF that fails leaves the
HTML written and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.report import CheckReport
from auditor.errors import AuditorError, UsageError
from auditor.files import write_output
from auditor.record import Missing, RunRecord
from auditor.record.models import LogFile
from auditor.render.dossier.build import build_dossier, default_drawing
from auditor.render.dossier.format import bytes_text
from auditor.render.dossier.html import render_html
from auditor.render.dossier.views import LogExcerpt
from auditor.render.formats import DOSSIER_FORMATS
from auditor.store.runs import RECORD_FILE, RunStore
from auditor.text import scrub

LOG_LINES = 60
LOG_BYTES = 64 * 1024


@dataclass(frozen=True)
class Written:
    report: CheckReport
    files: tuple[Path, ...]
    pdf_pages: int | None


def make_report(
    request: CheckRequest,
    out_dir: Path,
    formats: Sequence[str],
    pdfa: bool,
    now: datetime | None = None,
) -> Written:
    report = run_check(request)
    generated = now or datetime.now(UTC)
    waivers = request.waivers
    logs = _logs(request.record, request.record_path.parent)
    reproductions = _reproductions(request.record, request.record_path)
    dossier = build_dossier(request.record, report, waivers, logs, generated, default_drawing(), reproductions)
    html = render_html(dossier)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot create the output folder: {exc.strerror}") from exc
    files: list[Path] = []
    pages = None
    names = set(formats)
    if "html" in names:
        files.append(out_dir / DOSSIER_FORMATS["html"].file_name)
        write_output(files[-1], html.encode())
    if "pdf" in names:
        from auditor.render.dossier.pdf import render_pdf
        from auditor.render.json_report import render_json

        attachments = []
        if pdfa:
            raw = request.record_path.read_bytes()
            attachments = [
                ("record.json", raw, "The run record this dossier describes (auditor run record JSON)"),
                ("findings.json", render_json(report).encode(), "auditor check report (JSON) for this run"),
            ]
        title = scrub(dossier.cover.title)
        result = render_pdf(html, attachments=attachments, pdfa=pdfa, title=title)
        files.append(out_dir / DOSSIER_FORMATS["pdf"].file_name)
        write_output(files[-1], result.data)
        pages = result.pages
    return Written(report=report, files=tuple(files), pdf_pages=pages)


def _reproductions(record: RunRecord, path: Path) -> list[RunRecord] | Missing:
    """The re-runs of a run kept in a store (STORE/runs/ID/record.json); a loose record has no store to ask."""
    run_id = record.identity.run_id
    if path.name != RECORD_FILE or path.parent.name != run_id or path.parent.parent.name != "runs":
        return Missing(reason="the record was read from a file outside a run store")
    try:
        return RunStore(path.parent.parent.parent).reproductions_of(run_id)
    except AuditorError as exc:
        return Missing(reason=f"the run store could not be read ({exc})")


def _logs(record: RunRecord, run_folder: Path) -> list[LogExcerpt]:
    out = []
    for name, log in (("Standard output", record.outputs.stdout), ("Standard error", record.outputs.stderr)):
        if log is not None:  # ingested runs may have no logs; the record's notes say why
            out.append(_excerpt(name, log, run_folder))
    return out


def _excerpt(name: str, log: LogFile, run_folder: Path) -> LogExcerpt:
    """The tail of a stored log. The path comes from the record, so it is untrusted: only a regular
    file inside the run's own folder is read, and only its last LOG_BYTES."""
    path = run_folder / log.path
    verified, intact = "not checked: the file was not read", False
    try:
        inside = path.resolve().is_relative_to(run_folder.resolve()) and path.is_file()
        if not inside:
            lines = [f"(the log path {log.path} is not a file in this run's folder: not read)"]
        else:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            intact = digest == log.sha256
            verified = "matches the recorded sha256" if intact else f"DOES NOT MATCH the recorded sha256 (now {digest})"
            lines = data[-LOG_BYTES:].decode("utf-8", errors="replace").splitlines() or ["(empty)"]
    except OSError:
        lines = [f"(the log file {log.path} is not beside this record)"]
    tail = lines[-LOG_LINES:]
    return LogExcerpt(
        name=f"{name} ({log.path})",
        sha256=log.sha256,
        size=bytes_text(log.bytes),
        redactions=log.redactions,
        lines=tuple(tail),
        omitted=len(lines) - len(tail),
        verified=verified,
        intact=intact,
    )
