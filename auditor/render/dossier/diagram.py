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
"""

from __future__ import annotations

import posixpath
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import graphviz

from auditor.record.lineage import Datasheet, Lineage, Observation
from auditor.text import one_line

SVG_NS = "http://www.w3.org/2000/svg"
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


def lineage_svg(lineage: Lineage, max_nodes: int = 60) -> str:
    """The lineage graph as an SVG element for inline embedding (width 100%, viewBox kept)."""
    dot = lineage_digraph(lineage, max_nodes)
    try:
        svg = dot.pipe(format="svg", engine="dot", encoding="utf-8", quiet=True)
        return _inline(str(svg), len(lineage.graph.get("nodes", ())))
    except graphviz.ExecutableNotFound:
        return placeholder_svg("Graphviz 'dot' was not found on PATH (install the graphviz system package)")
    except subprocess.CalledProcessError as exc:
        return placeholder_svg(f"Graphviz 'dot' failed with exit status {exc.returncode}")
    except (OSError, UnicodeDecodeError, ET.ParseError) as exc:
        return placeholder_svg(f"Graphviz output could not be read ({type(exc).__name__})")


def lineage_digraph(lineage: Lineage, max_nodes: int = 60) -> Any:
    """The graphviz.Digraph that lineage_svg lays out: at most max_nodes nodes, named n0, n1, ... in order."""
    if max_nodes < 2:
        raise ValueError("max_nodes must be at least 2")
    nodes, drawn_of = _drawn_nodes(lineage)
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
        graph_attr={"rankdir": "LR", "bgcolor": "transparent", "nodesep": "0.2", "ranksep": "0.45", "margin": "0"},
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
        lines = (*lines, plain_text(extra, middle=kind != "step"))
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


def _inline(svg: str, total: int) -> str:
    """Rebuild dot's SVG from the allow-list: no declaration, DOCTYPE, comments, titles, ids or links."""
    source = ET.fromstring(svg)  # noqa: S314 - dot's own output; labels are literal text in it
    root = ET.Element("svg", {"xmlns": SVG_NS, "width": "100%", "role": "img", "class": "lineage"})
    root.set("viewBox", source.get("viewBox", "0 0 0 0"))
    width = source.get("width", "")
    if re.fullmatch(r"\d+(\.\d+)?pt", width):
        root.set("style", f"max-width: {width}; height: auto")
    ET.SubElement(root, "title").text = "Data lineage"
    desc = ET.SubElement(root, "desc")
    for child in source:
        _copy(child, root)
    drawn = sum(1 for g in root.iter("g") if g.get("class") == "node")
    desc.text = f"Data lineage, left to right: {drawn} nodes drawn for the record's {total}."
    return ET.tostring(root, encoding="unicode")


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
