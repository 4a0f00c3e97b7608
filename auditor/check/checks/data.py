"""Checks on data lineage: documentation, content hashes, undeclared reads, legal basis."""

from __future__ import annotations

import functools
from datetime import datetime

from pydantic import Field

from auditor.check.checks.interface import CheckContext, CheckDef, NoParams, cannot, missing
from auditor.record import Missing, RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import Verdict
from auditor.record.lineage import (
    REQUIRED_DATASHEET_FIELDS,
    AbsentPath,
    ContentHash,
    Dataset,
    IdentityHint,
    Lineage,
    Observation,
)


def _lineage(record: RunRecord) -> Lineage | Verdict:
    if isinstance(record.lineage, Lineage):
        return record.lineage
    return missing("lineage", "data lineage", record.lineage if isinstance(record.lineage, Missing) else None)


def _inputs(lineage: Lineage) -> list[Dataset]:
    return [d for d in lineage.datasets if d.role == "input"]


def _code_verdict(d: Dataset) -> Verdict:
    return Verdict(subject=f"dataset:{d.id}", outcome="not_applicable", message="source code dependency, not data")


class DocumentedParams(Frozen):
    required_fields: tuple[str, ...] = Field(REQUIRED_DATASHEET_FIELDS, min_length=1)
    roles: tuple[str, ...] = ("input",)


def _datasets_documented(record: RunRecord, params: DocumentedParams, _ctx: CheckContext) -> list[Verdict]:
    lineage = _lineage(record)
    if isinstance(lineage, Verdict):
        return [lineage]
    datasets = [d for d in lineage.datasets if d.role in params.roles]
    if not datasets:
        return [Verdict(subject="lineage", outcome="fail", message=f"no {'/'.join(params.roles)} dataset declared")]
    out = []
    for d in datasets:
        if d.is_code:
            out.append(_code_verdict(d))
            continue
        gaps = d.datasheet.missing_fields(params.required_fields)
        out.append(
            Verdict(
                subject=f"dataset:{d.id}",
                outcome="fail" if gaps else "pass",
                message=f"datasheet lacks {', '.join(gaps)}" if gaps else "datasheet complete",
                evidence={"missing": ", ".join(gaps)} if gaps else {},
            )
        )
    return out


def _datasets_hashed(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    lineage = _lineage(record)
    if isinstance(lineage, Verdict):
        return [lineage]
    inputs = _inputs(lineage)
    if not inputs:
        return [Verdict(subject="lineage", outcome="fail", message="no input dataset declared")]
    started = record.identity.started_at
    out = []
    for d in inputs:
        subject, before = f"dataset:{d.id}", d.before
        if d.is_code:
            out.append(_code_verdict(d))
        elif isinstance(before, ContentHash) and before.hashed_at > started:
            out.append(
                cannot(
                    subject,
                    f"sha256 taken {_minute(before.hashed_at.replace(tzinfo=None))} UTC, after the run started: "
                    "it shows today's bytes, not what the run read",
                )
            )
        elif isinstance(before, ContentHash):
            out.append(
                Verdict(
                    subject=subject,
                    outcome="pass",
                    message=f"sha256 {before.sha256[:12]}… before the run",
                    evidence={"sha256": before.sha256},
                )
            )
        elif isinstance(before, AbsentPath):
            out.append(Verdict(subject=subject, outcome="fail", message=f"{before.path} did not exist at run time"))
        elif isinstance(before, Missing):
            out.append(cannot(subject, f"not hashed: {before.reason}"))
        elif isinstance(before, IdentityHint):
            out.append(
                cannot(subject, f"only an identity hint from {before.tool} ({before.algorithm}): {before.meaning}")
            )
        else:
            out.append(cannot(subject, f"not hashed: remote data ({d.uri or 'no path'}) is not fetched by auditor"))
    return out


@functools.lru_cache(maxsize=256)
def _minute(wall: datetime) -> str:
    """A wall-clock time to the minute. Cached, keyed by the naive wall time (equal ones print alike):
    the 10,000 datasets of one capture share a handful of them, and strftime cost 25 ms over 10,000."""
    return f"{wall:%Y-%m-%d %H:%M}"


def _no_undeclared_reads(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    lineage = _lineage(record)
    if isinstance(lineage, Verdict):
        return [lineage]
    observed = lineage.observed
    if not isinstance(observed, Observation):
        return [missing("lineage", "observed file access", observed)]
    if observed.method != "audit-hook":
        return [cannot("lineage", "reads were not observable (not a Python command): only writes are known")]
    undeclared = [f.path for f in observed.files if "undeclared_read" in f.verdicts]
    if not undeclared:
        return [
            Verdict(
                subject="lineage",
                outcome="pass",
                message=f"every data read was declared ({observed.processes} Python processes observed)",
            )
        ]
    return [
        Verdict(subject=f"file:{path}", outcome="fail", message=f"{path} was read but is not declared")
        for path in undeclared
    ]


def _personal_data_legal_basis(record: RunRecord, _: NoParams, _ctx: CheckContext) -> list[Verdict]:
    lineage = _lineage(record)
    if isinstance(lineage, Verdict):
        return [lineage]
    out = []
    for d in lineage.datasets:
        sheet, subject = d.datasheet, f"dataset:{d.id}"
        if d.is_code:
            out.append(_code_verdict(d))
            continue
        if sheet.personal_data is None:
            out.append(Verdict(subject=subject, outcome="fail", message="whether it holds personal data is not stated"))
        elif not sheet.personal_data:
            out.append(Verdict(subject=subject, outcome="not_applicable", message="declared free of personal data"))
        else:
            ok = bool(sheet.legal_basis)
            out.append(
                Verdict(
                    subject=subject,
                    outcome="pass" if ok else "fail",
                    message=f"legal basis: {sheet.legal_basis}" if ok else "personal data without a legal basis",
                )
            )
    return out or [Verdict(subject="lineage", outcome="not_applicable", message="no dataset declared")]


DATASETS_DOCUMENTED = CheckDef(
    "datasets_documented",
    DocumentedParams,
    _datasets_documented,
    "declared datasets have the required datasheet fields",
)
DATASETS_HASHED = CheckDef("datasets_hashed", NoParams, _datasets_hashed, "every input dataset was content-hashed")
NO_UNDECLARED_READS = CheckDef(
    "no_undeclared_reads", NoParams, _no_undeclared_reads, "the run read no data that nobody declared"
)
PERSONAL_DATA_LEGAL_BASIS = CheckDef(
    "personal_data_legal_basis", NoParams, _personal_data_legal_basis, "personal data has a stated legal basis"
)
