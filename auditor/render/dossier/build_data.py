"""Dossier content about data: the lineage diagram, datasheets, fairness, content hashes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import Markup

from auditor.capture.observe.internals import TOOL_PLACES
from auditor.capture.redact import clean_url
from auditor.check.report import CheckReport
from auditor.record import Missing
from auditor.record.fairness import Fairness
from auditor.record.lineage import (
    AbsentPath,
    ContentHash,
    Dataset,
    Hash,
    IdentityHint,
    Lineage,
    Observation,
)
from auditor.render.dossier.format import bytes_text, missing, safe_link
from auditor.render.dossier.views import (
    DatasetView,
    FindingView,
    HashRow,
    Item,
    Note,
    Svg,
)

SHEET_FIELDS = (
    ("description", "Description"),
    ("source", "Source (provenance)"),
    ("owner", "Owner"),
    ("licence", "Licence"),
    ("collection_period", "Collection period"),
    ("collection_process", "Collection process"),
    ("preprocessing", "Preprocessing and labelling"),
    ("personal_data", "Personal data"),
    ("legal_basis", "Legal basis"),
    ("limitations", "Known limitations and biases"),
)
NOTE_LIMIT = 4096  # characters of one annotation or tag shown; the record keeps the rest
PRE_AFTER = 160  # longer values are preformatted, as are multi-line ones and code
CODE_KEYS = frozenset({"sql", "query", "code", "source_code", "script"})
COLUMN_LIMIT = 200


def lineage_diagram(lineage: Lineage | Missing | None, draw: Callable[[Lineage], str]) -> tuple[Svg | None, str | None]:
    if not isinstance(lineage, Lineage):
        return None, missing(lineage) if isinstance(lineage, Missing) else "not recorded (schema 1.0)"
    counts = ((len(lineage.datasets), "dataset"), (len(lineage.steps), "step"), (len(lineage.models), "model"))
    alt = "Data lineage: " + ", ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in counts)
    return Svg(Markup(draw(lineage)), alt), None  # noqa: S704 - auditor's own SVG, labels escaped when built


def steps(lineage: Lineage | Missing | None) -> tuple[tuple[str, str, str, str], ...]:
    if not isinstance(lineage, Lineage):
        return ()
    return tuple((s.name, s.command, ", ".join(s.inputs), ", ".join(s.outputs)) for s in lineage.steps)


def access(lineage: Lineage | Missing | None) -> tuple[tuple[Item, ...], tuple[str, ...]]:
    if not isinstance(lineage, Lineage):
        return (), ()
    observed = lineage.observed
    if not isinstance(observed, Observation):
        return (Item("Observed file access", missing(observed), missing=True),), ()
    undeclared = tuple(f.path for f in observed.files if "undeclared_read" in f.verdicts)
    reads = sum(1 for f in observed.files if f.read)
    writes = sum(1 for f in observed.files if f.written)
    method = "every open() in the run's Python processes" if observed.method == "audit-hook" else "tree diff"
    items = (
        Item("Method", f"{method} ({observed.processes} processes)"),
        Item("Project files", f"{reads} read, {writes} written, {len(undeclared)} read without being declared"),
        Item("Declared but never read", ", ".join(observed.declared_unread) or "none"),
        Item("Environment reads", _environment_reads(observed.environment_reads)),
    )
    return items, undeclared


def _environment_reads(places: dict[str, int]) -> str:
    """The interpreter's files, and (counted apart) a tool's own files: `.git/`, `.dvc/`, caches, temporary files."""
    tools = sum(n for place, n in places.items() if place.startswith(TOOL_PLACES))
    text = f"{sum(places.values()) - tools} files under the interpreter's prefixes"
    return text + (f"; {tools} tool, cache and temporary files (.git, .dvc, ...)" if tools else "")


def datasets(lineage: Lineage | Missing | None, report: CheckReport) -> tuple[DatasetView, ...]:
    if not isinstance(lineage, Lineage):
        return ()
    by_subject: dict[str, list[FindingView]] = {}
    for f in report.findings:
        if f.subject.startswith("dataset:") and f.outcome in ("fail", "inconclusive", "could_not_evaluate", "waived"):
            rule = report.rule(f.rule_id)
            title, fix = (rule.title, rule.remediation) if rule else (f.rule_id, "")
            view = FindingView(f.rule_id, title, f.severity, f.subject, f.outcome, f.message, fix, f.waiver)
            by_subject.setdefault(f.subject, []).append(view)
    return tuple(_dataset(d, tuple(by_subject.get(f"dataset:{d.id}", ()))) for d in lineage.datasets)


def _dataset(d: Dataset, findings: tuple[FindingView, ...]) -> DatasetView:
    sheet = d.datasheet
    items = []
    for name, label in SHEET_FIELDS:
        value = getattr(sheet, name, None)
        text = ("yes" if value else "no") if isinstance(value, bool) else value
        items.append(Item(label, text if text not in (None, "") else "not given", missing=text in (None, "")))
    hash_value = d.before if d.before is not None else d.after
    text, state = "remote data: not fetched or hashed by auditor", "remote"
    location = d.path or clean_url(d.uri or "")
    if isinstance(hash_value, ContentHash):  # the size beside the path: the hash then fits one line
        text, state = f"sha256 {hash_value.sha256}", "hashed"
        location = f"{location} ({'folder' if hash_value.kind == 'tree' else 'file'}, {bytes_text(hash_value.size)})"
    elif hash_value is not None:
        text, state = hash_text(hash_value)
    return DatasetView(
        id=d.id,
        role=d.role,
        location=location,
        link=safe_link(d.uri),
        hash=text,
        hash_state=state,
        sheet=tuple(items),
        documented=sheet.documentation(),
        findings=findings,
        columns=tuple((c.name, c.type or "", c.description or "") for c in d.columns[:COLUMN_LIMIT]),
        more_columns=max(0, len(d.columns) - COLUMN_LIMIT),
        annotations=notes(d.annotations),
    )


def hash_text(value: Hash) -> tuple[str, str]:
    """A recorded hash in words, and its state: hashed / absent / missing."""
    if isinstance(value, ContentHash):
        return f"sha256 {value.sha256} ({value.kind}, {bytes_text(value.size)})", "hashed"
    if isinstance(value, AbsentPath):
        return f"{value.path} did not exist", "absent"
    if isinstance(value, IdentityHint):
        return (
            f"not an integrity hash: {value.tool} recorded an identity hint, {value.algorithm} {value.value}. "
            f"{value.meaning}",
            "missing",
        )
    return missing(value), "missing"


def notes(values: Mapping[str, str]) -> tuple[Note, ...]:
    """Annotations or tags, sorted; code, long and multi-line values preformatted, each cut at NOTE_LIMIT."""
    out = []
    for key, value in sorted(values.items()):
        pre = key.rsplit(".", 1)[-1].lower() in CODE_KEYS or "\n" in value or len(value) > PRE_AFTER
        clipped = None
        if len(value) > NOTE_LIMIT:
            clipped = f"the first {NOTE_LIMIT:,} of {len(value):,} characters; the whole text is in the run record"
            value = value[:NOTE_LIMIT]
        out.append(Note(key, value, pre, clipped))
    return tuple(out)


def fairness_meta(fairness: Fairness | Missing | None) -> tuple[tuple[Item, ...], str | None]:
    if not isinstance(fairness, Fairness):
        return (), missing(fairness) if isinstance(fairness, Missing) else "not recorded (schema 1.0)"
    boot = fairness.bootstrap
    refs = ", ".join(f"{k}: {v}" for k, v in sorted(fairness.reference_groups.items())) or "none set"
    return (
        Item("Predictions file", f"{fairness.predictions_path} (sha256 {fairness.predictions_sha256})", mono=True),
        Item("Rows", str(fairness.rows)),
        Item("Label and prediction", f"{fairness.label_column} / {fairness.prediction_column}"),
        Item("Favourable outcome", fairness.favourable_outcome),
        Item("Minimum group size", f"{fairness.min_group_size} rows (smaller groups are flagged and compared)"),
        Item("Declared reference groups", refs),
        Item(
            "Intervals",
            f"{boot.confidence:.0%}, {boot.resamples} resamples, seed {boot.seed}: "
            + (boot.method or "bootstrap (an older record: intervals for disparities only)"),
        ),
        *(Item("Issue", issue, missing=True) for issue in fairness.issues),
    ), None


def hashes(lineage: Lineage | Missing | None) -> tuple[HashRow, ...]:
    """The files inside folder datasets and models, each with its own hash. A single file's hash is
    in its datasheet (and a model's in the model card), so it is not listed again here."""
    if not isinstance(lineage, Lineage):
        return ()
    rows = []
    for d in lineage.datasets:
        for moment in (d.before, d.after):
            if isinstance(moment, ContentHash):
                if moment.kind == "tree":
                    rows += [HashRow(d.id, f.path or d.path or "", f.sha256, bytes_text(f.size)) for f in moment.files]
                break
    for m in lineage.models:
        if isinstance(m.after, ContentHash) and m.after.kind == "tree":
            rows += [HashRow(m.id, f.path or m.path, f.sha256, bytes_text(f.size)) for f in m.after.files]
    return tuple(rows)
