"""Assemble the lineage section: declared datasets with hashes, steps, models, what the
run was seen to read and write, and the graph that ties them to the run.

The graph is stored as networkx's node-link JSON (`to_networkx` turns it back into
a DiGraph). Node ids are `dataset:ID`, `model:ID`, `step:NAME`, `run:RUN_ID` and
`file:PATH` (a file read that nobody declared); every node has a `kind` and a
`label`. It is built here with the standard library and checked for cycles with
graphlib, because importing networkx costs every `auditor run` about 0.2 s; the
tests prove the JSON is exactly what networkx itself writes for the same graph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from auditor.capture.observe.classify import Declared
from auditor.capture.redact import clean_url, mask_command
from auditor.project.spec import DatasetSpec, ProjectSpec
from auditor.record.base import Missing
from auditor.record.lineage import (
    ContentHash,
    Dataset,
    Hash,
    Lineage,
    ModelArtifact,
    Observation,
    Step,
)
from auditor.record.profile import Profile


def declared(spec: ProjectSpec, root: Path, logged: Sequence[DatasetSpec] = ()) -> list[Declared]:
    """Every declared local path (datasets and models), resolved as the run's processes see it."""
    real = os.path.realpath  # never raises, even on a symlink loop (Path.resolve does)
    items = [Declared(d.id, d.role, Path(real(root / d.path))) for d in (*spec.datasets, *logged) if d.path]
    items += [Declared(m.id, "model", Path(real(root / m.path))) for m in spec.models]
    return items


def build_lineage(
    spec: ProjectSpec,
    *,
    spec_path: str | None,
    spec_sha256: str | None,
    run_id: str,
    before: Mapping[str, Hash],
    after: Mapping[str, Hash],
    observation: Observation | Missing,
    logged: Sequence[DatasetSpec] = (),
    profiles: Mapping[str, Profile] | None = None,
) -> Lineage:
    datasets = tuple(
        Dataset(
            id=d.id,
            role=d.role,
            path=d.path,
            uri=clean_url(d.uri) if d.uri else None,  # a pre-signed URL's signature, a password
            datasheet=d.datasheet,
            before=before.get(d.id),
            after=_once(before.get(d.id), after.get(d.id)),
            profile=(profiles or {}).get(d.id),
        )
        for d in (*spec.datasets, *logged)
    )
    models = tuple(ModelArtifact(id=m.id, path=m.path, after=after.get(m.id)) for m in spec.models)
    steps = tuple(
        Step(name=s.name, command=mask_command(s.command), inputs=s.inputs, outputs=s.outputs) for s in spec.steps
    )
    graph = lineage_graph(datasets, steps, models, run_id, observation)
    return Lineage(
        spec_path=spec_path,
        spec_sha256=spec_sha256,
        project=spec.project,
        datasets=datasets,
        steps=steps,
        models=models,
        observed=observation,
        graph=graph.node_link_data(),
    )


def _once(before: Hash | None, after: Hash | None) -> Hash | None:
    """An after hash whose files are the before list's names that list instead of repeating it (schema 1.7):
    an unchanged 20,000-file input is written, redacted and read back once, not twice. The files of both
    usually are the same objects (the hash cache shares them), so comparing them costs little."""
    if isinstance(before, ContentHash) and isinstance(after, ContentHash) and after.same_files_as is None:
        same = (after.kind, after.sha256, after.size) == (before.kind, before.sha256, before.size)
        if same and after.files == before.files:
            return after.model_copy(update={"same_files_as": "before", "files": before.files})
    return after


def lineage_graph(
    datasets: Sequence[Dataset],
    steps: Sequence[Step],
    models: Sequence[ModelArtifact],
    run_id: str,
    observation: Observation | Missing,
) -> NodeLinkGraph:
    graph = NodeLinkGraph(run_id=run_id)
    run = f"run:{run_id}"
    graph.add_node(run, kind="run", label=f"run {run_id}")
    for d in datasets:
        gaps = d.datasheet.missing_fields()
        graph.add_node(
            f"dataset:{d.id}",
            kind="dataset",
            label=d.id,
            role=d.role,
            path=d.path or d.uri,
            sha256=_digest(d.after if d.role != "input" else d.before),
            documented=not gaps,
            missing_fields=list(gaps),
        )
    for m in models:
        graph.add_node(f"model:{m.id}", kind="model", label=m.id, path=m.path, sha256=_digest(m.after))
    model_ids = {m.id for m in models}

    def ref(item_id: str) -> str:
        return f"model:{item_id}" if item_id in model_ids else f"dataset:{item_id}"

    for s in steps:
        node = f"step:{s.name}"
        graph.add_node(node, kind="step", label=s.name, command=s.command)
        graph.add_edge(run, node, kind="executes")
        for item in s.inputs:
            graph.add_edge(ref(item), node, kind="input")
        for item in s.outputs:
            graph.add_edge(node, ref(item), kind="output")
    if not steps:  # no pipeline declared: the run itself consumes inputs and produces the rest
        for d in datasets:
            if d.role == "input":
                graph.add_edge(f"dataset:{d.id}", run, kind="input")
            else:
                graph.add_edge(run, f"dataset:{d.id}", kind="output")
        for m in models:
            graph.add_edge(run, f"model:{m.id}", kind="output")
    if isinstance(observation, Observation):
        for access in observation.files:
            if "undeclared_read" in access.verdicts:
                node = f"file:{access.path}"
                graph.add_node(node, kind="file", label=access.path, undeclared=True)
                graph.add_edge(node, run, kind="read")
    graph.check_acyclic()
    return graph


class NodeLinkGraph:
    """The few DiGraph operations lineage needs, writing networkx's node-link JSON."""

    def __init__(self, **attrs: Any) -> None:
        self.attrs = attrs
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str], dict[str, Any]] = {}

    def add_node(self, node: str, **attrs: Any) -> None:
        self.nodes.setdefault(node, {}).update(attrs)

    def add_edge(self, source: str, target: str, **attrs: Any) -> None:
        self.nodes.setdefault(source, {})
        self.nodes.setdefault(target, {})
        self.edges.setdefault((source, target), {}).update(attrs)

    def check_acyclic(self) -> None:
        predecessors: dict[str, set[str]] = {node: set() for node in self.nodes}
        for source, target in self.edges:
            predecessors[target].add(source)
        try:
            TopologicalSorter(predecessors).prepare()
        except CycleError as exc:  # the spec loader rejects cycles, so this is a bug
            raise RuntimeError(f"lineage graph has a cycle: {exc.args[1]}") from exc

    def node_link_data(self) -> dict[str, Any]:
        return {
            "directed": True,
            "multigraph": False,
            "graph": dict(self.attrs),
            "nodes": [{**attrs, "id": node} for node, attrs in self.nodes.items()],
            "edges": [{**attrs, "source": s, "target": t} for (s, t), attrs in self.edges.items()],
        }


def to_networkx(data: Mapping[str, Any]) -> Any:
    """The stored graph as a networkx DiGraph (imported here, where it is needed)."""
    import networkx as nx

    return nx.node_link_graph(dict(data), directed=True, edges="edges")


def _digest(value: Hash | None) -> str | None:
    return value.sha256 if isinstance(value, ContentHash) else None
