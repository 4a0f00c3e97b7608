"""The diff as one standalone HTML page: no external request, no script, a strict CSP.

Jinja2 with autoescape renders every value; each value also goes through `scrub` (auditor.text), so
control and bidi characters become U+FFFD. Nothing from a run lands in a URL, a style or an
unquoted attribute.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from jinja2 import DictLoader, Environment, FileSystemBytecodeCache, StrictUndefined, Template
from markupsafe import Markup

from auditor.portfolio.diff.model import DIFF_VERSION, Change, RunDiff
from auditor.portfolio.diff.order import MARKS, headline, ordered, word
from auditor.portfolio.diff.substantial import WORDING
from auditor.render.times import iso
from auditor.text import scrub

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>auditor diff {{ diff.a.run_id }} .. {{ diff.b.run_id }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{border:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f6f8fa} .state{font-weight:600;padding:.1rem .45rem;border-radius:.3rem}
.changed{background:#fff1d6} .same{background:#e6f4ea} .missing{background:#eceff3} .indicated{background:#ffe1dc}
.k-added td:first-child{color:#1a7f37} .k-removed td:first-child{color:#cf222e}
.k-changed td:first-child{color:#9a6700} .meta{color:#57606a}
code{font-family:ui-monospace,monospace;font-size:.9em} .note{color:#57606a;font-size:.9em}
.w4{width:4rem} .w7{width:7rem} .w9{width:9rem} .w11{width:11rem} .w22{width:22rem}
</style></head><body>
<h1>What changed between two runs</h1>
<table class="runs"><tr><th class="w4"></th><th>Run</th><th>Project</th><th>Started</th>
<th>Status</th><th>Check</th></tr>
{% for label, side in (("A", diff.a), ("B", diff.b)) %}<tr><th>{{ label }}</th>
<td><code>{{ side.run_id }}</code>{% if side.name %} {{ side.name }}{% endif %}</td>
<td>{{ side.project }}</td><td>{{ started[label] }}</td><td>{{ side.status }}</td><td>{{ side.verdict }}</td></tr>
{% endfor %}</table>
<p class="meta">Policy: {{ diff.policy }}. Metric tolerances: {% for k, v in diff.tolerances.items() -%}
{{ k }} {{ v }}{% if not loop.last %}, {% endif %}
{%- else %}the default, rel:1e-06, abs:1e-09{% endfor %}.</p>
<p><strong>{{ headline }}</strong></p>

<h2 id="substantial">Substantial modification (EU AI Act, Article 3(23))</h2>
<table><tr><th class="w11">Criterion</th><th class="w9">Indication</th><th>Evidence</th></tr>
{% for item in diff.substantial %}<tr><td>{{ item.criterion }}</td>
<td><span class="state {{ indication_css[item.verdict] }}">{{ item.verdict }}</span></td>
<td>{% for e in item.evidence %}<div>{{ e }}</div>{% endfor %}</td></tr>
{% endfor %}</table>
<p class="note">{% if diff.substantial_indicated %}A change above {{ wording }}.
{%- else %}No criterion is indicated; "could not tell" means the evidence is missing, not that nothing changed.
{%- endif %}</p>

{% for section in sections %}
<h2 id="{{ section.name }}">{{ section.title }}:
<span class="state {{ css[section.state] }}">{{ section.state }}</span></h2>
{% if section.changes %}<table><tr><th class="w7">Change</th><th class="w22">What</th><th>A</th><th>B</th></tr>
{% for c in section.changes %}<tr class="k-{{ c.kind }}"><td>{{ marks[c.kind] }} {{ words[section.name][c.kind] }}</td>
<td>{{ c.what }}{% if c.detail %}<div class="note">{{ c.detail }}</div>{% endif %}</td>
<td>{% if c.a is not none %}<code>{{ c.a }}</code>{% else %}<span class="meta">absent</span>{% endif %}</td>
<td>{% if c.b is not none %}<code>{{ c.b }}</code>{% else %}<span class="meta">absent</span>{% endif %}</td></tr>
{% endfor %}</table>{% else %}<p class="meta">Nothing differs.</p>{% endif %}
{% for n in section.notes %}<p class="note">{{ n }}</p>{% endfor %}
{% endfor %}
<p class="meta">auditor.run-diff {{ version }}: records {{ diff.a.record_sha256 }}
and {{ diff.b.record_sha256 }} (SHA-256).</p>
</body></html>
"""


def _scrub(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, Markup):
        return scrub(value)
    return value


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled once and kept, as the dossier's templates are (compiling costs 0.1-0.4 s a run);
    not importing the dossier's module for it saves as much again."""
    folder = Path(os.environ.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor") / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


@cache
def _template() -> Template:
    env = Environment(
        loader=DictLoader({"diff.html": PAGE}),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_scrub,
        bytecode_cache=_bytecode_cache(),
    )
    return env.get_template("diff.html")


def render_html(diff: RunDiff) -> str:
    sections = ordered(diff)
    words = {s.name: {k: word(s, Change(k, "")) for k in MARKS} for s in sections}  # type: ignore[arg-type]
    css = {"same": "same", "changed": "changed"} | {
        s: "missing" for s in ("not recorded in A", "not recorded in B", "not recorded in A or B")
    }
    return _template().render(
        diff=diff,
        sections=sections,
        headline=headline(diff),
        started={"A": iso(diff.a.started_at), "B": iso(diff.b.started_at)},
        csp=CSP,
        wording=WORDING,
        marks=MARKS,
        words=words,
        css=css,
        indication_css={"indicated": "indicated", "could not tell": "missing", "not indicated": "same"},
        version=DIFF_VERSION,
    )
