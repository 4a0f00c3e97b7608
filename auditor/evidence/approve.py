"""`auditor approve`: a named person's dated decision on a run's findings, kept in the store.

The run is checked exactly as `auditor check` would check it, so the decision is taken on the
findings a dossier shows; the sign-off names the record's SHA-256 and the findings' digest, and is
signed (DSSE) when a key is given. It is written beside the run and appended to the store's log;
the record itself never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from auditor import __version__
from auditor.check.digest import findings_digest
from auditor.check.evaluate import CheckRequest, run_check
from auditor.check.report import CheckReport
from auditor.errors import UsageError
from auditor.record.ids import new_ulid
from auditor.record.signoff import SIGNOFF_PAYLOAD_TYPE, Decision, SignOff
from auditor.sign.dsse import sign_envelope
from auditor.sign.keys import Signer
from auditor.store.runs import RunStore
from auditor.store.signoffs import signoff_bytes, write_signoff


@dataclass(frozen=True)
class Approval:
    signoff: SignOff
    path: Path
    head: str
    report: CheckReport
    signed_by: str | None


@dataclass(frozen=True)
class Decided:
    """What the person decided, as they gave it."""

    decision: Decision
    role: str
    comment: str
    name: str | None


def approve(request: CheckRequest, decided: Decided, signer: Signer | None, now: datetime | None = None) -> Approval:
    if request.run_folder is None:
        raise UsageError(
            f"{request.record_path}: a sign-off is kept in the run store beside its run: give a run id, not a file"
        )
    name = decided.name or (signer.identity if signer is not None and signer.certificate is not None else None)
    if not name:
        raise UsageError("--name: who decides? (or sign with a key whose certificate names you)")
    report = run_check(request)
    result = report.with_waivers
    try:
        signoff = SignOff(
            signoff_id=new_ulid(),
            run_id=request.record.identity.run_id,
            record_sha256=request.record_sha256,
            findings_sha256=findings_digest(report),
            verdict=result.verdict,
            failing={s: n for s, n in result.totals.failing_by_severity.items() if n},
            decision=decided.decision,
            role=decided.role,
            name=name,
            comment=decided.comment,
            decided_at=(now or datetime.now(UTC)).replace(microsecond=0),
            tool_version=__version__,
        )
    except ValueError as exc:  # pydantic's ValidationError: the person's own input
        raise UsageError(_first_problem(exc)) from exc
    payload = signoff_bytes(signoff)
    data = sign_envelope(payload, SIGNOFF_PAYLOAD_TYPE, [signer]) if signer is not None else payload
    store = RunStore(request.run_folder.parent.parent)
    path, head = write_signoff(store, signoff, data)
    return Approval(signoff, path, head, report, signer.identity if signer is not None else None)


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        option = {"role": "--role", "name": "--name", "comment": "--comment"}.get(str(first["loc"][0]), "input")
        return f"{option}: {first['msg']}"
    return str(exc)
