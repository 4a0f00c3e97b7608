"""VERIFY.txt: how a reader checks a bundle, with auditor and without it (the README says more)."""

from __future__ import annotations

from auditor.evidence.layout import (
    CHECK_REPORT,
    CONSISTENCY,
    INCLUSION,
    PDF,
    RECORD,
    SIGNED_STATEMENT,
    UNSIGNED_STATEMENT,
)

_GUIDE = """\
auditor evidence bundle: run {run_id}
=====================================

This archive is evidence about one run: its record ({record}), its check ({check}),
its logs, its dossier (HTML, and PDF/A with the record and the check attached), the run store's
log proofs ({inclusion}, {consistency}), the sign-offs of its findings, and {statement}:
an in-toto Statement v1 naming the SHA-256 of every other file here{signed}.

The record's SHA-256 is {record_sha256}.
The store's log head when this bundle was made: {head}
The head printed with the run:                {run_head}
Compare either with a head you obtained independently (a CI log, a ticket, an email).

With auditor (offline; exit 0 only when everything verifies, else one line naming the file):

    auditor verify BUNDLE.tar --key SIGNER.pub          (or --trust CA.pem)  [--head SIZE:ROOT]

Without auditor (see the README section "Verifying without auditor"):

  1. The files: `tar -xf BUNDLE.tar` into an empty folder; `sha256sum` every file and compare
     with the "subject" list of the statement (the envelope's base64 "payload").
  2. The statement's signature: DSSE (https://github.com/secure-systems-lab/dsse), checked with
     securesystemslib's `Envelope.verify` against the signer's public key.
  3. The record is in the log: {inclusion} holds the log entry (its "sha256" must be the
     SHA-256 of {record}) and an RFC 6962 / RFC 9162 inclusion proof to "root"; recompute it
     with SHA-256(0x00 || entry) for the leaf and SHA-256(0x01 || left || right) for nodes.
  4. The PDF: `pdfsig -no-ocsp {pdf}` ("Signature is Valid.", "Total document signed"), or
     `pyhanko sign validate --trust ROOT.pem --trust-replace --no-revocation-check {pdf}`.
"""


def guide_text(*, run_id: str, record_sha256: str, head: str, run_head: str, signed_by: str | None) -> bytes:
    signed = f",\nsigned by {signed_by}" if signed_by else " (NOT signed: made without a key)"
    return _GUIDE.format(
        run_id=run_id,
        record=RECORD,
        check=CHECK_REPORT,
        inclusion=INCLUSION,
        consistency=CONSISTENCY,
        statement=SIGNED_STATEMENT if signed_by else UNSIGNED_STATEMENT,
        signed=signed,
        record_sha256=record_sha256,
        head=head,
        run_head=run_head,
        pdf=PDF,
    ).encode("utf-8")
