"""Cross-run lineage: which run produced each dataset and model version, and which runs read it.

Built from run summaries only (auditor.index.query), never from records. A version is a content key
(summary.py): a run produced it when it is the `after` key of one of its output or intermediate
datasets (changed by the run, or written by one of its steps: a DVC stage's output) or of a
model; a run read it when it is the `before` key of an input or intermediate dataset it did not
produce itself. One run links to another when it produced a version the other read; when several
runs produced the same bytes, the consumer is linked to the latest of them that started no later than
the consumer did (the one that most plausibly wrote what was read; the others are listed as producers
of the version), so the links grow with the number of reads, not producers x readers. A version read
with no producer in the store came from outside it. Reproductions (`reproduces`) and re-ingests
(`reingests`) link the original run to the later one.

With a project, the lineage holds that project's runs and the runs of other projects that produced a
version its runs read or read a version its runs produced (`outside`: run id -> why it is there).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import networkx as nx

from auditor.errors import UsageError
from auditor.index.summary import RunSummary
from auditor.text import one_line

LinkKind = Literal["data", "model", "reproduces", "reingests"]


@dataclass(frozen=True)
class RunNode:
    run_id: str
    project: str
    name: str | None
    owner: str | None
    started_at: datetime
    status: str
    origin: str
    tool: str | None
    reproduces: str | None
    reingests: str | None


@dataclass
class Version:
    """One content key: the names runs gave it, who produced it and who read it (run ids, oldest first)."""

    key: str
    kind: Literal["dataset", "model"]
    names: list[str] = field(default_factory=list)
    produced_by: list[str] = field(default_factory=list)
    read_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    source: str  # the producer, or the original run
    target: str  # the consumer, or the reproduction / re-ingest
    kind: LinkKind
    keys: tuple[str, ...] = ()  # the versions the target read that the source produced


@dataclass
class CrossLineage:
    """Runs, versions and links; `graph` holds them as a networkx DiGraph (run and version nodes,
    'produced' run -> version and 'read' version -> run edges, and run -> run links)."""

    project: str | None
    runs: dict[str, RunNode]
    versions: dict[str, Version]
    links: list[Link]
    outside: dict[str, str]  # run id of another project -> why it is shown
    graph: nx.DiGraph[str] = field(default_factory=nx.DiGraph)

    def artefacts(self, kind: Literal["dataset", "model"]) -> dict[str, list[Version]]:
        """Each dataset (or model) name with its versions, oldest first by first producer or reader."""
        named: dict[str, list[Version]] = defaultdict(list)
        for version in self.versions.values():
            if version.kind == kind:
                for name in version.names:
                    named[name].append(version)
        for versions in named.values():
            versions.sort(key=lambda v: (self._first_seen(v), v.key))
        return dict(sorted(named.items()))

    def _first_seen(self, version: Version) -> datetime:
        return min(self.runs[r].started_at for r in (*version.produced_by, *version.read_by))


def cross_run_lineage(summaries: Sequence[RunSummary], project: str | None = None) -> CrossLineage:
    """The lineage across `summaries`, or around one project's runs (UsageError when it has none)."""
    ordered = sorted(summaries, key=lambda s: (s.started_at, s.run_id))
    produced, read, kinds, names = _versions(ordered)
    keep = {s.run_id for s in ordered}
    outside: dict[str, str] = {}
    if project is not None:
        keep = {s.run_id for s in ordered if s.project == project}
        if not keep:
            known = sorted({one_line(s.project, 60) for s in ordered})
            hint = f"; projects: {', '.join(known[:8])}" + (" ..." if len(known) > 8 else "") if known else ""
            raise UsageError(f"--project: no run of project {project!r} in the store{hint}")
        outside = _neighbours(ordered, keep, produced, read, project)
        keep |= set(outside)
    runs = {s.run_id: _node(s) for s in ordered if s.run_id in keep}
    versions: dict[str, Version] = {}
    for key in sorted(set(produced) | set(read)):
        by = [r for r in produced.get(key, ()) if r in runs]
        readers = [r for r in read.get(key, ()) if r in runs]
        if by or readers:
            versions[key] = Version(key, kinds.get(key, "dataset"), sorted(names[key]), by, readers)
    links = _data_links(runs, versions) + _run_links(runs)
    return CrossLineage(project, runs, versions, links, outside, _graph(runs, versions, links))


def _node(s: RunSummary) -> RunNode:
    return RunNode(
        s.run_id, s.project, s.name, s.owner, s.started_at, s.status, s.origin, s.tool, s.reproduces, s.reingests
    )


def _versions(
    ordered: Iterable[RunSummary],
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, Literal["dataset", "model"]], dict[str, set[str]]]:
    produced: dict[str, list[str]] = defaultdict(list)
    read: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, Literal["dataset", "model"]] = {}
    names: dict[str, set[str]] = defaultdict(set)
    for s in ordered:
        made: set[str] = set()
        took: set[str] = set()
        for d in s.datasets:
            name = d.path or d.uri or d.id
            if d.before and d.role in ("input", "intermediate"):
                took.add(d.before)
                names[d.before].add(name)
            if d.after and d.role in ("output", "intermediate") and (d.after != d.before or d.produced):
                made.add(d.after)
                names[d.after].add(name)
        for m in s.models:
            if m.key:
                made.add(m.key)
                kinds[m.key] = "model"
                names[m.key].add(m.path or m.id)
        for key in sorted(made):
            produced[key].append(s.run_id)
        for key in sorted(took - made):
            read[key].append(s.run_id)
    return produced, read, kinds, names


def _neighbours(
    ordered: Sequence[RunSummary],
    mine: set[str],
    produced: dict[str, list[str]],
    read: dict[str, list[str]],
    project: str,
) -> dict[str, str]:
    outside: dict[str, str] = {}
    project_of = {s.run_id: s.project for s in ordered}
    for key in set(produced) | set(read):
        makers, readers = produced.get(key, []), read.get(key, [])
        if any(r in mine for r in readers):
            for run in makers:
                if project_of[run] != project:
                    outside.setdefault(run, f"produced a version that {project} read")
        if any(r in mine for r in makers):
            for run in readers:
                if project_of[run] != project:
                    outside.setdefault(run, f"read a version that {project} produced")
    return outside


def _data_links(runs: dict[str, RunNode], versions: dict[str, Version]) -> list[Link]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    model_keys = {k for k, v in versions.items() if v.kind == "model"}
    for key, version in versions.items():
        if not version.produced_by:
            continue
        starts = [runs[r].started_at for r in version.produced_by]  # oldest first
        for reader in version.read_by:
            at = bisect.bisect_right(starts, runs[reader].started_at)
            candidates = [r for r in version.produced_by[:at] if r != reader]
            if candidates:
                found[(candidates[-1], reader)].add(key)
    links = []
    for (source, target), keys in sorted(found.items(), key=lambda kv: (runs[kv[0][1]].started_at, kv[0])):
        kind: LinkKind = "model" if keys <= model_keys else "data"
        links.append(Link(source, target, kind, tuple(sorted(keys))))
    return links


def _run_links(runs: dict[str, RunNode]) -> list[Link]:
    links = []
    for run in runs.values():
        if run.reproduces and run.reproduces in runs:
            links.append(Link(run.reproduces, run.run_id, "reproduces"))
        if run.reingests and run.reingests in runs:
            links.append(Link(run.reingests, run.run_id, "reingests"))
    return links


def _graph(runs: dict[str, RunNode], versions: dict[str, Version], links: list[Link]) -> nx.DiGraph[str]:
    graph: nx.DiGraph[str] = nx.DiGraph()
    for run in runs.values():
        graph.add_node(run.run_id, kind="run", project=run.project)
    for key, version in versions.items():
        graph.add_node(key, kind=version.kind)
        for run_id in version.produced_by:
            graph.add_edge(run_id, key, kind="produced")
        for run_id in version.read_by:
            graph.add_edge(key, run_id, kind="read")
    for link in links:
        graph.add_edge(link.source, link.target, kind=link.kind, keys=list(link.keys))
    return graph
