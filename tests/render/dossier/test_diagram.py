"""The lineage diagram: styles by kind and status, grouping and the node cap, hostile labels, determinism, and the
drawing as dot laid it out (nodes, edges, boxes), checked in ways that hold whatever fonts are installed."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    assert root.get("width", "").endswith("pt") and root.get("viewBox", "")[:9] == "0.00 0.00"


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


# --- the drawing as laid out: read back from the SVG, with checks that hold whatever fonts dot measured with ---

Box = tuple[float, float, float, float]  # left, top, right, bottom, in the viewBox's coordinates
Point = tuple[float, float]
NEAR = 1.5  # how far from a node's outline an edge may start or end, in points
EM_FLOOR = 0.35  # a text's width is at least this many em a character in any proportional font


@dataclass(frozen=True)
class DrawnNode:
    lines: tuple[str, ...]
    box: Box
    group: ET.Element


@dataclass(frozen=True)
class DrawnEdge:
    source: str  # the first label line of the node the edge leaves
    target: str  # ... and of the node its arrowhead touches
    stroke: str | None
    dashes: str | None
    arrow_fill: str | None


@dataclass(frozen=True)
class Drawing:
    view: Box
    nodes: list[DrawnNode]
    edges: list[DrawnEdge]
    text_boxes: list[tuple[str, Box, DrawnNode]]


def drawing(svg: str) -> Drawing:
    """Nodes and edges as dot placed them. The SVG has no ids or titles (the allow-list drops them), so an edge's
    ends are the nodes its path starts at and its arrowhead's tip touches."""
    root = parse(svg)
    left, top, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    (graph,) = [g for g in root if g.get("class") == "graph"]
    place = _placement(graph.get("transform", ""))
    nodes = []
    for g in (g for g in graph if g.get("class") == "node"):
        points = [place(p) for shape in g if shape.tag != "text" for p in _outline(shape)]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        nodes.append(DrawnNode(tuple(texts(g)), (min(xs), min(ys), max(xs), max(ys)), g))
    text_boxes = []
    for node in nodes:
        for text in node.group.iter("text"):
            assert text.get("text-anchor") == "middle"
            x, y = place((float(text.get("x", "")), float(text.get("y", ""))))
            size, line = float(text.get("font-size", "")), text.text or ""
            half = EM_FLOOR * size * len(line) / 2
            text_boxes.append((line, (x - half, y - size, x + half, y + size / 4), node))
    edges = []
    for g in (g for g in graph if g.get("class") == "edge"):
        (path,), (arrow,) = g.findall("path"), g.findall("polygon")
        spline = [place(p) for p in _pairs(path.get("d", ""))]
        tip = max((place(p) for p in _pairs(arrow.get("points", ""))), key=lambda p: _distance(p, spline[-1]))
        source, target = _touched(nodes, spline[0]), _touched(nodes, tip)
        edges.append(DrawnEdge(source, target, path.get("stroke"), path.get("stroke-dasharray"), arrow.get("fill")))
    return Drawing((left, top, left + width, top + height), nodes, edges, text_boxes)


def _placement(transform: str) -> Callable[[Point], Point]:
    """dot's graph transform, 'scale(sx sy) rotate(0) translate(tx ty)', as a function of a point."""
    found = re.fullmatch(r"scale\((\S+) (\S+)\) rotate\(0\) translate\((\S+) (\S+)\)", transform)
    assert found, transform
    sx, sy, tx, ty = (float(v) for v in found.groups())
    return lambda p: (sx * (p[0] + tx), sy * (p[1] + ty))


def _pairs(text: str) -> list[Point]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", text)]


def _outline(shape: ET.Element) -> list[Point]:
    """Points on a node's outline: a polygon's corners, a path's ends of curves (dot writes 'M p C c c p c c p
    ...', so every third point after the first is on the curve, the others are control points)."""
    if shape.tag == "path":
        d = shape.get("d", "")
        assert re.fullmatch(r"M[-\d.,]+C[-\d., ]+", d), d
        return _pairs(d)[::3]
    if shape.tag == "ellipse":
        cx, cy, rx, ry = (float(shape.get(k, "")) for k in ("cx", "cy", "rx", "ry"))
        return [(cx - rx, cy - ry), (cx + rx, cy + ry)]
    return _pairs(shape.get("points", ""))


def _distance(p: Point, q: Point) -> float:
    return float(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5)


def _gap(p: Point, box: Box) -> float:
    """How far p lies outside box (0 inside)."""
    dx, dy = max(box[0] - p[0], 0, p[0] - box[2]), max(box[1] - p[1], 0, p[1] - box[3])
    return float((dx**2 + dy**2) ** 0.5)


def _touched(nodes: list[DrawnNode], point: Point) -> str:
    near = [node for node in nodes if _gap(point, node.box) <= NEAR]
    assert len(near) == 1, (point, [n.lines for n in near])
    return near[0].lines[1] if near[0].lines[0] == "UNDECLARED READ" else near[0].lines[0]


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _signature(node: DrawnNode) -> tuple[tuple[str, int], ...]:
    """The shape as dot drew it: each outline element and its number of points, which the shape fixes."""
    return tuple((s.tag, len(_pairs(s.get("points") or s.get("d") or ""))) for s in node.group if s.tag != "text")


def _outline_style(node: DrawnNode) -> tuple[str | None, str | None, str | None]:
    shape = next(s for s in node.group if s.tag != "text")
    return shape.get("fill"), shape.get("stroke"), shape.get("stroke-dasharray")


def grouped() -> Lineage:
    files = [f"data/raw/part-{i:03}.csv" for i in range(5)] + ["notes.txt"]
    return pipeline([*files, *(f"/venv/lib/python3.11/site-packages/pkg/data{i}.json" for i in range(2))])


def test_every_node_of_the_lineage_is_drawn_with_its_label_shape_and_fill() -> None:
    lineage = pipeline()
    drawn = drawing(lineage_svg(lineage))
    octagon, rounded, cylinder = (("polygon", 9), ("polygon", 9)), (("path", 25),), (("path", 19), ("path", 7))
    note, component = (("polygon", 6), ("polyline", 2), ("polyline", 2)), (("polygon", 13), *[("polyline", 4)] * 2)
    plain = ("#4d4d4d", None)
    assert {n.lines: (_signature(n), _outline_style(n)) for n in drawn.nodes} == {
        ("run R1",): (octagon, ("#e6e6e6", *plain)),
        ("prep", "python prep.py"): (rounded, ("#d6e8f4", *plain)),
        ("train", "python train.py"): (rounded, ("#d6e8f4", *plain)),
        ("raw", "input · documented", "data/raw.csv"): (cylinder, ("#ccece3", *plain)),
        ("clean", "intermediate · partly documented (4 missing)", "data/clean.csv"): (cylinder, ("#fbe7bf", *plain)),
        ("scores", "output · undocumented", "out/scores.csv"): (cylinder, ("#edd0e0", *plain)),
        ("model", "out/model.bin"): (component, ("#ffffff", *plain)),
        ("UNDECLARED READ", "secret.csv"): (note, ("#f9d9c2", "#d55e00", "5,2")),
    }
    labels = {line for node in drawn.nodes for line in node.lines}
    assert {str(n["label"]) for n in lineage.graph["nodes"]} <= labels  # every record node, by its own label
    folders = {n.lines[1]: _signature(n) for n in drawing(lineage_svg(grouped())).nodes if len(n.lines) == 2}
    assert folders["data/raw/ (5 files)"] == (("polygon", 8),)  # a folder
    assert folders["environment (2 files)"] == (("polygon", 7), *[("polyline", 2)] * 3)  # a box3d
    assert folders["notes.txt"] == note


def test_edges_join_the_right_nodes_in_the_drawing() -> None:
    read, written = ("#4d4d4d", None, "#4d4d4d"), ("#0072b2", None, "#0072b2")
    executes, undeclared = ("#999999", "1,5", "none"), ("#d55e00", "5,2", "#d55e00")
    expected = {
        ("run R1", "prep", *executes),
        ("run R1", "train", *executes),
        ("raw", "prep", *read),
        ("prep", "clean", *written),
        ("clean", "train", *read),
        ("train", "scores", *written),
        ("train", "model", *written),
        ("secret.csv", "run R1", *undeclared),
    }
    edges = drawing(lineage_svg(pipeline())).edges
    assert len(edges) == len(expected)
    assert {(e.source, e.target, e.stroke, e.dashes, e.arrow_fill) for e in edges} == expected
    group_edges = {(e.source, e.target, e.stroke, e.dashes) for e in drawing(lineage_svg(grouped())).edges}
    reads = {(s, "run R1", *undeclared[:2]) for s in ("data/raw/ (5 files)", "environment (2 files)", "notes.txt")}
    assert reads <= group_edges


def test_above_the_limit_the_rest_is_one_more_node_joined_where_its_members_were() -> None:
    svg = lineage_svg(grouped(), max_nodes=5)
    assert "<desc>Data lineage: 5 nodes drawn for the record's 15.</desc>" in svg
    drawn = drawing(svg)
    assert [n.lines for n in drawn.nodes][-1] == ("+11 more (not drawn)",)  # raw, scores, model, 8 files
    more = drawn.nodes[-1]
    assert _outline_style(more) == ("none", "#4d4d4d", "5,2") and _signature(more) == (("polygon", 5),)
    assert {t.get("fill") for t in more.group.iter("text")} == {"#4d4d4d"}
    joined = {(e.source, e.target) for e in drawn.edges if "+11 more (not drawn)" in (e.source, e.target)}
    assert joined == {  # raw -> prep, train -> scores and model, the files -> the run
        ("+11 more (not drawn)", "prep"),
        ("train", "+11 more (not drawn)"),
        ("+11 more (not drawn)", "run R1"),
    }
    only_reads = drawing(lineage_svg(grouped(), max_nodes=9))  # all dropped are undeclared reads
    more = only_reads.nodes[-1]
    assert more.lines == ("UNDECLARED READ", "+6 more (not drawn)")  # the folder's 5 files and notes.txt
    assert _outline_style(more) == ("#f9d9c2", "#d55e00", "5,2")
    (edge,) = [e for e in only_reads.edges if e.source == "+6 more (not drawn)"]
    assert (edge.target, edge.stroke, edge.dashes) == ("run R1", "#d55e00", "5,2")


def _capped() -> Lineage:
    datasets = [Dataset(id=f"d{i:02}", role="input", path=f"d{i:02}.csv", datasheet=FULL) for i in range(40)]
    steps = (Step(name="train", command="python train.py", inputs=("d00", "d07"), outputs=("model",)),)
    files = [f"data/raw/{i}.csv" for i in range(150)] + [f"logs/{i}/x.txt" for i in range(30)]
    return make_lineage(datasets, steps, (ModelArtifact(id="model", path="model.bin"),), files)


@pytest.mark.parametrize("lineage", [pipeline, grouped, _capped], ids=["pipeline", "grouped", "capped"])
def test_the_layout_is_sane_whatever_the_fonts(lineage: Callable[[], Lineage]) -> None:
    drawn = drawing(lineage_svg(lineage(), max_nodes=60))
    assert drawn.view[:2] == (0.0, 0.0) and drawn.view[2] > 0 and drawn.view[3] > 0
    for line, box, node in drawn.text_boxes:  # the text at its narrowest still fits its node and the page
        assert _inside(box, node.box) and _inside(box, drawn.view), (line, box, node.box, drawn.view)
    for node in drawn.nodes:
        assert _inside(node.box, drawn.view), (node.lines, node.box, drawn.view)
    for i, a in enumerate(drawn.nodes):
        for b in drawn.nodes[i + 1 :]:
            assert not _overlap(a.box, b.box), (a.lines, a.box, b.lines, b.box)
    boxes = {n.lines[1] if n.lines[0] == "UNDECLARED READ" else n.lines[0]: n.box for n in drawn.nodes}
    assert drawn.edges
    for edge in drawn.edges:  # left to right: a producer ends before its consumer begins
        assert boxes[edge.source][2] < boxes[edge.target][0], (edge, boxes[edge.source], boxes[edge.target])
