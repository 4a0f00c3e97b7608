"""What every export says, computed once from the record: packages with their purl and hashes,
datasets and models with their locations and content hashes, the people, the sign-offs.

Everything here comes from a run record and is untrusted: the formats put it in JSON values only
(the libraries escape it), and IRIs are built with `iri`, every part percent-quoted.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from auditor.record.lineage import Dataset, Datasheet, Hash, ModelArtifact
from auditor.record.model_card import ModelCard, ModelEntry
from auditor.record.models import GitSource, Packages, ReportedSource, RunRecord
from auditor.record.profile import DataProfile, TableProfile

IRI_BASE = "https://auditor.invalid/runs/"  # .invalid (RFC 2606) never resolves: names, not links
TOOL_NAME = "auditor"


@dataclass(frozen=True)
class Approval:
    """A sign-off the store's log vouches for (its signature is `auditor signoffs`' business)."""

    name: str
    role: str
    decision: str
    decided_at: datetime
    comment: str


@dataclass(frozen=True)
class Export:
    record: RunRecord
    now: datetime
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    purl: str
    hashes: tuple[tuple[str, str], ...]  # (algorithm, hex), from the hash-pinned requirements


@dataclass(frozen=True)
class Data:
    """A dataset or a model as the exports see it."""

    id: str
    kind: str  # "dataset" | "model"
    role: str  # input | output | intermediate (models: output)
    path: str | None
    location: str | None  # an absolute path or a URI
    sha256: str | None
    hint: tuple[str, str] | None  # (algorithm, value) of a digest another tool recorded
    datasheet: Datasheet = field(default_factory=Datasheet)
    columns: tuple[tuple[str, str | None, str | None], ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)


def iri(run_id: str, *parts: str) -> str:
    """An IRI naming something of one run; every part quoted, so no run value can add a path,
    a query, a fragment or a JSON-LD keyword."""
    return IRI_BASE + "/".join(quote_part(p) for p in (run_id, *parts))


def quote_part(part: str) -> str:
    """One path segment: every reserved character quoted, and dots too, so no part is `.` or `..`."""
    return quote(part, safe="").replace(".", "%2E")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def purl(name: str, version: str) -> str:
    from packageurl import PackageURL

    return str(PackageURL(type="pypi", name=normalise(name), version=version))


def packages(record: RunRecord) -> tuple[Package, ...]:
    """Installed distributions, each with the hashes its hash-pinned requirement line gives that version."""
    found = record.environment.packages
    if not isinstance(found, Packages):
        return ()
    pinned: dict[tuple[str, str], list[str]] = {}
    declared = record.environment.declared
    for file in getattr(declared, "files", ()):
        for pin in file.pins:
            if pin.version:
                pinned.setdefault((normalise(pin.name), pin.version), []).extend(pin.hashes)
    out = []
    for dist in sorted(found.distributions, key=lambda d: (normalise(d.name), d.version)):
        hashes = []
        for value in dict.fromkeys(pinned.get((normalise(dist.name), dist.version), ())):
            algorithm, _, digest = value.partition(":")
            if digest and re.fullmatch(r"[0-9a-fA-F]+", digest):
                hashes.append((algorithm.lower(), digest.lower()))
        out.append(Package(dist.name, dist.version, purl(dist.name, dist.version), tuple(hashes)))
    return tuple(out)


def project_root(record: RunRecord) -> str:
    source = record.source
    return source.root if isinstance(source, GitSource) else record.identity.cwd


def _location(record: RunRecord, path: str | None, uri: str | None) -> str | None:
    if uri:
        return uri
    if path is None:
        return None
    return posixpath.normpath(posixpath.join(project_root(record), path))


def _digests(hashes: tuple[Hash | None, ...]) -> tuple[str | None, tuple[str, str] | None]:
    for h in hashes:
        if h is not None and h.state == "hashed":
            return h.sha256, None
    for h in hashes:
        if h is not None and h.state == "identity_hint":
            return None, (h.algorithm, h.value)
    return None, None


def _dataset(record: RunRecord, d: Dataset) -> Data:
    order = (d.before, d.after) if d.role == "input" else (d.after, d.before)
    sha256, hint = _digests(order)
    return Data(
        id=d.id,
        kind="dataset",
        role=d.role,
        path=d.path,
        location=_location(record, d.path, d.uri),
        sha256=sha256,
        hint=hint,
        datasheet=d.datasheet,
        columns=tuple((c.name, c.type, c.description) for c in d.columns) or _profiled_columns(d),
        annotations=dict(d.annotations),
    )


def _profiled_columns(d: Dataset) -> tuple[tuple[str, str | None, str | None], ...]:
    """The columns auditor profiled, for a dataset of one tabular file (a folder's files may differ)."""
    profile = d.profile
    if not isinstance(profile, DataProfile) or len(profile.files) != 1:
        return ()
    table = profile.files[0]
    if not isinstance(table, TableProfile) or table.column_count != len(table.columns):
        return ()
    return tuple((c.name, c.arrow_type, None) for c in table.columns)


def _model(record: RunRecord, m: ModelArtifact) -> Data:
    sha256, hint = _digests((m.after,))
    return Data(
        id=m.id,
        kind="model",
        role="output",
        path=m.path,
        location=_location(record, m.path, None),
        sha256=sha256,
        hint=hint,
        annotations=dict(m.annotations),
    )


def data(record: RunRecord) -> tuple[Data, ...]:
    """Datasets (not code a pipeline lists as a dependency) and models, in the record's order."""
    lineage = record.lineage
    if lineage is None or lineage.state != "captured":
        return ()
    return (
        *(_dataset(record, d) for d in lineage.datasets if not d.is_code),
        *(_model(record, m) for m in lineage.models),
    )


def card_entry(record: RunRecord, model_id: str) -> ModelEntry | None:
    card = record.model_card
    if not isinstance(card, ModelCard):
        return None
    return next((m for m in card.models if m.id == model_id), None)


def model_card(record: RunRecord) -> ModelCard | None:
    return record.model_card if isinstance(record.model_card, ModelCard) else None


def edges(record: RunRecord) -> tuple[tuple[str, str, str], ...]:
    """(step, input id, output id) for every step's input and output: what each output was made from."""
    lineage = record.lineage
    if lineage is None or lineage.state != "captured":
        return ()
    return tuple((s.name, i, o) for s in lineage.steps for o in s.outputs for i in s.inputs)


def owner(record: RunRecord) -> str | None:
    lineage = record.lineage
    return lineage.project.owner if lineage is not None and lineage.state == "captured" else None


def intended_use(record: RunRecord) -> str | None:
    lineage = record.lineage
    return lineage.project.intended_use if lineage is not None and lineage.state == "captured" else None


def source_location(record: RunRecord) -> tuple[str | None, str | None, str | None, str | None]:
    """(repository URL, commit, branch, path) of the code, where the record knows them."""
    source = record.source
    if isinstance(source, GitSource):
        return source.remote_url, source.commit, source.branch, None
    if isinstance(source, ReportedSource):
        return source.repo_url, source.commit, source.branch, source.path
    return None, None, None, None
