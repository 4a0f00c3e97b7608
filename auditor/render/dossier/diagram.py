"""The lineage diagram of a dossier: the record's lineage graph laid out by Graphviz, as inline SVG.

Run data is untrusted, so no DOT text is written by hand: nodes get synthetic names (n0, n1, ...) in sorted
order, and labels are cleaned, truncated and passed through graphviz.nohtml with backslashes and '&' made
literal (dot reads '\\N' or '&#xD800;' in a label otherwise). dot's SVG is then rebuilt from an allow-list of
elements and attributes, so no script, link, event handler or external reference survives a label.

Readable at hundreds of nodes: files read in one folder become one node, files under the interpreter's
prefixes or site-packages one "environment" node, and the drawing stops at max_nodes with a "+N more" node,
keeping the run, steps, datasets and models first. If dot is missing or fails, a placeholder SVG (class
"lineage-unavailable") says why, so the dossier still renders. graphviz 0.21's pipe() takes no timeout: the
node cap and label truncation are what bound the layout work.

Legible in print: every SVG carries its printed size in pt (`width`/`height`), chosen so that labels (10 pt
in dot's units) print at MIN_LABEL_PT or more on the portrait page. A drawing that does not fit at that scale
is split by step (`lineage_figure`): each part draws some steps with their inputs and outputs (a dataset shared
by two parts appears in both), and a last part the files and environment the run read. Before splitting, the
whole graph is tried top to bottom, which suits the tall page. Parts stay on portrait pages, so the dossier
flows (a landscape page for one figure left the page before it half empty). A legend (drawn by dot, so it
shows the very shapes, fills and line styles used) comes first. Dataset and model nodes show the first
12 hex digits of their content hash, as the hashes appendix lists them in full.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import graphviz

from auditor.record.lineage import Datasheet, Lineage, Observation
from auditor.text import one_line

SVG_NS = "http://www.w3.org/2000/svg"
LABEL_PT = 10.0  # dot's font size for every label, in the SVG's units (pt at scale 1)
MIN_LABEL_PT = 7.0  # the smallest a label may print
MIN_SCALE = MIN_LABEL_PT / LABEL_PT
# Room for a drawing on an A4 page with 16 mm side and 20 mm top and bottom margins, less a heading and caption.
PAGE_PT = (504.0, 620.0)
LEGEND_SCALE = 0.75  # the legend is a key, not content: small, yet its labels stay above MIN_LABEL_PT
HASH_CHARS = 12
STEPS_PER_PART = 4  # a first guess that fits a page, so a large graph takes one dot run per part, not a search
FILES_PER_PART = 16
WHOLE_UP_TO = 40  # drawn nodes; a larger graph never fits a page at MIN_SCALE, so it goes straight to parts
PATH_CHARS = 36  # a path or command line under a node's name: cut in the middle, in full in the tables
_HEX64 = re.compile(r"[0-9a-f]{64}")
FONT = "Helvetica,Arial,sans-serif"
LABEL_CHARS = 48
GROUP_AT = 3  # from this many files read in one folder, the folder is drawn as one node
OUTLINE = "#4D4D4D"
# Okabe-Ito hues as light fills, so black text stays legible; the status is also written in the label.
STATUS_FILL = {
    "documented": "#CCECE3",  # bluish green
    "partly documented": "#FBE7BF",  # orange
    "undocumented": "#EDD0E0",  # reddish purple
    "undeclared read": "#F9D9C2",  # vermillion, with a vermillion dashed outline and a text marker
}
UNDECLARED = {
    "color": "#D55E00",
    "penwidth": "2.5",
    "style": "filled,dashed",
    "fillcolor": STATUS_FILL["undeclared read"],
}
KIND_STYLE: dict[str, dict[str, str]] = {
    "run": {"shape": "doubleoctagon", "fillcolor": "#E6E6E6"},
    "step": {"shape": "box", "style": "filled,rounded", "fillcolor": "#D6E8F4"},  # blue
    "dataset": {"shape": "cylinder"},
    "model": {"shape": "component", "fillcolor": "#FFFFFF"},
    "file": {"shape": "note"},
    "folder": {"shape": "folder"},
    "environment": {"shape": "box3d"},
    "more": {"shape": "box", "style": "dashed", "fillcolor": "#FFFFFF", "fontcolor": OUTLINE},
    "other": {"shape": "box", "fillcolor": "#FFFFFF"},
}
RANK = {"run": 0, "step": 1, "dataset": 2, "model": 3, "environment": 4, "folder": 5, "file": 6, "other": 7}
# (colour, style, penwidth, arrowhead); when edges merge into one, the first kind listed wins.
EDGE_STYLE = {
    "undeclared": ("#D55E00", "dashed", "2", "normal"),
    "output": ("#0072B2", "solid", "2", "normal"),  # written
    "input": (OUTLINE, "solid", "1", "normal"),  # read
    "read": (OUTLINE, "solid", "1", "normal"),
    "executes": ("#999999", "dotted", "1", "empty"),
}
_TAGS = {"svg", "g", "polygon", "polyline", "path", "ellipse", "text"}
_ATTRS = {"class", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray", "points", "d", "cx", "cy"}
_ATTRS |= {"rx", "ry", "x", "y", "text-anchor", "font-family", "font-size", "font-weight", "font-style"}


def plain_text(value: object, limit: int = LABEL_CHARS, *, middle: bool = False) -> str:
    """One label line of at most `limit` characters (see auditor.text.one_line)."""
    return one_line(value, limit, middle=middle)


@dataclass(frozen=True)
class _Node:
    rank: int
    key: str
    kind: str
    lines: tuple[str, ...]
    status: str | None
    members: int = 1


@dataclass(frozen=True)
class _LaidOut:
    root: ET.Element  # the inlined SVG, not yet sized
    width: float  # dot's size, pt
    height: float

    def scale(self) -> float:
        """The largest scale, at most 1, at which the drawing fits the page."""
        return min(1.0, PAGE_PT[0] / max(self.width, 1.0), PAGE_PT[1] / max(self.height, 1.0))


def lineage_svg(lineage: Lineage, max_nodes: int = 60) -> str:
    """The whole lineage graph as one SVG element for inline embedding, sized for print (viewBox kept)."""
    try:
        nodes, drawn_of = _drawn_nodes(lineage)
        return _sized(_lay_out(lineage, nodes, drawn_of, max_nodes, _whole_title(lineage, nodes)))
    except _Unavailable as exc:
        return placeholder_svg(str(exc))


def lineage_figure(lineage: Lineage, max_nodes: int = 60) -> str:
    """The legend, then the lineage as one SVG, or as several parts by step where one would print labels
    smaller than MIN_LABEL_PT."""
    try:
        nodes, drawn_of = _drawn_nodes(lineage)
        legend = _legend_svg()
        for rankdir in ("LR", "TB") if len(nodes) <= WHOLE_UP_TO else ():  # top to bottom suits the tall page
            whole = _lay_out(lineage, nodes, drawn_of, max_nodes, _whole_title(lineage, nodes, rankdir), rankdir)
            if whole.scale() >= MIN_SCALE:
                return legend + _sized(whole)
        return legend + "".join(_sized(part) for part in _parts(lineage, nodes, drawn_of, max_nodes))
    except _Unavailable as exc:
        return placeholder_svg(str(exc))


class _Unavailable(Exception):
    """dot is missing, failed, or wrote what could not be read: the reason, for the placeholder."""


def _pipe(dot: Any) -> ET.Element:
    try:
        svg = dot.pipe(format="svg", engine="dot", encoding="utf-8", quiet=True)
        return ET.fromstring(str(svg))  # noqa: S314 - dot's own output; labels are literal text in it
    except graphviz.ExecutableNotFound as exc:
        raise _Unavailable("Graphviz 'dot' was not found on PATH (install the graphviz system package)") from exc
    except subprocess.CalledProcessError as exc:
        raise _Unavailable(f"Graphviz 'dot' failed with exit status {exc.returncode}") from exc
    except (OSError, UnicodeDecodeError, ET.ParseError) as exc:
        raise _Unavailable(f"Graphviz output could not be read ({type(exc).__name__})") from exc


def _lay_out(
    lineage: Lineage,
    nodes: Mapping[str, _Node],
    drawn_of: Mapping[str, str],
    max_nodes: int,
    title: str,
    rankdir: str = "LR",
) -> _LaidOut:
    dot = _digraph(lineage, dict(nodes), dict(drawn_of), max_nodes)
    dot.graph_attr["rankdir"] = rankdir
    source = _pipe(dot)
    return _inline(source, len(lineage.graph.get("nodes", ())), title)


def _sized(laid: _LaidOut, *, at_most: float = 1.0) -> str:
    """The SVG with its printed size: dot's size, scaled down only as far as the page needs (or to `at_most`)."""
    scale = min(at_most, laid.scale())
    root = laid.root
    root.set("width", f"{laid.width * scale:.1f}pt")
    root.set("height", f"{laid.height * scale:.1f}pt")
    return ET.tostring(root, encoding="unicode")


def _whole_title(lineage: Lineage, nodes: Mapping[str, _Node], rankdir: str = "LR") -> str:
    counts = ((len(lineage.steps), "step"), (len(lineage.datasets), "dataset"), (len(lineage.models), "model"))
    listed = ", ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in counts)
    files = sum(n.members for n in nodes.values() if n.kind in ("file", "folder", "environment"))
    way = "left to right" if rankdir == "LR" else "top to bottom"
    other = f", and {files} other file{'s' * (files != 1)} the run read" if files else ""
    return f"Data lineage, {way}: {listed}{other}"


def _parts(lineage: Lineage, nodes: dict[str, _Node], drawn_of: dict[str, str], max_nodes: int) -> list[_LaidOut]:
    """Steps with their inputs and outputs, in as few parts as keep labels legible; then the rest."""
    ordered = sorted(nodes, key=lambda key: (nodes[key].rank, key))
    near: dict[str, set[str]] = {key: set() for key in nodes}
    for source, target in _edges(lineage, drawn_of, nodes):
        near[source].add(target)
        near[target].add(source)
    declared = {f"step:{step.name}": i for i, step in enumerate(lineage.steps)}
    steps = sorted((key for key in ordered if nodes[key].kind == "step"), key=lambda k: (declared.get(k, 1 << 30), k))
    with_steps = set(steps).union(*(near[key] for key in steps)) if steps else set()
    rest = [key for key in ordered if key not in with_steps and nodes[key].kind != "run"]

    def fit(anchors: list[str], what: str) -> list[tuple[_LaidOut, list[str], str]]:
        keys = set(anchors).union(*(near[a] for a in anchors)) - (set(steps) - set(anchors))
        sub_nodes = {key: nodes[key] for key in keys}
        sub_drawn = {rid: key for rid, key in drawn_of.items() if key in keys}
        laid = _lay_out(lineage, sub_nodes, sub_drawn, max_nodes, "")
        if laid.scale() >= MIN_SCALE or len(anchors) == 1:
            return [(laid, anchors, what)]
        half = len(anchors) // 2
        return fit(anchors[:half], what) + fit(anchors[half:], what)

    # Chunks of a size that usually fits, halved where one does not; dot runs in parallel (each is a process).
    chunks = [(steps[i : i + STEPS_PER_PART], "steps") for i in range(0, len(steps), STEPS_PER_PART)]
    chunks += [(rest[i : i + FILES_PER_PART], "files") for i in range(0, len(rest), FILES_PER_PART)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = [part for parts in pool.map(lambda chunk: fit(*chunk), chunks) for part in parts]
    for i, (laid, anchors, what) in enumerate(found, start=1):
        if what == "steps":
            names = ", ".join(nodes[key].lines[0] for key in anchors)
            about = f"steps {names}, with their inputs and outputs"
            if len(anchors) == 1:
                about = f"step {names}, with its inputs and outputs"
        else:
            about = "the files and environment the run read outside the steps"
        title = f"Data lineage, part {i} of {len(found)}: {about}"
        laid.root.find("title").text = plain_text(title, 400)  # type: ignore[union-attr]
    return [laid for laid, _, _ in found]


@cache
def _legend_svg() -> str:
    """The legend is the same for every dossier: laid out once per process."""
    return _sized(_legend(), at_most=LEGEND_SCALE)


def _legend() -> _LaidOut:
    """What the shapes, fills and lines mean, drawn by dot with the diagram's own styles."""
    dot = graphviz.Digraph(
        "legend",
        graph_attr={"rankdir": "LR", "bgcolor": "transparent", "nodesep": "0.1", "ranksep": "0.25", "margin": "0"},
        node_attr={"fontname": FONT, "fontsize": "10", "style": "filled", "color": OUTLINE, "fillcolor": "#FFFFFF"},
        edge_attr={"arrowsize": "0.7"},
    )
    # Top to bottom, one rank per row, so a row is as wide as its own nodes: kinds, fills, line styles
    # (each a short edge from a dot down to its word).
    kinds = ("run", "step", "dataset", "model", "folder", "file", "environment")
    words = {"input": "read", "output": "written", "executes": "executes", "undeclared": "undeclared read"}
    rows: list[list[tuple[str, dict[str, str]]]] = [
        [(f"k_{kind}", {"label": kind, **KIND_STYLE[kind]}) for kind in kinds],
        [
            (f"s{i}", {"label": status, "shape": "box", **(UNDECLARED if status == "undeclared read" else {})})
            for i, status in enumerate(STATUS_FILL)
        ],
        [(f"e{i}", {"label": "", "shape": "point", "width": "0.06", "fillcolor": OUTLINE}) for i in range(len(words))],
        [(f"w{i}", {"label": word, "shape": "plaintext", "style": ""}) for i, word in enumerate(words.values())],
    ]
    dot.attr(rankdir="TB")
    for _, attrs in rows[1]:
        attrs["fillcolor"] = STATUS_FILL[attrs["label"]]
    for row in rows:
        with dot.subgraph() as same:
            same.attr(rank="same")
            for name, attrs in row:
                same.node(name, **attrs)
    for upper, lower in itertools.pairwise(rows):
        dot.edge(upper[0][0], lower[0][0], style="invis")
    for i, kind in enumerate(words):
        colour, style, width, head = EDGE_STYLE[kind]
        dot.edge(f"e{i}", f"w{i}", color=colour, style=style, penwidth=width, arrowhead=head, minlen="1")
    laid = _inline(_pipe(dot), 0, "")
    laid.root.set("class", "lineage")
    laid.root.set("data-part", "legend")
    laid.root.find("title").text = (  # type: ignore[union-attr]
        "Legend of the lineage diagram: octagon the run, rounded box a step, cylinder a dataset, component a "
        "model, folder a group of files read in one folder, note a file, 3D box the environment; fills: green "
        "documented, orange partly documented, purple undocumented, vermillion with a dashed outline read "
        "without being declared; lines: grey read, blue written, dotted executes, vermillion dashed undeclared read"
    )
    laid.root.find("desc").text = "Legend"  # type: ignore[union-attr]
    return laid


def lineage_digraph(lineage: Lineage, max_nodes: int = 60) -> Any:
    """The graphviz.Digraph that lineage_svg lays out: at most max_nodes nodes, named n0, n1, ... in order."""
    nodes, drawn_of = _drawn_nodes(lineage)
    return _digraph(lineage, nodes, drawn_of, max_nodes)


def _digraph(lineage: Lineage, nodes: dict[str, _Node], drawn_of: dict[str, str], max_nodes: int) -> Any:
    if max_nodes < 2:
        raise ValueError("max_nodes must be at least 2")
    ordered = sorted(nodes.values(), key=lambda n: (n.rank, n.key))
    if len(ordered) > max_nodes:
        kept, dropped = ordered[: max_nodes - 1], ordered[max_nodes - 1 :]
        status = "undeclared read" if all(n.status == "undeclared read" for n in dropped) else None
        more = _Node(9, "more", "more", _marked(status, f"+{sum(n.members for n in dropped)} more (not drawn)"), status)
        gone = {n.key for n in dropped}
        drawn_of = {rid: more.key if key in gone else key for rid, key in drawn_of.items()}
        ordered = [*kept, more]
        nodes = {**{n.key: n for n in kept}, "more": more}
    index = {node.key: i for i, node in enumerate(ordered)}
    dot = graphviz.Digraph(
        "lineage",
        graph_attr={"rankdir": "LR", "bgcolor": "transparent", "nodesep": "0.2", "ranksep": "0.3", "margin": "0"},
        node_attr={"fontname": FONT, "fontsize": "10", "style": "filled", "color": OUTLINE, "fillcolor": "#FFFFFF"},
        edge_attr={"arrowsize": "0.7"},
    )
    for node in ordered:
        dot.node(f"n{index[node.key]}", label=_label(node.lines), **_node_style(node))
    merged = _edges(lineage, drawn_of, nodes)
    edges = sorted((index[source], index[target], kind) for (source, target), kind in merged.items())
    for source, target, kind in edges:
        colour, style, width, head = EDGE_STYLE[kind]
        dot.edge(f"n{source}", f"n{target}", color=colour, style=style, penwidth=width, arrowhead=head)
    return dot


def _drawn_nodes(lineage: Lineage) -> tuple[dict[str, _Node], dict[str, str]]:
    """Drawn nodes by key, and the drawn node each record node belongs to."""
    graph: Mapping[str, Any] = lineage.graph
    records = {str(n.get("id")): n for n in graph.get("nodes", ()) if isinstance(n, dict)}
    sheets = {f"dataset:{d.id}": d.datasheet for d in lineage.datasets}
    env = list(lineage.observed.environment_reads) if isinstance(lineage.observed, Observation) else []
    nodes: dict[str, _Node] = {}
    drawn_of: dict[str, str] = {}
    folders: dict[str, list[str]] = {}
    for rid, attrs in records.items():
        kind = str(attrs.get("kind", "other"))
        path = str(attrs.get("label", rid.partition(":")[2]))
        if kind == "file" and _in_environment(path, env):
            drawn_of[rid] = "environment"
        elif kind == "file":
            folders.setdefault(posixpath.dirname(path), []).append(rid)
        else:
            nodes[rid] = _record_node(rid, kind if kind in RANK else "other", attrs, sheets.get(rid))
            drawn_of[rid] = rid
    for folder, members in folders.items():
        if len(members) < GROUP_AT:
            for rid in members:
                nodes[rid] = _record_node(rid, "file", records[rid])
                drawn_of[rid] = rid
            continue
        key = f"folder:{folder}"
        name = plain_text((folder or ".") + "/", LABEL_CHARS - 12, middle=True)
        status = _group_status(records[r] for r in members)
        lines = _marked(status, f"{name} ({len(members)} files)")
        nodes[key] = _Node(RANK["folder"], key, "folder", lines, status, len(members))
        drawn_of.update(dict.fromkeys(members, key))
    in_env = [rid for rid, key in drawn_of.items() if key == "environment"]
    if in_env:
        status = _group_status(records[r] for r in in_env)
        lines = _marked(status, f"environment ({len(in_env)} file{'s' if len(in_env) > 1 else ''})")
        nodes["environment"] = _Node(RANK["environment"], "environment", "environment", lines, status, len(in_env))
    return nodes, drawn_of


def _in_environment(path: str, prefixes: list[str]) -> bool:
    """Under site-packages, or under a prefix the observation counted environment reads in."""
    if "/site-packages/" in path or "/dist-packages/" in path:
        return True
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes if p.startswith("/"))


def _record_node(rid: str, kind: str, attrs: Mapping[str, Any], sheet: Datasheet | None = None) -> _Node:
    label = plain_text(attrs.get("label", rid.partition(":")[2]), middle=kind == "file")
    status: str | None = None
    lines: tuple[str, ...] = (label,)
    if kind == "dataset":
        # The record's dataset, not the graph's attributes, says how documented it is (one definition).
        status = sheet.documentation() if sheet is not None else "undocumented"
        missing = sheet.missing_fields() if sheet is not None else ()
        shown = f"{status} ({len(missing)} missing)" if status == "partly documented" else status
        lines = (label, plain_text(f"{attrs.get('role', '')} · {shown}"))
    elif kind == "file" and attrs.get("undeclared") is True:
        status = "undeclared read"
        lines = _marked(status, label)
    extra = {"dataset": attrs.get("path"), "step": attrs.get("command"), "model": attrs.get("path")}.get(kind)
    if extra:
        lines = (*lines, plain_text(extra, PATH_CHARS, middle=kind != "step"))
    digest = attrs.get("sha256")
    if kind in ("dataset", "model") and isinstance(digest, str) and _HEX64.fullmatch(digest):
        lines = (*lines, f"sha256 {digest[:HASH_CHARS]}")
    return _Node(RANK[kind], rid, kind, lines, status)


def _group_status(members: Any) -> str | None:
    return "undeclared read" if any(m.get("undeclared") is True for m in members) else None


def _marked(status: str | None, line: str) -> tuple[str, ...]:
    return ("UNDECLARED READ", line) if status == "undeclared read" else (line,)


def _node_style(node: _Node) -> dict[str, str]:
    style = dict(KIND_STYLE[node.kind])
    if node.status == "undeclared read":
        style.update(UNDECLARED)
    elif node.status is not None:
        style["fillcolor"] = STATUS_FILL[node.status]
    return style


def _label(lines: tuple[str, ...]) -> str:
    """DOT label text: every '&' and backslash literal, lines joined by DOT's centred line break."""
    label: str = graphviz.nohtml("\\n".join(line.replace("&", "&amp;").replace("\\", "\\\\") for line in lines))
    return label


def _edges(lineage: Lineage, drawn_of: Mapping[str, str], nodes: Mapping[str, _Node]) -> dict[tuple[str, str], str]:
    """Record edges between drawn nodes, merged; an undeclared node's reads are drawn as undeclared."""
    priority = list(EDGE_STYLE)
    edges: dict[tuple[str, str], str] = {}
    for edge in lineage.graph.get("edges", ()):
        if not isinstance(edge, dict):
            continue
        source = drawn_of.get(str(edge.get("source")))
        target = drawn_of.get(str(edge.get("target")))
        if source is None or target is None or source == target:
            continue
        kind = str(edge.get("kind", "input"))
        source_node = nodes.get(source)
        if kind == "read" and source_node is not None and source_node.status == "undeclared read":
            kind = "undeclared"
        kind = kind if kind in EDGE_STYLE else "input"
        old = edges.get((source, target))
        edges[(source, target)] = kind if old is None else min(old, kind, key=priority.index)
    return edges


def _inline(source: ET.Element, total: int, title: str) -> _LaidOut:
    """Rebuild dot's SVG from the allow-list: no declaration, DOCTYPE, comments, titles, ids or links. The
    title (the PDF's alternate text for the figure) and description are auditor's own."""
    root = ET.Element("svg", {"xmlns": SVG_NS, "role": "img", "class": "lineage"})
    root.set("viewBox", source.get("viewBox", "0 0 0 0"))
    ET.SubElement(root, "title").text = plain_text(title or "Data lineage", 400)
    desc = ET.SubElement(root, "desc")
    for child in source:
        _copy(child, root)
    drawn = sum(1 for g in root.iter("g") if g.get("class") == "node")
    desc.text = f"Data lineage: {drawn} nodes drawn for the record's {total}."
    return _LaidOut(root, _points(source.get("width", "")), _points(source.get("height", "")))


def _points(value: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)pt", value)
    return float(found[1]) if found else 0.0


def _copy(source: ET.Element, parent: ET.Element) -> None:
    tag = source.tag.rpartition("}")[2]
    if tag not in _TAGS:
        return
    attrs = {k: v for k, v in sorted(source.attrib.items()) if k in _ATTRS and ":" not in v and "url(" not in v}
    element = ET.SubElement(parent, tag, attrs)
    element.text, element.tail = source.text, source.tail
    for child in source:
        _copy(child, element)


def placeholder_svg(reason: str) -> str:
    """A small SVG saying why the diagram is missing, so the dossier still renders."""
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": "100%", "viewBox": "0 0 640 40", "role": "img"})
    root.set("class", "lineage-unavailable")
    ET.SubElement(root, "title").text = "Data lineage diagram unavailable"
    text = ET.SubElement(root, "text", {"x": "8", "y": "24", "font-family": FONT, "font-size": "12"})
    text.text = plain_text(f"Lineage diagram not drawn: {reason}", 120)
    return ET.tostring(root, encoding="unicode")
