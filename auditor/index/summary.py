"""The facts about one run that questions across runs need, taken from its record once.

A `RunSummary` is what the index stores per run and what cross-run lineage, duplicate-work
detection, `runs` filters and the portfolio read: never the record itself (a 7 MB record is read
once, when it is indexed). Everything here is derived from the verified record; nothing is
evidence on its own (the record is).

Content keys: a dataset or model version is named by `sha256:<hex>` when auditor hashed its bytes,
or by `<tool>-<algorithm>:<value>` when only another tool's identity hint is known (a DVC MD5, an
MLflow dataset digest). Two runs share a version only when their keys are equal; a hint never
equals a hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple

from packaging.utils import canonicalize_name

from auditor.record.lineage import ContentHash, Dataset, IdentityHint, Lineage
from auditor.record.models import Container, GitSource, Packages, PythonInfo, ReportedSource, RunRecord

SUMMARY_VERSION = 4  # bump when a field is added: an index holding older summaries is rebuilt
# 2: exit_code, argv, time_basis (what `auditor runs` shows without reading the record)
# 3: DatasetRef.produced; source-code dependencies (DVC's src/*.py) are no longer datasets
# 4: source_uri, source_run_id (an ingested run's origin, for auditor_ingests)


class DatasetRef(NamedTuple):
    id: str
    role: str  # input | output | intermediate
    path: str | None
    uri: str | None
    before: str | None  # content key before the run (inputs, intermediates)
    after: str | None  # content key after the run (outputs, intermediates)
    documented: str  # documented | partly documented | undocumented
    produced: bool = False  # a step of the run writes it (a DVC stage's output, even when unchanged)


class ModelRef(NamedTuple):
    id: str
    path: str
    key: str | None


class StepRef(NamedTuple):
    name: str
    command: str


class CodeRef(NamedTuple):
    path: str
    sha256: str
    minhash: tuple[int, ...]


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    record_sha256: str
    schema_version: str
    project: str
    name: str | None
    owner: str | None
    intended_use: str | None
    status: str
    origin: str  # executed | ingested
    tool: str | None  # the ingested run's tool, or the executor (local, container)
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    user: str | None
    host: str | None
    commit: str | None
    branch: str | None
    dirty: bool | None
    repo_url: str | None
    python: str | None
    image: str | None
    reproduces: str | None
    reingests: str | None
    reproduction_verdict: str | None
    packages: tuple[tuple[str, str], ...] = ()  # (canonical name, version), sorted
    datasets: tuple[DatasetRef, ...] = ()
    models: tuple[ModelRef, ...] = ()
    steps: tuple[StepRef, ...] = ()
    label: str | None = None
    sensitive: tuple[str, ...] = ()  # fairness attributes, sorted
    code: tuple[CodeRef, ...] = ()
    params: dict[str, str] = field(default_factory=dict)  # as JSON text, for diff-free display
    metrics: dict[str, float] = field(default_factory=dict)  # the last value logged per name
    exit_code: int | None = None
    argv: tuple[str, ...] = ()  # the command as run, secrets masked
    time_basis: str | None = None  # where the run's times come from (record.identity.time_basis)
    source_uri: str | None = None  # an ingested run's origin.source_uri
    source_run_id: str | None = None  # an ingested run's origin.source_run_id (the tool's run id)

    def to_json(self) -> str:
        # not dataclasses.asdict: it deep-copies every value (1 ms a run, minutes for a rebuild);
        # json writes tuples as lists, so only the nested named tuples need turning into dicts
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("datasets", "models", "steps", "code"):
            data[name] = [item._asdict() for item in data[name]]
        data["started_at"] = self.started_at.isoformat()
        data["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def listing_json(self) -> str:
        """One line of `auditor runs --format json`: the summary without the code fingerprints
        (64 numbers per file, for duplicate detection only), with each code file's path and hash."""
        data = json.loads(self.to_json())
        data["code"] = [{"path": c.path, "sha256": c.sha256} for c in self.code]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunSummary:
        data: dict[str, Any] = json.loads(text)
        data["started_at"] = datetime.fromisoformat(data["started_at"])
        data["ended_at"] = datetime.fromisoformat(data["ended_at"]) if data["ended_at"] else None
        data["packages"] = tuple(tuple(p) for p in data["packages"])
        data["datasets"] = tuple(DatasetRef(**d) for d in data["datasets"])
        data["models"] = tuple(ModelRef(**m) for m in data["models"])
        data["steps"] = tuple(StepRef(**s) for s in data["steps"])
        data["sensitive"] = tuple(data["sensitive"])
        data["argv"] = tuple(data.get("argv", ()))
        data["code"] = tuple(CodeRef(c["path"], c["sha256"], tuple(c["minhash"])) for c in data["code"])
        return cls(**data)


def content_key(value: object) -> str | None:
    """`sha256:<hex>` for bytes auditor hashed, `<tool>-<algorithm>:<value>` for another tool's
    identity hint, None when neither is known (absent, missing, never hashed)."""
    if isinstance(value, ContentHash):
        return f"sha256:{value.sha256}"
    if isinstance(value, IdentityHint):
        return f"{value.tool.lower()}-{value.algorithm.lower()}:{value.value}"
    return None


def _dataset(entry: Dataset, produced: set[str]) -> DatasetRef:
    return DatasetRef(
        id=entry.id,
        role=entry.role,
        path=entry.path,
        uri=entry.uri,
        before=content_key(entry.before),
        after=content_key(entry.after),
        documented=entry.datasheet.documentation(),
        produced=entry.id in produced,
    )


def summarize(record: RunRecord, record_sha256: str) -> RunSummary:
    """The summary of a verified record (`record_sha256`: the SHA-256 of its stored bytes)."""
    ident, origin = record.identity, record.origin
    lineage = record.lineage if isinstance(record.lineage, Lineage) else None
    written = {o for step in lineage.steps for o in step.outputs} if lineage is not None else set()
    source = record.source
    commit = branch = repo_url = None
    dirty: bool | None = None
    if isinstance(source, GitSource):
        commit, branch, dirty, repo_url = source.commit, source.branch, source.dirty, source.remote_url
    elif isinstance(source, ReportedSource):
        commit, branch, repo_url = source.commit, source.branch, source.repo_url
    env = record.environment
    python = env.python.version if isinstance(env.python, PythonInfo) else None
    packages: tuple[tuple[str, str], ...] = ()
    if isinstance(env.packages, Packages):
        packages = tuple(sorted({(canonicalize_name(d.name), d.version) for d in env.packages.distributions}))
    image = record.container.image_ref if isinstance(record.container, Container) else None
    fairness = record.fairness
    label = getattr(fairness, "label_column", None)
    sensitive = tuple(sorted({a for group in getattr(fairness, "by_attributes", ()) for a in group.attributes}))
    code = getattr(record.code, "files", ())
    metrics: dict[str, float] = {}
    for metric in record.metrics:
        metrics[metric.name] = metric.value
    return RunSummary(
        run_id=ident.run_id,
        record_sha256=record_sha256,
        schema_version=record.schema_version,
        project=lineage.project.name if lineage is not None else ident.project,
        name=ident.name,
        owner=lineage.project.owner if lineage is not None else None,
        intended_use=lineage.project.intended_use if lineage is not None else None,
        status=ident.status,
        origin=origin.kind,
        tool=origin.tool if origin.kind == "ingested" else origin.executor,
        started_at=ident.started_at,
        ended_at=ident.ended_at,
        duration_s=ident.duration_s,
        user=ident.user,
        host=ident.host,
        commit=commit,
        branch=branch,
        dirty=dirty,
        repo_url=repo_url,
        python=python,
        image=image,
        reproduces=record.links.reproduces,
        reingests=record.links.reingests,
        reproduction_verdict=record.reproduction.verdict if record.reproduction is not None else None,
        packages=packages,
        datasets=tuple(_dataset(d, written) for d in lineage.datasets if not d.is_code) if lineage else (),
        models=tuple(ModelRef(m.id, m.path, content_key(m.after)) for m in lineage.models) if lineage else (),
        steps=tuple(StepRef(s.name, s.command) for s in lineage.steps) if lineage is not None else (),
        label=label if isinstance(label, str) else None,
        sensitive=sensitive,
        code=tuple(CodeRef(f.path, f.sha256, f.minhash) for f in code),
        params={k: json.dumps(v, sort_keys=True) for k, v in record.params.items()},
        metrics=metrics,
        exit_code=ident.exit_code,
        argv=tuple(ident.argv),
        time_basis=ident.time_basis,
        source_uri=origin.source_uri if origin.kind == "ingested" else None,
        source_run_id=origin.source_run_id if origin.kind == "ingested" else None,
    )
