"""The lineage diagram: styles by kind and status, grouping and the node cap, hostile labels, determinism."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest

from auditor.capture.lineage import lineage_graph
from auditor.record.lineage import (
    Dataset,
    Datasheet,
    FileAccess,
    Lineage,
    ModelArtifact,
    Observation,
    ProjectInfo,
    Step,
)
from auditor.render.dossier.diagram import lineage_digraph, lineage_svg, plain_text

FULL = Datasheet(description="d", source="s", owner="o", licence="l", personal_data=False)
SVG_TAGS = {"svg", "title", "desc", "g", "polygon", "polyline", "path", "ellipse", "text"}
HOSTILE = (
    "<script>alert(1)</script>",
    "javascript:alert(document.cookie)",
    '"]; evil -> pwn [label="x',
    "<b>bold</b>",
    "]]><x/>",
    "nul\x00bell\x07esc\x1b[31m\nnext\ttab\u202eflipped",
    "x" * 10_000,
    "\\N \\G \\l",
    "&#xD800; &#0; &amp;",
    '<a href="javascript:alert(1)">click</a>',
    "onload=alert(1) onclick='x'",
    "url(https://evil.example/x.png)",
)


def make_lineage(
    datasets: Sequence[Dataset] = (),
    steps: Sequence[Step] = (),
    models: Sequence[ModelArtifact] = (),
    undeclared: Sequence[str] = (),
    run_id: str = "R1",
) -> Lineage:
    """A lineage as auditor records it, the graph built by auditor.capture.lineage itself."""
    files = tuple(
        FileAccess(path=p, read=True, written=False, dataset=None, verdicts=("undeclared_read",)) for p in undeclared
    )
    observed = Observation(
        method="audit-hook", processes=1, files=files, declared_unread=(), environment_reads={"/venv": 12}
    )
    graph = lineage_graph(datasets, steps, models, run_id, observed)
    return Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(name="demo"),
        datasets=tuple(datasets),
        steps=tuple(steps),
        models=tuple(models),
        observed=observed,
        graph=graph.node_link_data(),
    )


def pipeline(undeclared: Sequence[str] = ("secret.csv",)) -> Lineage:
    return make_lineage(
        datasets=(
            Dataset(id="raw", role="input", path="data/raw.csv", datasheet=FULL),
            Dataset(id="clean", role="intermediate", path="data/clean.csv", datasheet=Datasheet(description="d")),
            Dataset(id="scores", role="output", path="out/scores.csv", datasheet=Datasheet()),
        ),
        steps=(
            Step(name="prep", command="python prep.py", inputs=("raw",), outputs=("clean",)),
            Step(name="train", command="python train.py", inputs=("clean",), outputs=("scores", "model")),
        ),
        models=(ModelArtifact(id="model", path="out/model.bin"),),
        undeclared=undeclared,
    )


def dot_node_list(lineage: Lineage, max_nodes: int = 60) -> list[dict[str, str]]:
    """Each node's DOT attributes in order, read back from the source the graphviz package wrote."""
    nodes = []
    for line in lineage_digraph(lineage, max_nodes).body:
        found = re.fullmatch(r"\t(n\d+) \[(.*)\]\n", line)
        if found:
            nodes.append({k: v.strip('"') for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', found[2])})
    return nodes


def dot_nodes(lineage: Lineage) -> dict[str, dict[str, str]]:
    """First label line -> DOT attributes."""
    return {attrs["label"].split("\\n")[0]: attrs for attrs in dot_node_list(lineage)}


def parse(svg: str) -> ET.Element:
    """The SVG as an element tree, tags without their namespace."""
    root = ET.fromstring(svg)  # noqa: S314 - the SVG under test, which auditor wrote
    for element in root.iter():
        element.tag = element.tag.removeprefix("{http://www.w3.org/2000/svg}")
    return root


def svg_nodes(svg: str) -> list[ET.Element]:
    return [g for g in parse(svg).iter("g") if g.get("class") == "node"]


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter("text")]


def test_shapes_and_fills_by_kind_and_documentation_status() -> None:
    nodes = dot_nodes(pipeline())
    assert {k: (v["shape"], v.get("fillcolor")) for k, v in nodes.items()} == {
        "run R1": ("doubleoctagon", "#E6E6E6"),
        "prep": ("box", "#D6E8F4"),
        "train": ("box", "#D6E8F4"),
        "raw": ("cylinder", "#CCECE3"),
        "clean": ("cylinder", "#FBE7BF"),
        "scores": ("cylinder", "#EDD0E0"),
        "model": ("component", "#FFFFFF"),
        "UNDECLARED READ": ("note", "#F9D9C2"),
    }
    assert nodes["prep"]["style"] == "filled,rounded"
    assert nodes["raw"]["label"] == "raw\\ninput · documented\\ndata/raw.csv"
    assert nodes["clean"]["label"] == "clean\\nintermediate · partly documented (4 missing)\\ndata/clean.csv"
    assert nodes["scores"]["label"] == "scores\\noutput · undocumented\\nout/scores.csv"
    assert nodes["model"]["label"] == "model\\nout/model.bin"


def test_undeclared_reads_stand_out_in_colour_line_style_and_text() -> None:
    svg = lineage_svg(pipeline())
    (node,) = [g for g in svg_nodes(svg) if "UNDECLARED READ" in texts(g)]
    assert texts(node) == ["UNDECLARED READ", "secret.csv"]
    outline = node.find("polygon")
    assert outline is not None
    assert (outline.get("fill"), outline.get("stroke"), outline.get("stroke-width")) == ("#f9d9c2", "#d55e00", "2.5")
    assert outline.get("stroke-dasharray") == "5,2"
    edges = [g for g in parse(svg).iter("g") if g.get("class") == "edge"]
    red = [e for e in edges if any(p.get("stroke") == "#d55e00" for p in e.iter("path"))]
    assert len(red) == 1 and all(p.get("stroke-dasharray") == "5,2" for p in red[0].iter("path"))


def test_edges_are_styled_by_read_write_execute_and_undeclared() -> None:
    source = lineage_digraph(pipeline()).source
    edges = re.findall(r"\t(n\d+) -> (n\d+) \[(.*)\]", source)
    styles = {attrs for _, _, attrs in edges}
    assert styles == {
        'arrowhead=empty color="#999999" penwidth=1 style=dotted',  # the run executes a step
        'arrowhead=normal color="#4D4D4D" penwidth=1 style=solid',  # a step reads a dataset
        'arrowhead=normal color="#0072B2" penwidth=2 style=solid',  # a step writes a dataset or model
        'arrowhead=normal color="#D55E00" penwidth=2 style=dashed',  # an undeclared read
    }
    assert len(edges) == 8  # 2 executes, 2 reads, 3 writes, 1 undeclared read


def test_folders_and_the_environment_become_one_node_each() -> None:
    files = [f"data/raw/part-{i:03}.csv" for i in range(150)]
    files += [f"/venv/lib/python3.11/site-packages/pkg/data{i}.json" for i in range(20)]
    files += [f"/opt/python/lib/table{i}.bin" for i in range(25)]  # not site-packages, under no prefix
    files += ["misc/a.csv", "misc/b.csv", "notes.txt"]
    lineage = pipeline(files)
    assert len(lineage.graph["nodes"]) == 7 + 198
    labels = {tuple(texts(g)) for g in svg_nodes(lineage_svg(lineage))}
    assert ("UNDECLARED READ", "data/raw/ (150 files)") in labels
    assert ("UNDECLARED READ", "environment (20 files)") in labels
    assert ("UNDECLARED READ", "/opt/python/lib/ (25 files)") in labels
    assert {("UNDECLARED READ", "misc/a.csv"), ("UNDECLARED READ", "misc/b.csv")} <= labels  # under 3: one by one
    assert ("UNDECLARED READ", "notes.txt") in labels
    assert len(labels) == 7 + 6


def test_a_large_lineage_is_capped_keeping_datasets_steps_run_and_models() -> None:
    datasets = [Dataset(id=f"d{i:02}", role="input", path=f"d{i:02}.csv", datasheet=FULL) for i in range(40)]
    files = [f"data/raw/{i}.csv" for i in range(150)] + [f"logs/{i}/x.txt" for i in range(30)]
    files += [f"/venv/lib/python3.11/site-packages/m{i}.txt" for i in range(20)]
    lineage = make_lineage(
        datasets,
        (Step(name="train", command="python train.py", inputs=("d00",), outputs=("model",)),),
        (ModelArtifact(id="model", path="model.bin"),),
        files,
    )
    assert len(lineage.graph["nodes"]) == 243
    assert len(svg_nodes(lineage_svg(lineage, max_nodes=60))) == 60
    labels = [attrs["label"] for attrs in dot_node_list(lineage, max_nodes=60)]
    assert labels[:3] == ["run R1", "train\\npython train.py", "d00\\ninput · documented\\nd00.csv"]
    assert labels[41:45] == [
        "d39\\ninput · documented\\nd39.csv",
        "model\\nmodel.bin",
        "UNDECLARED READ\\nenvironment (20 files)",
        "UNDECLARED READ\\ndata/raw/ (150 files)",
    ]
    singles = [f"UNDECLARED READ\\nlogs/{i}/x.txt" for i in (0, 1, *range(10, 20), 2, 20)]  # sorted as text
    assert labels[45:] == [*singles, "UNDECLARED READ\\n+16 more (not drawn)"]  # the other 16 files in logs/


def test_hostile_labels_stay_inert_escaped_text() -> None:
    lineage = make_lineage(
        datasets=[Dataset(id=h, role="input", path=h, datasheet=Datasheet()) for h in HOSTILE],
        steps=[Step(name=h, command=h, inputs=(h,), outputs=()) for h in HOSTILE],
        models=(ModelArtifact(id="<b>m</b>", path="javascript:alert(2)"),),
        undeclared=[f"{h}.csv" for h in HOSTILE],
        run_id='<script>run</script>"]',
    )
    svg = lineage_svg(lineage)
    root = parse(svg)
    assert {e.tag for e in root.iter()} <= SVG_TAGS
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name and not name.startswith("on")
            assert not re.search(r"javascript|url\(|<|\"", value), (name, value)
    for raw in ("<script", "<a ", "<b>", "]]><x/>", "\x00", "\x1b", "\u202e"):
        assert raw not in svg
    for element in root.iter():  # outside text, nothing of the labels is left
        element.text = element.tail = None
    assert not re.search("javascript|href|script|evil|onload", ET.tostring(root, encoding="unicode"))
    shown = {t for g in svg_nodes(svg) for t in texts(g)}
    assert {"<script>alert(1)</script>", '"]; evil -> pwn [label="x', "<b>bold</b>", "]]><x/>"} <= shown
    assert {"\\N \\G \\l", "&#xD800; &#0; &amp;", '<a href="javascript:alert(1)">click</a>'} <= shown
    assert {"nulbellesc[31m next tabflipped", "x" * 47 + "…", 'run <script>run</script>"]'} <= shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert len(svg_nodes(svg)) == 1 + 2 * len(HOSTILE) + 1 + 1 + 5  # no node injected
    assert "./ (7 files)" in shown  # the 7 reads without a '/' in their path


def test_rendering_is_deterministic_and_independent_of_record_order() -> None:
    lineage = pipeline([f"data/raw/{i}.csv" for i in range(10)] + ["b.csv", "a.csv"])
    reordered = dict(lineage.graph)
    reordered["nodes"] = list(reversed(lineage.graph["nodes"]))
    reordered["edges"] = list(reversed(lineage.graph["edges"]))
    first = lineage_svg(lineage)
    assert lineage_svg(lineage) == first
    assert lineage_svg(lineage.model_copy(update={"graph": reordered})) == first
    assert not re.search(r'\sid="|<!--|<\?xml|DOCTYPE|<title>n\d', first)
    root = parse(first)
    assert (root.get("width"), root.get("viewBox", "")[:9]) == ("100%", "0.00 0.00")


def test_without_dot_the_dossier_gets_a_placeholder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    svg = lineage_svg(pipeline())
    root = parse(svg)
    assert root.get("class") == "lineage-unavailable"
    assert texts(root) == [
        "Lineage diagram not drawn: Graphviz 'dot' was not found on PATH (install the graphviz system package)"
    ]
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert texts(parse(lineage_svg(pipeline()))) == [
        "Lineage diagram not drawn: Graphviz 'dot' failed with exit status 3"
    ]


def test_plain_text_cleans_and_truncates() -> None:
    assert plain_text("a\x00b\r\nc\u200bd\u202e e") == "ab cd e"
    assert plain_text("y" * 100) == "y" * 47 + "…"
    path = "data/" + "deep/" * 20 + "file.csv"
    assert plain_text(path, middle=True) == "data/deep/deep/…eep/deep/deep/deep/deep/file.csv"
    assert len(plain_text("z" * 10_000_000, middle=True)) == 48


def test_max_nodes_leaves_room_for_the_more_node() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        lineage_svg(pipeline(), max_nodes=1)
