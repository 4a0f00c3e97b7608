"""The sign-off block of the verdict page: every sign-off, and whether it covers this dossier.

A sign-off covers a dossier only when it names this record's SHA-256 and these findings' digest,
and its signature (if any) is intact. Anything else is shown as a decision on something else,
never carried over: an approval of last month's findings is not an approval of today's.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.record import Missing
from auditor.render.dossier.format import when
from auditor.render.dossier.views import SignOffView
from auditor.store.signoffs import SignOffStatus
from auditor.text import clip

COMMENT_CHARS = 2000


def signoff_views(statuses: Sequence[SignOffStatus] | Missing) -> tuple[tuple[SignOffView, ...], str]:
    """The rows, and the sentence above them (how many cover this dossier, or why none are shown)."""
    if isinstance(statuses, Missing):
        return (), f"Sign-offs could not be read: {statuses.reason}."
    if not statuses:
        return (), "No one has signed off this run yet."
    rows = tuple(_view(s) for s in statuses)
    covering = [r for r in rows if r.covers]
    decisions = sorted({r.decision for r in covering})
    noun = "sign-off covers" if len(rows) == 1 else "sign-offs cover"
    lead = f"{len(covering)} of {len(rows)} {noun} this record and these findings"
    return rows, lead + (f" ({', '.join(decisions)})." if decisions else ".")


def _view(status: SignOffStatus) -> SignOffView:
    so = status.signoff
    if so is None or status.problem is not None:
        return SignOffView(
            name=so.name if so else "unknown",
            role=so.role if so else "unknown",
            decision=so.decision if so else "unknown",
            decided_at=when(so.decided_at) if so else "unknown",
            comment=clip(so.comment, COMMENT_CHARS) if so else "",
            covers=False,
            coverage=f"Not believed: {status.problem}",
            signature=status.signature_note,
            signature_ok=False,
            record_sha256=so.record_sha256 if so else "",
            findings_sha256=so.findings_sha256 if so else "",
            file=status.file,
        )
    gaps = []
    if not status.covers_record:
        gaps.append(f"it was made for another record (sha256 {so.record_sha256[:16]}…)")
    if not status.covers_findings:
        gaps.append("the findings have changed since (policy, waivers or advisory data)")
    if status.signature == "invalid":
        gaps.append("its signature could not be verified")
    coverage = "Covers this record and these findings."
    if gaps:
        coverage = "Does not cover this dossier: " + "; ".join(gaps) + "."
    return SignOffView(
        name=so.name,
        role=so.role,
        decision=so.decision,
        decided_at=when(so.decided_at),
        comment=clip(so.comment, COMMENT_CHARS),
        covers=status.covers,
        coverage=coverage,
        signature=status.signature_note,
        signature_ok={"verified": True, "self-declared": True, "invalid": False}.get(status.signature),
        record_sha256=so.record_sha256,
        findings_sha256=so.findings_sha256,
        file=status.file,
    )
