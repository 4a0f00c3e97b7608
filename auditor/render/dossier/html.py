"""Dossier content -> one self-contained HTML file (inline CSS and SVG, no script, no request).

Jinja2 with autoescape on for every template and StrictUndefined, so a misspelt field fails
instead of printing nothing. The stylesheet is inlined; a Content-Security-Policy in the page
forbids every remote load, so even a hostile value that escaped escaping could fetch nothing.
"""

from __future__ import annotations

import os
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
    return Environment(
        loader=FileSystemLoader(templates_folder()),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        finalize=_scrub,
    )


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


def render_html(dossier: Dossier) -> str:
    template = _environment().get_template("dossier.html.j2")
    return template.render(dossier=dossier, css=stylesheet(), sections=SECTIONS, title=TITLES, number=NUMBERS)
