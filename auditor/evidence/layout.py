"""What an evidence bundle holds: its member names and the predicate of its signed statement.

    record.json               the run record, the exact bytes the store holds
    check-report.json         the check of that record (`auditor check --format json`)
    logs/stdout.log           the run's logs, the exact stored bytes (absent when the record names
    logs/stderr.log           none, or the store no longer holds it: the predicate says which)
    dossier/dossier.html      the dossier, built from that one check
    dossier/dossier.pdf       the same, PDF/A-3b with the record and the report attached; PAdES-signed
    log/inclusion.json        the record's entry in the store's log, with the proof to the log's head
    log/consistency.json      that the head printed with the run is a prefix of that head
    signoffs/<ID>.json        each sign-off that covers this record and these findings, as stored
    log/signoffs/<ID>.json    its entry in the log, with the proof to the same head
    VERIFY.txt                how to check the bundle, with auditor and without it
    statement.dsse.json       in-toto Statement v1 over every file above, in a signed DSSE envelope
                              (statement.json, the bare statement, in a bundle made without a key)

Shared by the writer (bundle.py) and the checker (verify.py), so the two cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.errors import EvidenceError, UsageError
from auditor.sign.canonical import exact_keys
from auditor.store.log import LogHead

PREDICATE_TYPE = "https://auditor.dev/evidence-bundle/v1"
RECORD = "record.json"
CHECK_REPORT = "check-report.json"
LOGS = {"stdout": "logs/stdout.log", "stderr": "logs/stderr.log"}
HTML = "dossier/dossier.html"
PDF = "dossier/dossier.pdf"
INCLUSION = "log/inclusion.json"
CONSISTENCY = "log/consistency.json"
GUIDE = "VERIFY.txt"
SIGNED_STATEMENT = "statement.dsse.json"
UNSIGNED_STATEMENT = "statement.json"
SIGNOFF_DIR = "signoffs/"
SIGNOFF_PROOF_DIR = "log/signoffs/"
FIXED = frozenset({RECORD, CHECK_REPORT, HTML, PDF, INCLUSION, CONSISTENCY, GUIDE, *LOGS.values()})
_SIGNOFF_NAME = re.compile(r"^(?:log/)?signoffs/([0-9A-HJKMNP-TV-Z]{26})\.json$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def signoff_member(signoff_id: str) -> str:
    return f"{SIGNOFF_DIR}{signoff_id}.json"


def signoff_proof_member(signoff_id: str) -> str:
    return f"{SIGNOFF_PROOF_DIR}{signoff_id}.json"


def signoff_id_of(name: str) -> str | None:
    """The sign-off id a member is named by (`signoffs/ID.json` or `log/signoffs/ID.json`), else None."""
    match = _SIGNOFF_NAME.match(name)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Predicate:
    """What the signer states about the bundle, besides the digest of every file."""

    run_id: str
    record_sha256: str
    findings_sha256: str
    verdict: str
    log_head: LogHead  # the head every proof in the bundle leads to
    run_head: LogHead  # the head printed with the run (log/consistency.json proves log_head extends it)
    created: str
    tool_version: str
    pdf_signed: bool
    logs: Mapping[str, str | None]  # stream -> None when its member is bundled, else why it is absent
    signoffs: tuple[str, ...]
    signoffs_left_out: tuple[tuple[str, str], ...]  # (sign-off file or id, why it is not bundled)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "record_sha256": self.record_sha256,
            "findings_sha256": self.findings_sha256,
            "verdict": self.verdict,
            "log_head": self.log_head.text(),
            "run_head": self.run_head.text(),
            "created": self.created,
            "tool": {"name": "auditor", "version": self.tool_version},
            "pdf": {"pdfa": True, "signed": self.pdf_signed},
            "logs": {
                stream: {"member": LOGS[stream]} if why is None else {"absent": why}
                for stream, why in self.logs.items()
            },
            "signoffs": [signoff_member(s) for s in self.signoffs],
            "signoffs_left_out": [{"signoff": s, "reason": why} for s, why in self.signoffs_left_out],
        }


def parse_predicate(data: Mapping[str, Any], where: str) -> Predicate:
    """The predicate as the statement carries it; EvidenceError naming the field when malformed."""
    fields = {
        "run_id", "record_sha256", "findings_sha256", "verdict", "log_head", "run_head", "created", "tool", "pdf",
        "logs", "signoffs", "signoffs_left_out",
    }  # fmt: skip
    obj = exact_keys(data, where, fields)
    at = f"{where}.predicate"
    for key in ("record_sha256", "findings_sha256"):
        if not isinstance(obj[key], str) or not _SHA256.match(obj[key]):
            raise EvidenceError(f"{at}.{key}: expected 64 lowercase hex digits")
    for key in ("run_id", "verdict", "created"):
        if not isinstance(obj[key], str) or not obj[key] or len(obj[key]) > 200:
            raise EvidenceError(f"{at}.{key}: expected a short string")
    tool = exact_keys(obj["tool"], f"{at}.tool", {"name", "version"})
    pdf = exact_keys(obj["pdf"], f"{at}.pdf", {"pdfa", "signed"})
    if tool["name"] != "auditor" or not isinstance(tool["version"], str) or not isinstance(pdf["signed"], bool):
        raise EvidenceError(f"{at}.tool/pdf: not an auditor bundle's")
    logs_obj = exact_keys(obj["logs"], f"{at}.logs", set(LOGS))
    logs: dict[str, str | None] = {}
    for stream in LOGS:
        entry = logs_obj[stream]
        if isinstance(entry, dict) and entry == {"member": LOGS[stream]}:
            logs[stream] = None
        elif isinstance(entry, dict) and set(entry) == {"absent"} and isinstance(entry["absent"], str):
            logs[stream] = entry["absent"][:500]
        else:
            raise EvidenceError(f"{at}.logs.{stream}: expected {{'member': {LOGS[stream]!r}}} or {{'absent': WHY}}")
    signoffs = obj["signoffs"]
    if not isinstance(signoffs, list) or not all(isinstance(s, str) and signoff_id_of(s) for s in signoffs):
        raise EvidenceError(f"{at}.signoffs: expected a list of signoffs/ID.json names")
    left = obj["signoffs_left_out"]
    if not isinstance(left, list) or not all(
        isinstance(i, dict) and set(i) == {"signoff", "reason"} and all(isinstance(v, str) for v in i.values())
        for i in left
    ):
        raise EvidenceError(f"{at}.signoffs_left_out: expected a list of {{signoff, reason}}")
    return Predicate(
        run_id=obj["run_id"],
        record_sha256=obj["record_sha256"],
        findings_sha256=obj["findings_sha256"],
        verdict=obj["verdict"],
        log_head=_head(obj["log_head"], f"{at}.log_head"),
        run_head=_head(obj["run_head"], f"{at}.run_head"),
        created=obj["created"],
        tool_version=tool["version"][:100],
        pdf_signed=pdf["signed"],
        logs=logs,
        signoffs=tuple(str(signoff_id_of(s)) for s in signoffs),
        signoffs_left_out=tuple((str(i["signoff"])[:200], str(i["reason"])[:500]) for i in left),
    )


def _head(value: object, where: str) -> LogHead:
    if not isinstance(value, str):
        raise EvidenceError(f"{where}: expected SIZE:ROOT")
    try:
        return LogHead.parse(value, where)
    except UsageError as exc:  # in a bundle a malformed head is bad evidence, not bad usage
        raise EvidenceError(f"{where}: {value[:100]!r} is not a log head (SIZE:ROOT)") from exc
