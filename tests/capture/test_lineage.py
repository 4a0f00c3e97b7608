from __future__ import annotations

from datetime import UTC, datetime

import networkx as nx
import pytest

from auditor.capture.lineage import NodeLinkGraph, build_lineage, to_networkx
from auditor.project.spec import parse_spec
from auditor.record.lineage import ContentHash, FileHash, Observation, ProjectInfo

SPEC = """\
project: {name: p}
datasets:
  - {id: raw, role: input, path: raw.csv, datasheet: {description: d, source: s, owner: o, licence: l,
     personal_data: true, legal_basis: consent}}
  - {id: clean, role: intermediate, path: clean.csv}
steps:
  - {name: prep, command: python prep.py, inputs: [raw], outputs: [clean]}
  - {name: train, command: python train.py, inputs: [clean], outputs: [model]}
models:
  - {id: model, path: model.bin}
"""


def _hash(digest: str) -> ContentHash:
    return ContentHash(
        kind="file",
        sha256=digest,
        size=1,
        files=(FileHash(path="", sha256=digest, size=1),),
        hashed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_graph_is_what_networkx_writes_for_the_same_graph() -> None:
    ours, theirs = NodeLinkGraph(run_id="R"), nx.DiGraph(run_id="R")
    for graph in (ours, theirs):
        graph.add_node("a", kind="dataset", label="a")
        graph.add_edge("a", "b", kind="input")
        graph.add_node("b", kind="step")
        graph.add_node("a", documented=False)
        graph.add_edge("b", "c")
    assert ours.node_link_data() == nx.node_link_data(theirs, edges="edges")


def test_cycles_are_refused() -> None:
    graph = NodeLinkGraph()
    graph.add_edge("a", "b")
    graph.add_edge("b", "a")
    with pytest.raises(RuntimeError, match="cycle"):
        graph.check_acyclic()


def test_pipeline_lineage() -> None:
    spec = parse_spec(SPEC, "auditor.yaml")
    observation = Observation(method="audit-hook", processes=1, files=(), declared_unread=(), environment_reads={})
    lineage = build_lineage(
        spec,
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        run_id="R1",
        before={"raw": _hash("a" * 64)},
        after={"clean": _hash("b" * 64), "model": _hash("c" * 64)},
        observation=observation,
    )
    graph = to_networkx(lineage.graph)
    assert isinstance(graph, nx.DiGraph) and nx.is_directed_acyclic_graph(graph)
    assert list(
        nx.topological_sort(graph.subgraph(["dataset:raw", "step:prep", "dataset:clean", "step:train", "model:model"]))
    ) == ["dataset:raw", "step:prep", "dataset:clean", "step:train", "model:model"]
    assert graph.nodes["dataset:raw"]["sha256"] == "a" * 64 and graph.nodes["dataset:raw"]["documented"]
    assert graph.nodes["model:model"]["sha256"] == "c" * 64
    assert graph.nodes["dataset:clean"]["missing_fields"] == [
        "description",
        "source",
        "owner",
        "licence",
        "personal_data",
    ]
    assert set(graph.successors("run:R1")) == {"step:prep", "step:train"}


def test_project_info_defaults() -> None:
    assert ProjectInfo(name="x").out_of_scope_uses == ()
