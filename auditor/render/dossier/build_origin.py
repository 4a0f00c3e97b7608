"""Dossier content about where the evidence came from: executed by auditor or ingested from another
tool, what that tool did not record, and the tags, columns and annotations it did record.

An ingested record is another tool's account of a run, so the dossier says so on the cover and
names every section the tool does not capture; a value it left out reads "not recorded by TOOL",
never "None". Annotations and tags are the tool's own text (see `build_data.notes`).
"""

from __future__ import annotations

from auditor.capture.redact import clean_url
from auditor.record import Missing, RunRecord
from auditor.record.lineage import Lineage
from auditor.render.dossier.build_data import hash_text, notes
from auditor.render.dossier.format import unrecorded
from auditor.render.dossier.views import AnnotatedView, Item, Note, Provenance

SECTION_NAMES = {  # record sections -> the words a reader knows
    "environment.os": "operating system",
    "environment.python": "Python interpreter",
    "environment.packages": "installed packages",
    "environment.declared": "declared requirements",
    "hardware": "hardware",
    "resources.cpu": "CPU time and memory use",
    "outputs.logs": "command logs",
    "lineage.observed": "observed file access",
    "fairness": "fairness evaluation",
    "source": "source code version",
}


def tool_of(record: RunRecord) -> str | None:
    """The source tool of an ingested run (None for a run auditor executed)."""
    return (record.origin.tool or "the source tool") if record.origin.kind == "ingested" else None


def provenance(record: RunRecord) -> Provenance:
    origin = record.origin
    if origin.kind != "ingested":
        where = "locally"
        if record.container is not None:
            where = f"in a container (image {record.container.image_ref})"
        elif origin.executor and origin.executor != "local":
            where = f"with the {origin.executor} executor"
        text = f"Executed and recorded by auditor {record.identity.auditor_version}, {where}"
        return Provenance(False, text, None, ())
    tool = tool_of(record) or ""
    named = " ".join(p for p in (tool, origin.tool_version) if p)
    parts = [f"Ingested from {named}"]
    if origin.source_uri:
        parts.append(clean_url(origin.source_uri))
    parts.append(f"run {origin.source_run_id}" if origin.source_run_id else f"run id {unrecorded(tool)}")
    text = ", ".join(parts) + f": auditor did not execute this run; this record is what {tool} recorded."
    missing = tuple(SECTION_NAMES.get(name, name) for name in origin.not_captured)
    return Provenance(True, text, tool, missing)


def tags(record: RunRecord) -> tuple[tuple[Note, ...], str]:
    return notes(record.tags), tool_of(record) or "the run"


def annotated(lineage: Lineage | Missing | None) -> tuple[AnnotatedView, ...]:
    """Steps that carry annotations, then every model (a model is listed nowhere else but the diagram)."""
    if not isinstance(lineage, Lineage):
        return ()
    views = [AnnotatedView("step", s.name, (), notes(s.annotations)) for s in lineage.steps if s.annotations]
    for m in lineage.models:
        if m.after is None:
            text, state = "not hashed", "missing"
        else:
            text, state = hash_text(m.after)
        facts = (Item("Path", m.path, mono=True), Item("Content hash", text, missing=state != "hashed", mono=True))
        views.append(AnnotatedView("model", m.id, facts, notes(m.annotations)))
    return tuple(views)


def lineage_notes(lineage: Lineage | Missing | None) -> tuple[str, ...]:
    return lineage.notes if isinstance(lineage, Lineage) else ()


def unmatched(lineage: Lineage | Missing | None) -> tuple[str, ...]:
    """auditor.yaml entries an ingested run did not use (schema 1.5)."""
    return lineage.unmatched if isinstance(lineage, Lineage) else ()


def logs_note(record: RunRecord, shown: bool) -> str:
    """Appendix C's note: why no log is shown, or what limits the logs that are."""
    notes_text = "; ".join(record.outputs.notes)
    if shown:
        return f"Capture notes: {notes_text}." if notes_text else ""
    tool = tool_of(record)
    kept = record.outputs.stdout is not None or record.outputs.stderr is not None
    text = "No logs are stored with this record"
    if tool and not kept:
        text = f"No logs: the command's output was {unrecorded(tool)}"
    return text + (f" ({notes_text})" if notes_text else "") + "."
