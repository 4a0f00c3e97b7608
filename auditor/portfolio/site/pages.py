"""The portfolio's pages: Jinja2 with autoescape and StrictUndefined; every value printed goes
through `scrub`. Pure: the pages as text by their path in the site, nothing written.

The Content-Security-Policy allows nothing to load, and only the page's own stylesheet and script
to apply and run (by their SHA-256), so a hostile value that escaped escaping could neither run a
script of its own nor fetch anything.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup

from auditor.portfolio.site.charts import bars, runs_over_time
from auditor.portfolio.site.model import (
    SEVERITIES,
    VERDICT_WORDS,
    VERDICTS,
    Portfolio,
    ProjectRow,
    ReproductionRow,
    project_page,
    run_page,
)
from auditor.render.bounds import MAX_DOCUMENT_CHARS, cut
from auditor.render.times import iso, recorded_duration
from auditor.text import scrub

NotesOf = Callable[[str], list[Any]]  # run id -> its stored notes, oldest first (auditor.store.notes)


def _template(name: str) -> str:
    return resources.files("auditor.portfolio.site").joinpath("templates", name).read_text(encoding="utf-8")


def _finalize(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, Markup):
        return scrub(cut(value, MAX_DOCUMENT_CHARS))
    return value


def _short(key: str | None) -> str:
    if not key:
        return "not hashed"
    kind, _, value = key.partition(":")
    return f"{kind}:{value[:16]}…" if len(value) > 16 else key


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FunctionLoader(_template),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
    )
    css, script = _template("site.css"), _template("site.js")
    env.globals.update(
        css=Markup(css),  # noqa: S704  # our own stylesheet and script, never run text
        script=Markup(script),  # noqa: S704
        csp=csp(css, script),
        when=iso,
        duration=recorded_duration,
        short=_short,
        verdict_words=VERDICT_WORDS,
        verdict_rank={v: i for i, v in enumerate(VERDICTS)},
        severities=SEVERITIES,
        project_page=project_page,
    )
    return env


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp(css: str, script: str) -> str:
    return (
        f"default-src 'none'; style-src {_digest(css)}; script-src {_digest(script)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def dossier_words(p: Portfolio) -> str:
    if p.dossiers == "all":
        return "every run's dossier is rendered"
    if p.dossiers == "none":
        return "no dossier is rendered (--dossiers none)"
    return "dossiers are rendered for each project's latest run and every run waiting for sign-off (--dossiers latest)"


def render_pages(p: Portfolio, notes_of: NotesOf) -> Iterator[tuple[str, str]]:
    """Every page but the dossiers, as (path in the site, HTML)."""
    env = _environment()
    common = {"p": p, "dossier_words": dossier_words(p)}
    charts = {
        "over_time": Markup(runs_over_time([(r.run.started_at, r.verdict) for r in p.runs])),  # noqa: S704
        "verdicts": Markup(bars(p.latest_verdicts(), "Verdicts of the latest runs", "project(s)")),  # noqa: S704
        "severities": Markup(bars(p.open_by_severity(), "Open findings by severity", "finding(s)")),  # noqa: S704
    }
    yield "index.html", env.get_template("index.html.j2").render(common, root="", charts=charts)
    for name in ("datasets", "models", "reproductions", "duplicates"):
        yield f"{name}.html", env.get_template(f"{name}.html.j2").render(common, root="")
    project = env.get_template("project.html.j2")
    for pr in p.projects:
        yield pr.page, project.render(common, root="../", pr=pr, chart=_project_chart(pr), intended=_intended(pr))
    by_origin: dict[str, list[ReproductionRow]] = defaultdict(list)
    for x in reversed(p.reproductions):
        by_origin[x.of].append(x)
    run = env.get_template("run.html.j2")
    for r in p.runs:
        notes = notes_of(r.run.run_id) if r.notes else []
        yield (
            run_page(r.run.run_id),
            run.render(common, root="../", r=r, notes=notes, reproductions=by_origin.get(r.run.run_id, [])),
        )


def _project_chart(pr: ProjectRow) -> Markup:
    runs = [(r.run.started_at, r.verdict) for r in pr.runs]
    return Markup(runs_over_time(runs, "Runs of this project over time"))  # noqa: S704


def _intended(pr: ProjectRow) -> str | None:
    return next((r.run.intended_use for r in pr.runs if r.run.intended_use), None)
