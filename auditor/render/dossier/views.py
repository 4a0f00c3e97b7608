"""The dossier's content model: plain, immutable view objects the templates render.

Everything here is text already chosen for a reader (labels, formatted numbers, states), so the
templates only lay out; they never reach into the record. Values stay plain strings and Jinja2's
autoescape escapes them. The one exception is `Svg` (view_parts.py): diagrams that auditor generated
itself, with every label escaped by the SVG builders, marked safe exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.record.lineage import Documentation
from auditor.render.dossier.view_parts import Item, Svg
from auditor.render.dossier.views_annex import AnnexIV
from auditor.render.dossier.views_assertions import AssertionsView
from auditor.render.dossier.views_fairness import FairnessView
from auditor.render.dossier.views_model import ModelCardView
from auditor.render.dossier.views_notes import NO_DISCUSSION, Discussion
from auditor.render.dossier.views_profile import ProfileView
from auditor.render.dossier.views_verdict import VerdictPage

__all__ = ["Item", "Svg"]  # defined in view_parts, so that section view modules can share them


@dataclass(frozen=True)
class FindingView:
    rule_id: str
    title: str
    severity: str
    subject: str
    outcome: str
    message: str
    remediation: str
    waiver: str | None = None


@dataclass(frozen=True)
class RuleView:
    id: str
    title: str
    severity: str
    result: str  # the worst outcome among its findings
    tally: str
    references: tuple[str, ...]
    rationale: str
    remediation: str
    attention: tuple[FindingView, ...]  # what is not a pass, not applicable or listed as a blocker
    passes: int
    blockers: tuple[int, ...] = ()  # the verdict page's rows that list this rule's other findings


@dataclass(frozen=True)
class ClauseView:
    pack: str
    id: str
    title: str
    status: str
    rules: tuple[str, ...]
    outside_run: str | None = None  # for "not_evidenced": what a run cannot show


@dataclass(frozen=True)
class WaiverView:
    id: str
    rule: str
    scope: str
    owner: str
    approver: str
    expires: str
    justification: str
    state: str  # in force / unused / expired


# Outcomes from gravest to mildest; an unknown one counts as the mildest.
_GRAVITY = {
    o: i for i, o in enumerate(("fail", "could_not_evaluate", "inconclusive", "waived", "pass", "not_applicable"))
}


@dataclass(frozen=True)
class PackageView:
    name: str
    version: str
    install_kind: str
    pin: str
    pin_outcome: str
    vulns: str
    vuln_outcome: str
    shared_cause: bool = False  # its only problem is stated once elsewhere (a failed vulnerability source)

    @property
    def worst_outcome(self) -> str:
        """The graver of the two checks' outcomes: the colour of the package's line in the appendix."""
        ranked = sorted((self.pin_outcome, self.vuln_outcome), key=lambda o: _GRAVITY.get(o, len(_GRAVITY)))
        return ranked[0]

    @property
    def listed_version(self) -> str:
        """The version as the appendix lists it: with the install kind when it is not the package index."""
        return self.version if self.install_kind == "index" else f"{self.version} ({self.install_kind})"


@dataclass(frozen=True)
class Note:
    """A fact another tool recorded (an annotation or a tag); long or multi-line text is preformatted."""

    key: str
    value: str
    pre: bool = False
    clipped: str | None = None  # "the first 4,096 of 16,384 characters; ..." when cut for the page


@dataclass(frozen=True)
class DatasetView:
    id: str
    role: str
    location: str
    link: str | None  # an allow-listed https URL, or None
    hash: str
    hash_state: str  # hashed / absent / missing / remote
    sheet: tuple[Item, ...]
    documented: Documentation
    findings: tuple[FindingView, ...] = ()  # this dataset's failures and gaps, from every rule
    columns: tuple[tuple[str, str, str], ...] = ()  # name, type, description
    more_columns: int = 0
    annotations: tuple[Note, ...] = ()  # what a source tool recorded besides the datasheet


@dataclass(frozen=True)
class AnnotatedView:
    """A step or a model with the facts its source tool recorded about it."""

    kind: str  # step / model
    id: str
    facts: tuple[Item, ...]  # for a model: path and hash
    annotations: tuple[Note, ...]


@dataclass(frozen=True)
class HashRow:
    dataset: str
    path: str
    sha256: str
    size: str


@dataclass(frozen=True)
class LogExcerpt:
    name: str
    sha256: str
    size: str
    redactions: int
    lines: tuple[str, ...]
    omitted: int
    verified: str  # whether the file still has the recorded sha256
    intact: bool


@dataclass(frozen=True)
class Provenance:
    """How the evidence was captured: executed under auditor, or ingested from another tool."""

    ingested: bool
    text: str  # "Executed by auditor (local)" / "Ingested from MLflow 2.9.2, <uri>, run abc: auditor did not ..."
    tool: str | None
    not_captured: tuple[str, ...]  # readable section names the source tool does not record


@dataclass(frozen=True)
class DifferenceRow:
    kind: str
    name: str
    original: str
    reproduced: str
    outcome: str  # pass / fail, for the mark
    judgement: str  # "within tolerance" / "outside tolerance" / "content differs; metrics decide" ...


@dataclass(frozen=True)
class ReproductionView:
    """One reproduction: seen from the original (`run_id` is the re-run) or from the re-run itself."""

    run_id: str
    date: str
    verdict: str  # identical / equivalent / diverged / not recorded
    outcome: str  # pass / fail / could_not_evaluate: the badge's style
    meaning: str
    differences: tuple[DifferenceRow, ...]
    details: tuple[Item, ...] = ()  # tolerances, inputs verified, environment check


@dataclass(frozen=True)
class Reproducibility:
    label: str  # the cover's badge: the worst verdict, "not reproduced yet", "not looked up" ...
    outcome: str  # the badge's style: pass / fail / none / could_not_evaluate
    headline: str  # the rest of the cover's line
    reproduces: ReproductionView | None  # this run re-executed another one
    reproductions: tuple[ReproductionView, ...]  # runs that re-executed this one, oldest first
    absent: str | None  # why no reproduction is listed: not reproduced yet / not looked up / cannot be
    command: str = ""  # the command that would reproduce it, when it can be


@dataclass(frozen=True)
class SignOffView:
    name: str
    role: str
    decision: str  # approve / reject / unknown
    decided_at: str
    comment: str
    covers: bool  # this record, these findings, an intact signature
    coverage: str  # the sentence that says what it covers, or why not
    signature: str  # who signed and what that proves, or "not signed"
    signature_ok: bool | None  # None: not signed
    record_sha256: str
    findings_sha256: str
    file: str


@dataclass(frozen=True)
class Cover:
    title: str
    project: str
    owner: str | None
    intended_use: str | None
    out_of_scope: tuple[str, ...]
    run_id: str
    run_name: str | None
    ran: str  # when it ran, and its status, in one line (render/times.py span)
    status: str
    verdict: str  # compliant / violations / could_not_evaluate
    verdict_text: str
    record_sha256: str
    generated_at: str
    auditor_version: str
    packs: str
    fail_on: str
    provenance: Provenance | None = None
    reproducibility: Reproducibility | None = None


@dataclass(frozen=True)
class Summary:
    by_severity: tuple[tuple[str, int, int], ...]  # severity, failing with waivers, without
    outcomes: tuple[tuple[str, int], ...]
    top_failures: tuple[FindingView, ...]
    more_failures: int
    unevaluated: tuple[FindingView, ...]  # could not evaluate: as important to a reader as a failure
    more_unevaluated: int
    waivers: tuple[WaiverView, ...]
    warnings: tuple[str, ...]
    without_waivers: str
    signoffs: tuple[SignOffView, ...] = ()
    signoffs_note: str = ""
    inconclusive: tuple[FindingView, ...] = ()  # evaluated, but the interval straddles the bound: never a pass


@dataclass(frozen=True)
class Dossier:
    cover: Cover
    summary: Summary
    verdict: VerdictPage
    identity: tuple[Item, ...]
    source: tuple[Item, ...]
    platform: tuple[Item, ...]
    container: tuple[Item, ...]  # empty for a local run
    mounts: tuple[tuple[str, str, str], ...]  # host path, container path, read-only / writable
    os_packages: tuple[tuple[str, str, str], ...]  # name, version, architecture
    os_package_counts: str
    tags: tuple[Note, ...]
    tags_by: str
    packages_attention: tuple[PackageView, ...]
    packages: tuple[PackageView, ...]
    package_counts: str
    declared: tuple[Item, ...]
    vuln_source: tuple[Item, ...]
    hardware: tuple[Item, ...]
    gpus: tuple[tuple[str, ...], ...]
    resources: tuple[Item, ...]
    lineage_svg: Svg | None
    lineage_missing: str | None
    steps: tuple[tuple[str, str, str, str], ...]  # name, command, inputs, outputs
    annotated: tuple[AnnotatedView, ...]  # steps and models with what their source tool recorded
    lineage_notes: tuple[str, ...]
    access: tuple[Item, ...]
    undeclared: tuple[str, ...]
    datasets: tuple[DatasetView, ...]
    fairness_meta: tuple[Item, ...]
    fairness_missing: str | None
    fairness: tuple[FairnessView, ...]
    rules: tuple[RuleView, ...]
    clauses: tuple[ClauseView, ...]
    reproducibility: tuple[Item, ...]
    params: tuple[Item, ...]
    params_note: str | None  # "1,000,000 params, first 500 shown"
    metrics: tuple[tuple[str, str, str], ...]  # name, value, step
    metrics_note: str | None
    hashes: tuple[HashRow, ...]
    logs: tuple[LogExcerpt, ...]
    logs_note: str  # why no log is stored, or what limits those that are
    glossary: tuple[tuple[str, str], ...] = field(default=())
    annex_iv: AnnexIV | None = None  # every Annex IV item; None only for dossiers built without it
    profiles: dict[str, ProfileView] = field(default_factory=dict)  # of tabular datasets, by dataset id
    model_card: ModelCardView | None = None
    assertions: tuple[AssertionsView, ...] = ()  # data-quality assertions a source tool recorded, per dataset
    discussion: Discussion = NO_DISCUSSION  # the run's notes, written beside the record
    unmatched: tuple[str, ...] = ()  # auditor.yaml entries an ingested run did not use
    code: tuple[Item, ...] = ()  # the code the run executed, in a few words (record schema 1.6)
    code_files: tuple[tuple[str, str, str], ...] = ()  # path, language, sha256 (shortened)
    code_notes: tuple[str, ...] = ()  # code files that could not be read or fingerprinted
    cuts: tuple[str, ...] = field(default=(), metadata={"doc": "what a section shows only in part, and how much"})
