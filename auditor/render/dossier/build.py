"""Run record + check report -> the dossier's content, in the order a reader needs it.

Pure apart from drawing (the lineage diagram runs Graphviz's `dot`); the drawing functions are
parameters so tests can pin them. The same content renders as HTML and, through WeasyPrint, PDF.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from auditor.check.report import CheckReport
from auditor.check.waivers import Waiver
from auditor.record import Missing, RunRecord
from auditor.record.fairness import AttributeFairness
from auditor.record.findings import Finding, tally
from auditor.record.lineage import Lineage
from auditor.render.bounds import MAX_PACKAGES, MAX_ROWS, cut, first
from auditor.render.dossier import (
    build_container,
    build_data,
    build_env,
    build_fairness,
    build_model,
    build_origin,
    build_repro,
    views_assertions,
    views_profile,
)
from auditor.render.dossier.build_annex import annex_iv
from auditor.render.dossier.build_signoff import signoff_views
from auditor.render.dossier.build_verdict import verdict_page
from auditor.render.dossier.format import unrecorded, when
from auditor.render.dossier.paths import shown_command, shown_folder, shown_path
from auditor.render.dossier.views import (
    ClauseView,
    Cover,
    Dossier,
    FindingView,
    Item,
    LogExcerpt,
    RuleView,
    Summary,
    WaiverView,
)
from auditor.render.dossier.views_fairness import FairnessView
from auditor.render.dossier.views_notes import discussion_view
from auditor.render.dossier.views_verdict import VerdictPage
from auditor.render.times import run_times, span
from auditor.store.notes import StoredNote
from auditor.store.signoffs import SignOffStatus
from auditor.text import clip, param_text
from auditor.vocabulary import SEVERITY_ORDER

VERDICT_TEXT = {
    "compliant": "Compliant: every required rule passed",
    "violations": "Violations: rules at or above the threshold failed",
    "could_not_evaluate": "Could not establish compliance: required evidence is missing or inconclusive",
}
T = TypeVar("T")
TOP_FAILURES = 10
TITLE_CHARS = 200
COMMAND_LIMIT = 4096  # characters of a step's command shown (an ingested step's command may be its SQL)
GLOSSARY = (
    ("Run record", "The versioned JSON evidence auditor keeps for one run; its sha256 is on the cover."),
    ("Finding", "One rule's outcome for one subject (the run, a package, a dataset, an attribute)."),
    ("Could not evaluate", "The evidence a rule needs was not captured or could not be checked. Never a pass."),
    (
        "Inconclusive",
        "The evidence was evaluated, but its 95% interval reaches across the rule's bound, so neither a pass nor"
        " a breach is established. Never a pass; it blocks a compliant verdict like a missing check (exit 3).",
    ),
    ("Waiver", "An owned, approved and dated exception to one rule for one subject; it expires."),
    ("Selection rate", "The share of a group the model approves (predicts the favourable outcome for)."),
    ("Base rate", "The share of a group whose actual label is favourable: what a perfect model would approve."),
    (
        "TPR, FPR, FNR, PPV",
        "True positive rate: approved among those who were good risks; false positive rate: approved among"
        " those who were not; false negative rate = 1 − TPR; PPV (precision): good risks among those approved.",
    ),
    (
        "Reference group",
        "The group every other group is compared with: the declared one, or else the largest. Differences"
        " are signed, group minus reference, in percentage points.",
    ),
    (
        "95% interval",
        "A percentile bootstrap interval: the rows are resampled with replacement and every number recomputed"
        " on the same resamples. A small group's interval is wide.",
    ),
    ("Demographic parity difference", "The largest gap in selection rates between groups (fairlearn)."),
    (
        "Disparate impact ratio",
        "A group's selection rate divided by the reference group's; 0.8 is the four-fifths rule.",
    ),
    ("Equalized odds difference", "The largest gap in true or false positive rates between groups (fairlearn)."),
    ("Content hash", "A sha256 of a file's bytes, or of a folder's file list and hashes (a tree hash)."),
    ("Undeclared read", "A file the run read that auditor.yaml does not declare as a dataset."),
    ("OSV", "The Open Source Vulnerabilities format, in which the advisory databases are published."),
)


@dataclass(frozen=True)
class Drawing:
    lineage: Callable[[Lineage], str]
    fairness: Callable[[AttributeFairness, Mapping[str, float], str | None], str]


def default_drawing() -> Drawing:
    from auditor.render.dossier.chart import fairness_chart_svg
    from auditor.render.dossier.diagram import lineage_figure

    return Drawing(
        lineage=lineage_figure, fairness=lambda block, bounds, ref: fairness_chart_svg(block, bounds, reference=ref)
    )


def build_dossier(
    record: RunRecord,
    report: CheckReport,
    waivers: Sequence[Waiver],
    logs: Sequence[LogExcerpt],
    generated_at: datetime,
    drawing: Drawing,
    reproductions: Sequence[RunRecord] | Missing,
    signoffs: Sequence[SignOffStatus] | Missing,
    notes: Sequence[StoredNote] | Missing = (),
) -> Dossier:
    """`reproductions`: the runs that re-executed this one, oldest first, or why they were not looked up;
    `signoffs`: the run's sign-offs as checked against this record and these findings, or why not read;
    `notes`: the run's notes as the store read them (`auditor.store.notes.notes_of`), or why not read.

    Every list is cut to a bounded number of rows (auditor.render.bounds) and each cut is named in
    `cuts`: a hostile record with a million rows renders in seconds, and says what it left out."""
    cuts: list[str] = []

    def some(items: Sequence[T], noun: str, limit: int = MAX_ROWS) -> tuple[T, ...]:
        shown, note = first(items, noun, limit)
        cuts.extend([note] if note else [])
        return shown

    packages, package_counts = build_env.packages(record, report)
    hw, gpus = build_env.hardware(record)
    lineage_svg, lineage_missing = build_data.lineage_diagram(record.lineage, drawing.lineage)
    access, undeclared = build_data.access(record.lineage)
    fairness_meta, fairness_missing = build_data.fairness_meta(record.fairness)
    container, mounts = build_container.container(record)
    _, os_packages, os_package_counts = build_container.os_packages(record.container)
    tags, tags_by = build_origin.tags(record)
    params, params_note = first(sorted(record.params.items()), "params")
    metrics, metrics_note = first(record.metrics, "metric values")
    cuts += [note for note in (params_note, metrics_note) if note]
    attention = [
        p
        for p in packages
        if _needs_attention(p.pin_outcome) or (_needs_attention(p.vuln_outcome) and not p.shared_cause)
    ]
    verdict = verdict_page(record, report)
    return Dossier(
        cover=_cover(record, report, generated_at, reproductions),
        summary=_summary(report, waivers, signoffs),
        verdict=verdict,
        identity=build_env.identity(record),
        source=build_env.source(record),
        platform=build_env.platform(record),
        container=container,
        mounts=mounts,
        os_packages=some(os_packages, "operating-system packages", MAX_PACKAGES),
        os_package_counts=os_package_counts,
        tags=some(tags, "tags"),
        tags_by=tags_by,
        packages_attention=some(attention, "packages needing attention"),
        packages=some(packages, "installed packages", MAX_PACKAGES),
        package_counts=package_counts,
        declared=build_env.declared(record),
        vuln_source=_vuln_source(report, record),
        hardware=hw,
        gpus=gpus,
        resources=build_env.resources(record),
        lineage_svg=lineage_svg,
        lineage_missing=lineage_missing,
        steps=tuple(
            (n, clip(c, COMMAND_LIMIT), i, o) for n, c, i, o in some(build_data.steps(record.lineage), "steps")
        ),
        annotated=some(build_origin.annotated(record.lineage), "annotated steps and models"),
        lineage_notes=some(build_origin.lineage_notes(record.lineage), "lineage notes"),
        unmatched=some(build_origin.unmatched(record.lineage), "unmatched auditor.yaml entries"),
        code=build_env.code(record),
        code_files=some(build_env.code_files(record), "code files"),
        code_notes=some(build_env.code_notes(record), "code notes"),
        access=some(access, "access facts"),
        undeclared=some(undeclared, "undeclared reads"),
        datasets=some(build_data.datasets(record.lineage, report), "datasets"),
        fairness_meta=fairness_meta,
        fairness_missing=fairness_missing,
        fairness=_numbered(build_fairness.fairness_views(record.fairness, report, drawing.fairness), verdict, record),
        rules=_rules(report, cuts, verdict.numbers()),
        clauses=tuple(ClauseView(c.pack, c.id, c.title, c.status, c.rules, c.outside_run) for c in report.clauses),
        annex_iv=annex_iv(record, report, signoffs),
        reproducibility=_reproducibility(record, report),
        params=tuple(Item(k, param_text(v), mono=True) for k, v in params),
        params_note=params_note,
        metrics=tuple((m.name, f"{m.value:.6g}", "" if m.step is None else str(m.step)) for m in metrics),
        metrics_note=metrics_note,
        hashes=some(build_data.hashes(record.lineage), "content hashes"),
        logs=tuple(logs),
        logs_note=build_origin.logs_note(record, bool(logs)),
        glossary=GLOSSARY,
        profiles=views_profile.profiles(record.lineage.datasets) if isinstance(record.lineage, Lineage) else {},
        cuts=tuple(cuts),
        model_card=build_model.model_card(record),
        assertions=views_assertions.assertions(record.lineage),
        discussion=discussion_view(notes),
    )


def _cover(
    record: RunRecord, report: CheckReport, generated_at: datetime, reproductions: Sequence[RunRecord] | Missing
) -> Cover:
    ident = record.identity
    times = run_times(ident, record.origin.tool, when)
    project = record.lineage.project if isinstance(record.lineage, Lineage) else None
    verdict = report.with_waivers.verdict
    return Cover(
        title=f"Audit dossier: {cut(ident.project, TITLE_CHARS)}",  # also the PDF's title
        project=ident.project,
        owner=project.owner if project else None,
        intended_use=project.intended_use if project else None,
        out_of_scope=project.out_of_scope_uses if project else (),
        run_id=ident.run_id,
        run_name=ident.name,
        ran=span(times, ident.status),
        status=ident.status,
        verdict=verdict,
        verdict_text=_verdict_text(verdict, report.fail_on),
        record_sha256=report.run.record_sha256,
        generated_at=when(generated_at),
        auditor_version=report.tool_version,
        packs=", ".join(f"{p.name} v{p.version}" for p in report.packs),
        fail_on=report.fail_on,
        provenance=build_origin.provenance(record),
        reproducibility=build_repro.reproducibility(record, reproductions),
    )


def _numbered(views: tuple[FairnessView, ...], verdict: VerdictPage, record: RunRecord) -> tuple[FairnessView, ...]:
    """Fairness findings the verdict page states as blockers are named by their row there, not repeated;
    each attribute says whether the model takes it as an input (from the model card's feature flags)."""
    numbers = verdict.numbers()
    return tuple(
        dataclasses.replace(
            view,
            rules=tuple(dataclasses.replace(r, blocker=numbers.get((r.rule_id, r.subject))) for r in view.rules),
            inputs=_model_inputs(record, view.attributes),
        )
        for view in views
    )


def _model_inputs(record: RunRecord, attributes: str) -> str:
    card = record.model_card
    if card is None or isinstance(card, Missing):
        return ""
    features = [f for m in card.models for f in m.features]
    if not features:
        return "Whether the model takes these attributes as inputs is unknown: its features were not recorded."
    parts = []
    for attribute in attributes.split(" & "):
        quoted = f"'{attribute}'"
        direct = [f.name for f in features if f.name == attribute or any(quoted in x for x in f.flags)]
        proxies = [f.name for f in features if any(x.startswith("likely proxy") and attribute in x for x in f.flags)]
        part = (
            f"{attribute} is a direct model input (as {', '.join(direct)})"
            if direct
            else f"{attribute} is not a model input"
        )
        parts.append(part + (f"; likely proxies among the inputs: {', '.join(proxies)}" if proxies else ""))
    return "Model inputs: " + "; ".join(parts) + " (see the model card)."


def _needs_attention(outcome: str) -> bool:
    return outcome not in ("pass", "not_applicable", "waived")


def _verdict_text(verdict: str, fail_on: str) -> str:
    return VERDICT_TEXT[verdict].replace("the threshold", f"{fail_on} severity")


def _view(finding: Finding, report: CheckReport) -> FindingView:
    rule = report.rule(finding.rule_id)
    return FindingView(
        rule_id=finding.rule_id,
        title=rule.title if rule else finding.rule_id,
        severity=finding.severity,
        subject=finding.subject,
        outcome=finding.outcome,
        message=finding.message,
        remediation=rule.remediation if rule else "",
        waiver=finding.waiver,
    )


def _severity_key(finding: Finding) -> tuple[int, str, str]:
    return (-SEVERITY_ORDER.index(finding.severity), finding.rule_id, finding.subject)


def _summary(report: CheckReport, waivers: Sequence[Waiver], signoffs: Sequence[SignOffStatus] | Missing) -> Summary:
    failing = sorted((f for f in report.findings if f.outcome == "fail"), key=_severity_key)
    signoff_rows, signoff_note = signoff_views(signoffs)
    unknown = sorted((f for f in report.findings if f.outcome == "could_not_evaluate"), key=_severity_key)
    unsure = sorted((f for f in report.findings if f.outcome == "inconclusive"), key=_severity_key)
    with_w = report.with_waivers.totals.failing_by_severity
    without = report.without_waivers.totals.failing_by_severity
    states = {}
    if report.waivers is not None:
        states = {w: "in force" for w in report.waivers.used} | {w: "unused" for w in report.waivers.unused}
        states |= {w: "expired" for w in report.waivers.expired} | {w: "partial" for w in report.waivers.partial}
    return Summary(
        by_severity=tuple((s, with_w.get(s, 0), without.get(s, 0)) for s in reversed(SEVERITY_ORDER)),
        outcomes=tuple((o, n) for o, n in report.with_waivers.totals.outcomes.items()),
        top_failures=tuple(_view(f, report) for f in failing[:TOP_FAILURES]),
        more_failures=max(0, len(failing) - TOP_FAILURES),
        unevaluated=tuple(_view(f, report) for f in unknown[:TOP_FAILURES]),
        more_unevaluated=max(0, len(unknown) - TOP_FAILURES),
        waivers=tuple(
            WaiverView(w.id, w.rule, w.scope, w.owner, w.approver, w.expires, w.justification, states.get(w.id, "?"))
            for w in waivers
        ),
        warnings=report.warnings,
        without_waivers=_verdict_text(report.without_waivers.verdict, report.fail_on),
        signoffs=signoff_rows,
        signoffs_note=signoff_note,
        inconclusive=tuple(_view(f, report) for f in unsure),
    )


def _rules(report: CheckReport, cuts: list[str], blockers: Mapping[tuple[str, str], int]) -> tuple[RuleView, ...]:
    """Every rule with its tally; its findings that need attention, except those the verdict page
    already lists as blockers (named by their row numbers there, not repeated)."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    views = []
    for rule in report.rules:
        every = by_rule.get(rule.id, [])
        listed = sorted({blockers[(rule.id, f.subject)] for f in every if (rule.id, f.subject) in blockers})
        mine = [f for f in every if (rule.id, f.subject) not in blockers]
        counts = tally(every)
        views.append(
            RuleView(
                id=rule.id,
                title=rule.title,
                severity=rule.severity,
                result=counts.worst,
                tally=", ".join(f"{n} {o.replace('_', ' ')}" for o, n in counts.items()) or "no findings",
                references=rule.references,
                rationale=rule.rationale,
                remediation=rule.remediation,
                attention=_attention(rule.id, mine, report, cuts),
                passes=counts.counts.get("pass", 0),
                blockers=tuple(listed),
            )
        )
    return tuple(views)


def _attention(rule_id: str, mine: list[Finding], report: CheckReport, cuts: list[str]) -> tuple[FindingView, ...]:
    """A rule's findings that are not passes, one row per cause: subjects with the same outcome and
    message (four datasets 'without a legal basis') are listed together, the message said once."""
    groups: dict[tuple[str, str, str | None], list[Finding]] = {}
    for f in mine:
        if f.outcome not in ("pass", "not_applicable"):
            groups.setdefault((f.outcome, f.message, f.waiver), []).append(f)
    shown, note = first(list(groups.values()), f"{rule_id} findings needing attention")
    cuts.extend([note] if note else [])
    return tuple(_grouped_view(same, report) for same in shown)


def _grouped_view(same: list[Finding], report: CheckReport) -> FindingView:
    view = _view(same[0], report)
    if len(same) == 1:
        return view
    return dataclasses.replace(view, subject=", ".join(f.subject for f in same))


def _vuln_source(report: CheckReport, record: RunRecord) -> tuple[Item, ...]:
    v = report.vulnerabilities
    if v is None:
        return (Item("Vulnerability audit", "not run (no vulnerability rule, or no packages recorded)", missing=True),)
    dated = v.date or "unknown date"
    items = [
        Item(
            "Source",
            f"{v.source}: {shown_path(v.location, record.identity.cwd, build_env.repository_root(record))}",
            mono=True,
        ),
        Item(
            "Data as of",
            dated + (f" ({v.age_days} days before the check)" if v.age_days is not None else ""),
            missing=v.stale,
        ),
    ]
    if v.commit:
        items.append(Item("Database commit", v.commit, mono=True))
    if v.error:
        items.append(Item("Source failed", v.error, missing=True))
    counts = {s: n for s, n in v.package_counts().items() if n}
    audited = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items())) or "none"
    if isinstance(record.environment.packages, Missing):  # the audit looked up the declared exact pins
        audited += " (declared exact pins; the installed packages were not captured)"
    items.append(Item("Packages", audited))
    return tuple(items)


def _reproducibility(record: RunRecord, report: CheckReport) -> tuple[Item, ...]:
    seeds = next((f for f in report.findings if f.rule_id == "AUD-REPRO-001"), None)
    root = build_env.repository_root(record)
    command = shown_command(record.identity.argv, record.identity.cwd, root)
    gap = unrecorded(record.origin.tool if record.origin.kind == "ingested" else None)
    where = shown_folder(record.identity.cwd, root) if record.identity.cwd else ""
    items = [
        Item("Command to re-run", command or gap, missing=not command, mono=bool(command)),
        *([Item("Run it in", where)] if command and where else []),
        Item("Seeds", seeds.message if seeds else "not checked", missing=seeds is None or seeds.outcome != "pass"),
        Item("Run record sha256", report.run.record_sha256, mono=True),
    ]
    if record.links.reproduces:
        items.append(Item("This run reproduces", record.links.reproduces, mono=True))
    return tuple(items)
