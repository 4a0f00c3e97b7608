"""Dossier content -> one self-contained HTML file (inline CSS and SVG, no script, no request).

Jinja2 with autoescape on for every template and StrictUndefined, so a misspelt field fails
instead of printing nothing. The stylesheet is inlined; a Content-Security-Policy in the page
forbids every remote load, so even a hostile value that escaped escaping could fetch nothing.
"""

from __future__ import annotations

import base64
import os
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from auditor.render.bounds import MAX_DOCUMENT_CHARS, cut
from auditor.render.dossier.views import Dossier
from auditor.text import scrub

SECTIONS = (
    ("summary", "1 Verdict and what to do"),
    ("model-card", "2 Model card"),
    ("identity", "3 Run identity and source"),
    ("environment", "4 Software environment"),
    ("hardware", "5 Hardware and compute"),
    ("lineage", "6 Data lineage"),
    ("datasheets", "7 Datasheets"),
    ("fairness", "8 Fairness"),
    ("findings", "9 Policy findings"),
    ("annex-iv", "10 EU AI Act Annex IV"),
    ("reproducibility", "11 Reproducibility evidence"),
    ("discussion", "12 Discussion"),
    ("appendix-hashes", "A Files in folder datasets"),
    ("appendix-packages", "B Installed packages"),
    ("appendix-logs", "C Log excerpts"),
    ("appendix-glossary", "D Glossary"),
)
# The templates name sections by anchor (`title["fairness"]`, `number["findings"]`), never by a
# number written in them, so inserting a section renumbers every heading and cross-reference.
TITLES = dict(SECTIONS)
NUMBERS = {anchor: title.split(" ", 1)[0] for anchor, title in SECTIONS}


def templates_folder() -> Path:
    """auditor/templates in the installed package: a link to report_templates/ in a checkout."""
    return Path(__file__).resolve().parents[2] / "templates"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(templates_folder()),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        finalize=_scrub,
    )
    environment.filters["as_images"] = as_images
    return environment


def _scrub(value: object) -> object:
    """Every printed value goes through `scrub` (auditor.text), cut with a note when it is longer
    than MAX_DOCUMENT_CHARS (a 100 MB name would otherwise be laid out whole, twice); our own
    markup (SVG, CSS) is left alone."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return scrub(cut(value, MAX_DOCUMENT_CHARS))
    return value


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept beside the advisory index (0.1 s per run); none if it cannot be made."""
    folder = Path(os.environ.get("AUDITOR_CACHE_DIR") or Path.home() / ".cache" / "auditor") / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def stylesheet() -> Markup:
    """Our own static stylesheet, inlined (as markup: autoescape would break its quotes)."""
    return Markup((templates_folder() / "dossier.css").read_text(encoding="utf-8"))  # noqa: S704


def render_html(dossier: Dossier, *, for_print: bool = False) -> str:
    """The dossier's HTML page; `for_print` gives the copy WeasyPrint lays out as the PDF, drawn the same
    but cheaper to lay out: the lineage drawings as images (see `as_images`), each outcome's glyph as text
    (a `::before` box cost 3-8 % of a findings-heavy PDF's CPU)."""
    template = _environment().get_template("dossier.html.j2")
    return template.render(
        dossier=dossier, css=stylesheet(), sections=SECTIONS, title=TITLES, number=NUMBERS, for_print=for_print
    )


_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_SIZE = re.compile(r"\d+(?:\.\d+)?(?:pt|px)?")
_SVG_TITLE = "{http://www.w3.org/2000/svg}title"
_IMAGE_AT_MOST = 1 << 20  # characters of SVG; its data: URL stays well under pdf.py's MAX_DATA_URI_CHARS


def as_images(markup: Markup) -> Markup:
    """Auditor's own SVG drawings (one after another, as diagram.py writes them) as `<img>` elements with
    `data:` URLs, each with its <title> as alternate text: the same drawing in the PDF, but WeasyPrint
    parses an image with ElementTree once, not as thousands of HTML elements each with its own CSS
    cascade (an 800-node lineage: about a tenth of the PDF's CPU). A drawing without a fixed size (the
    placeholder is 100% wide) or of more than a MiB stays inline, as does anything that is not only SVG drawings."""
    parts = _SVG.findall(markup)
    if "".join(parts) != markup:
        return markup
    shown = []
    for part in parts:
        try:
            root = ET.fromstring(part)  # noqa: S314 - auditor's own SVG (diagram.py), labels escaped when built
        except ET.ParseError:
            return markup
        if len(part) > _IMAGE_AT_MOST or not all(_SIZE.fullmatch(root.get(side, "")) for side in ("width", "height")):
            shown.append(Markup(part))  # noqa: S704 - the same markup, unchanged
            continue
        title = root.find(_SVG_TITLE)
        alt = (title.text or "") if title is not None else ""
        source = "data:image/svg+xml;base64," + base64.b64encode(part.encode()).decode("ascii")
        shown.append(Markup('<img class="drawing" alt="{}" src="{}">').format(alt, source))
    return Markup("").join(shown)
