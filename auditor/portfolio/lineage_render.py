"""Cross-run lineage as text, JSON, DOT, SVG and a self-contained HTML page (pure: each returns text).

Run data is untrusted. Text goes through auditor.text.one_line (no control characters, bounded); DOT
is built by the graphviz package with synthetic node names (r0, v0, ...) and labels passed through
graphviz.nohtml with '&' and backslashes made literal, so a name can neither close a quote nor become an
HTML-like label; dot's SVG is rebuilt from an allow-list of elements and attributes (no script, link,
event handler or external reference survives); the HTML page is Jinja2 with autoescape and a strict
Content-Security-Policy, the SVG inline, no request of any kind.

The drawing is bounded so a large store neither hangs dot nor draws an unreadable graph: at most
MAX_RUNS runs (those in links first, newest first) and MAX_VERSIONS versions of each dataset or model
(newest first); the drawing's caption says what was left out. dot runs with a timeout. Text and JSON
hold everything; lists of readers in the text are cut after LISTED with a count.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import graphviz

from auditor.errors import EXIT_USAGE, AuditorError
from auditor.portfolio.lineage import CrossLineage, Link, RunNode, Version
from auditor.render.times import iso
from auditor.text import one_line

JSON_VERSION = 1
LINEAGE_FORMATS = ("text", "json", "dot", "svg", "html")
MAX_RUNS = 120
MAX_VERSIONS = 5
LISTED = 10
DOT_TIMEOUT_S = 60
FONT = "Helvetica,Arial,sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"
_TAGS = {"svg", "g", "polygon", "polyline", "path", "ellipse", "text"}
_ATTRS = {"class", "transform", "fill", "stroke", "stroke-width", "stroke-dasharray", "points", "d", "cx", "cy"}
_ATTRS |= {"rx", "ry", "x", "y", "text-anchor", "font-family", "font-size", "font-weight", "font-style"}
LINK_WORDS = {
    "data": "read data produced by",
    "model": "read a model produced by",
    "reproduces": "is a reproduction (a re-execution) of",
    "reingests": "is a re-ingest (the same source run, ingested again) of",
}


class DrawingError(AuditorError):
    """Graphviz's dot is missing, failed or timed out: the lineage could not be drawn."""

    exit_code = EXIT_USAGE


def short(key: str) -> str:
    kind, _, value = key.partition(":")
    return one_line(f"{kind}:{value[:12]}", 40)


def _when(run: RunNode) -> str:
    return iso(run.started_at.astimezone(UTC))


def _run_words(lineage: CrossLineage, run_id: str) -> str:
    run = lineage.runs[run_id]
    return f"{run_id} ({one_line(run.project, 60)}, {_when(run)})"


def _runs_listed(lineage: CrossLineage, run_ids: list[str]) -> str:
    words = ", ".join(run_ids[:LISTED])
    return words + (f" and {len(run_ids) - LISTED} more" if len(run_ids) > LISTED else "")


def heading(lineage: CrossLineage) -> str:
    projects = {r.project for r in lineage.runs.values()}
    datasets = sum(1 for v in lineage.versions.values() if v.kind == "dataset")
    models = len(lineage.versions) - datasets
    counts = (
        f"{_n(len(lineage.runs), 'run')} in {_n(len(projects), 'project')}, {_n(datasets, 'dataset version')}, "
        f"{_n(models, 'model version')}, {_n(len(lineage.links), 'link')} between runs"
    )
    if lineage.project is None:
        return f"Cross-run lineage of the whole store: {counts}."
    name = one_line(lineage.project, 80)
    extra = ""
    if lineage.outside:
        extra = (
            f" It includes {_n(len(lineage.outside), 'run')} of other projects that produced what {name} read"
            f" or read what {name} produced."
        )
    return f"Cross-run lineage of project {name}: {counts}.{extra}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _version_line(lineage: CrossLineage, version: Version) -> str:
    if version.produced_by:
        made = "produced by run " + "; and by run ".join(_run_words(lineage, r) for r in version.produced_by[:LISTED])
        if len(version.produced_by) > LISTED:
            made += f" and {len(version.produced_by) - LISTED} more"
    else:
        made = _no_producer(lineage)
    read = f"read by runs {_runs_listed(lineage, version.read_by)}" if version.read_by else "read by no run"
    return f"    {short(version.key)}  {made}; {read}"


def _no_producer(lineage: CrossLineage) -> str:
    if lineage.project is None:
        return "produced by no run in the store (it came from outside)"
    return "produced by no run shown here"


def link_words(lineage: CrossLineage, link: Link) -> str:
    what = LINK_WORDS[link.kind]
    keys = ""
    if link.keys:
        named = [f"{one_line(lineage.versions[k].names[0], 60, middle=True)} {short(k)}" for k in link.keys[:LISTED]]
        keys = ": " + ", ".join(named) + (f" and {len(link.keys) - LISTED} more" if len(link.keys) > LISTED else "")
    return f"{_run_words(lineage, link.target)} {what} {_run_words(lineage, link.source)}{keys}"


def render_text(lineage: CrossLineage) -> str:
    lines = [heading(lineage), ""]
    for kind, title in (("dataset", "Datasets"), ("model", "Models")):
        artefacts = lineage.artefacts(kind)  # type: ignore[arg-type]
        lines.append(f"{title}: {len(artefacts) or 'none'}")
        for name, versions in artefacts.items():
            lines.append(f"  {one_line(name, 100, middle=True)}: {_n(len(versions), 'version')}")
            lines.extend(_version_line(lineage, v) for v in versions)
        lines.append("")
    lines.append(f"Links between runs: {len(lineage.links) or 'none'}")
    lines.extend(f"  {link_words(lineage, link)}" for link in lineage.links)
    if lineage.outside:
        lines += ["", "Runs of other projects shown:"]
        lines.extend(f"  {_run_words(lineage, r)}: {one_line(why, 200)}" for r, why in sorted(lineage.outside.items()))
    return "\n".join(lines) + "\n"


def to_data(lineage: CrossLineage) -> dict[str, Any]:
    """The JSON document (lineage_version 1): runs, versions (key, kind, names, produced_by, read_by: run
    ids oldest first) and links (source -> target, kind data | model | reproduces | reingests, keys)."""
    return {
        "lineage_version": JSON_VERSION,
        "project": lineage.project,
        "runs": [
            {
                "run_id": r.run_id,
                "project": r.project,
                "name": r.name,
                "owner": r.owner,
                "started_at": r.started_at.isoformat(),
                "status": r.status,
                "origin": r.origin,
                "tool": r.tool,
                "reproduces": r.reproduces,
                "reingests": r.reingests,
                "outside_project": lineage.outside.get(r.run_id),
            }
            for r in lineage.runs.values()
        ],
        "versions": [
            {"key": v.key, "kind": v.kind, "names": v.names, "produced_by": v.produced_by, "read_by": v.read_by}
            for v in lineage.versions.values()
        ],
        "links": [
            {"source": x.source, "target": x.target, "kind": x.kind, "keys": list(x.keys)} for x in lineage.links
        ],
    }


def render_json(lineage: CrossLineage) -> str:
    return json.dumps(to_data(lineage), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Drawing:
    dot: Any  # graphviz.Digraph
    left_out: str | None  # what the drawing leaves out, in words; None when everything is drawn


def _label(*lines: str) -> str:
    label: str = graphviz.nohtml("\\n".join(line.replace("&", "&amp;").replace("\\", "\\\\") for line in lines))
    return label


def drawing(lineage: CrossLineage, max_runs: int = MAX_RUNS, max_versions: int = MAX_VERSIONS) -> Drawing:
    linked = {r for link in lineage.links for r in (link.source, link.target)}
    by_recency = sorted(lineage.runs.values(), key=lambda r: (r.run_id not in linked, -r.started_at.timestamp()))
    runs = {r.run_id for r in by_recency[:max_runs]}
    drawn_versions: list[Version] = []
    hidden_versions = 0
    seen: set[str] = set()
    for kind in ("dataset", "model"):
        for versions in lineage.artefacts(kind).values():
            touching = [v for v in versions if v.key not in seen and runs & {*v.produced_by, *v.read_by}]
            kept = touching[-max_versions:]
            hidden_versions += len(touching) - len(kept)
            drawn_versions.extend(kept)
            seen.update(v.key for v in touching)
    dot = graphviz.Digraph("lineage", engine="dot")
    dot.attr("graph", rankdir="LR", fontname=FONT, fontsize="10")
    dot.attr("node", fontname=FONT, fontsize="10")
    dot.attr("edge", fontname=FONT, fontsize="9")
    names: dict[str, str] = {}
    for i, run in enumerate(r for r in sorted(lineage.runs.values(), key=lambda r: r.started_at) if r.run_id in runs):
        names[run.run_id] = f"r{i}"
        outside = run.run_id in lineage.outside
        dot.node(
            f"r{i}",
            _label(f"run {run.run_id}", one_line(run.project, 40), _when(run)),
            shape="box",
            style="filled,dashed" if outside else "filled",
            fillcolor="#F0E442" if outside else "#CCE5F6",
        )
    for i, version in enumerate(drawn_versions):
        names[version.key] = f"v{i}"
        more = f" (+{len(version.names) - 1} names)" if len(version.names) > 1 else ""
        shape = "box3d" if version.kind == "model" else "cylinder"
        name = one_line(version.names[0], 40, middle=True) + more
        dot.node(f"v{i}", _label(name, short(version.key)), shape=shape, style="filled", fillcolor="#FFFFFF")
        for run_id in version.produced_by:
            if run_id in names:
                dot.edge(names[run_id], f"v{i}", label="produced")
        for run_id in version.read_by:
            if run_id in names:
                dot.edge(f"v{i}", names[run_id], label="read")
    for link in lineage.links:
        if link.kind in ("reproduces", "reingests") and link.source in names and link.target in names:
            words = "reproduced by" if link.kind == "reproduces" else "re-ingested by"
            dot.edge(names[link.source], names[link.target], label=words, style="dashed", color="#D55E00")
    hidden_runs = len(lineage.runs) - len(runs)
    left_out = None
    if hidden_runs or hidden_versions:
        left_out = (
            f"Not drawn: {_n(hidden_runs, 'run')} (the drawing keeps {max_runs}, linked and newest first) and "
            f"{_n(hidden_versions, 'older version')} (at most {max_versions} per dataset or model); "
            "the text and JSON formats list everything."
        )
        dot.attr("graph", label=_label(left_out), labelloc="b")
    return Drawing(dot, left_out)


def render_dot(lineage: CrossLineage, max_runs: int = MAX_RUNS, max_versions: int = MAX_VERSIONS) -> str:
    source: str = drawing(lineage, max_runs, max_versions).dot.source
    return source


def render_svg(lineage: CrossLineage, max_runs: int = MAX_RUNS, max_versions: int = MAX_VERSIONS) -> str:
    return _svg(drawing(lineage, max_runs, max_versions), heading(lineage))


def _svg(drawn: Drawing, title: str) -> str:
    try:
        done = subprocess.run(
            ["dot", "-Tsvg"], input=drawn.dot.source.encode(), capture_output=True, timeout=DOT_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise DrawingError("Graphviz 'dot' was not found on PATH (install the graphviz system package)") from exc
    except subprocess.TimeoutExpired as exc:
        raise DrawingError(f"Graphviz 'dot' did not finish within {DOT_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        problem = one_line(done.stderr.decode(errors="replace"), 200)
        raise DrawingError(f"Graphviz 'dot' failed with exit status {done.returncode}: {problem}")
    try:
        source = ET.fromstring(done.stdout.decode())  # noqa: S314 - dot's own output; labels are literal text in it
    except (UnicodeDecodeError, ET.ParseError) as exc:
        raise DrawingError(f"Graphviz output could not be read ({type(exc).__name__})") from exc
    root = ET.Element("svg", {"xmlns": SVG_NS, "role": "img", "class": "cross-lineage"})
    for attr in ("viewBox", "width", "height"):
        if source.get(attr):
            root.set(attr, str(source.get(attr)))
    ET.SubElement(root, "title").text = one_line(title, 400)
    if drawn.left_out:
        ET.SubElement(root, "desc").text = drawn.left_out
    for child in source:
        _copy(child, root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _copy(source: ET.Element, parent: ET.Element) -> None:
    tag = source.tag.rpartition("}")[2]
    if tag not in _TAGS:
        return
    attrs = {k: v for k, v in sorted(source.attrib.items()) if k in _ATTRS and ":" not in v and "url(" not in v}
    element = ET.SubElement(parent, tag, attrs)
    element.text, element.tail = source.text, source.tail
    for child in source:
        _copy(child, element)


CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5rem; color: #1a1a1a; max-width: 110rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.figure { overflow: auto; border: 1px solid #ccc; padding: .5rem; }
.figure svg { height: auto; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ccc; padding: .25rem .5rem;
  text-align: left; vertical-align: top; font-size: .9rem; } code { font-size: .85rem; overflow-wrap: anywhere; }
.note { color: #444; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
{% if left_out %}<p class="note">{{ left_out }}</p>{% endif %}
<div class="figure">{{ svg }}</div>
{% for section in sections %}
<h2>{{ section.title }}</h2>
{% if not section.rows %}<p>None.</p>{% else %}
<table><thead><tr><th>Name</th><th>Version</th><th>Produced by</th><th>Read by</th></tr></thead><tbody>
{% for row in section.rows %}<tr><td><code>{{ row.name }}</code></td><td><code>{{ row.key }}</code></td>
<td>{{ row.made }}</td><td>{{ row.read }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% endfor %}
<h2>Links between runs</h2>
{% if not links %}<p>None.</p>{% else %}<ul>{% for link in links %}<li>{{ link }}</li>{% endfor %}</ul>{% endif %}
{% if outside %}<h2>Runs of other projects shown</h2>
<ul>{% for line in outside %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
</body>
</html>
"""


def render_html(lineage: CrossLineage, max_runs: int = MAX_RUNS, max_versions: int = MAX_VERSIONS) -> str:
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    drawn = drawing(lineage, max_runs, max_versions)
    sections = []
    for kind, title in (("dataset", "Datasets"), ("model", "Models")):
        rows = [
            {
                "name": one_line(name, 120, middle=True),
                "key": short(v.key),
                "made": "; ".join(_run_words(lineage, r) for r in v.produced_by[:LISTED]) or _no_producer(lineage),
                "read": _runs_listed(lineage, v.read_by) or "no run",
            }
            for name, versions in lineage.artefacts(kind).items()  # type: ignore[arg-type]
            for v in versions
        ]
        sections.append({"title": title, "rows": rows})
    env = Environment(autoescape=True, undefined=StrictUndefined)
    title = "Cross-run lineage" + (f" of project {one_line(lineage.project, 80)}" if lineage.project else "")
    return env.from_string(_PAGE).render(
        csp=Markup(CSP),  # noqa: S704 - auditor's own constant, no quote in it
        title=title,
        summary=heading(lineage),
        left_out=drawn.left_out,
        svg=Markup(_svg(drawn, heading(lineage))),  # noqa: S704 - rebuilt from an allow-list; text escaped by ElementTree
        sections=sections,
        links=[link_words(lineage, link) for link in lineage.links],
        outside=[f"{_run_words(lineage, r)}: {one_line(why, 200)}" for r, why in sorted(lineage.outside.items())],
    )


RENDERERS = {"text": render_text, "json": render_json, "dot": render_dot, "svg": render_svg, "html": render_html}
