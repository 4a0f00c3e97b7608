"""Run record + check report -> the dossier's Annex IV table (EU AI Act, Regulation (EU) 2024/1689).

Every item of Annex IV gets a row: present, partial, absent or not applicable, what the record
holds for it and how to supply what is missing. Evidence comes from two places: the sections a
run captures (environment, hardware, lineage, fairness, the vulnerability audit, sign-offs) and
the provider's statements in auditor.yaml's `governance:` section, as the record kept them at
capture. "Present" says the documentation exists, not that it is adequate: that is the
assessor's call. A declared statement is the provider's word; auditor does not verify it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.check.report import CheckReport, ClauseRow
from auditor.record import Missing, RunRecord
from auditor.record.fairness import Fairness
from auditor.record.governance import Governance
from auditor.record.lineage import Lineage
from auditor.record.model_card import ModelCard
from auditor.record.models import CpuInfo, DeclaredRequirements, GitSource, Gpus, MemoryInfo, Packages, ReportedSource
from auditor.render.dossier.views_annex import AnnexIV, AnnexRow, DocumentItem
from auditor.store.signoffs import SignOffStatus
from auditor.text import clip

SHOWN = 90  # characters of a declared statement shown in the table; the record keeps it whole
STATUSES = ("present", "partial", "absent", "not applicable")
RUN = "auditor run -- COMMAND (the run captures it)"

TITLES: dict[str, str] = {
    "1(a)": "Intended purpose, provider, version and relation to previous versions",
    "1(b)": "Interaction with hardware, software and other AI systems",
    "1(c)": "Versions of relevant software or firmware; version-update requirements",
    "1(d)": "Forms in which it is placed on the market or put into service",
    "1(e)": "Hardware it is intended to run on",
    "1(f)": "If a component of products: photographs or illustrations of them",
    "1(g)": "Basic description of the user interface provided to the deployer",
    "1(h)": "Instructions for use for the deployer",
    "2(a)": "Methods and steps of development, incl. third-party systems or tools",
    "2(b)": "Design specifications: logic, algorithms, key design choices",
    "2(c)": "System architecture; computational resources to develop, train, test, validate",
    "2(d)": "Data requirements: datasheets of the training data",
    "2(e)": "Assessment of the human-oversight measures (Art. 14)",
    "2(f)": "Pre-determined changes to the system and its performance",
    "2(g)": "Validation and testing: data, metrics (incl. discriminatory impacts), signed test reports",
    "2(h)": "Cybersecurity measures",
    "3": "Monitoring, functioning and control: capabilities, limitations, accuracy per group",
    "4": "Appropriateness of the performance metrics",
    "5": "Risk-management system (Art. 9)",
    "6": "Relevant changes made through the lifecycle",
    "7": "Harmonised standards applied, or the other solutions adopted",
    "8": "Copy of the EU declaration of conformity (Art. 47)",
    "9": "Post-market monitoring system and plan (Art. 72)",
}
TIER_TEXT = {
    "high-risk": "high-risk",
    "limited": "limited risk (transparency obligations)",
    "minimal": "minimal risk",
    "not-assessed": "not assessed",
}


@dataclass(frozen=True)
class Part:
    """One piece of evidence an item needs: what the record holds (None: nothing), how to supply it."""

    label: str
    value: str | None
    supply: str
    incomplete: bool = False  # the record holds some of it: the item is at most partial


def annex_iv(record: RunRecord, report: CheckReport, signoffs: Sequence[SignOffStatus] | Missing) -> AnnexIV:
    gov = record.governance if isinstance(record.governance, Governance) else None
    lineage = record.lineage if isinstance(record.lineage, Lineage) else None
    fairness = record.fairness if isinstance(record.fairness, Fairness) else None
    card = _model_card(record)
    purpose = lineage.project.intended_use if lineage else None  # asked once, in project: not in governance
    parts: dict[str, list[Part]] = {
        "1(a)": [
            Part("intended purpose", _text(purpose), _yaml("project.intended_use")),
            _declared(gov, "provider"),
            _system(gov),
            _declared(gov, "previous_versions", "relation to previous versions"),
        ],
        "1(b)": [_declared(gov, "interactions")],
        "1(c)": [*_software(record), _declared(gov, "update_requirements", "update requirements")],
        "1(d)": [_declared(gov, "market_forms", "forms")],
        "1(e)": [_declared(gov, "deployment_hardware", "hardware")],
        "1(f)": [_declared(gov, "product_integration", "product")],
        "1(g)": [_declared(gov, "user_interface", "user interface")],
        "1(h)": [_declared(gov, "instructions_for_use", "instructions")],
        "2(a)": _development(record, lineage),
        "2(b)": [Part("model card", card, "describe the model in auditor.yaml (the model card's fields)")],
        "2(c)": [_declared(gov, "architecture"), _compute(record)],
        "2(d)": [_datasheets(lineage)],
        "2(e)": [_declared(gov, "human_oversight", "human oversight")],
        "2(f)": [_declared(gov, "predetermined_changes", "pre-determined changes")],
        "2(g)": _validation(record, fairness, card, signoffs),
        "2(h)": [_vulnerabilities(report), _declared(gov, "cybersecurity", "measures")],
        "3": [
            _group_accuracy(fairness),
            _limitations(record, lineage),
            _declared(gov, "human_oversight", "human oversight"),
        ],
        "4": [_declared(gov, "metrics_rationale", "rationale")],
        "5": [_declared(gov, "risk_management", "risk management")],
        "6": [_declared(gov, "lifecycle_changes", "changes")],
        "7": [_declared(gov, "standards")],
        "8": [_declared(gov, "declaration_of_conformity", "declaration")],
        "9": [_declared(gov, "post_market_monitoring", "plan")],
    }
    not_applicable = gov.not_applicable if gov else {}
    clauses = {c.id.removeprefix("Annex IV "): c for c in report.clauses if c.id.startswith("Annex IV ")}
    rows = tuple(
        dataclasses.replace(
            _row(item, TITLES[item], parts[item], not_applicable.get(item)),
            rules=_clause(clauses[item]) if item in clauses else "",
        )
        for item in TITLES
    )
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    return AnnexIV(
        document=_document(gov),
        rows=rows,
        counts=", ".join(f"{n} {s}" for s, n in counts.items() if n),
        note=_note(record, gov),
    )


def _clause(clause: ClauseRow) -> str:
    status = "not evidenced by a run" if clause.status == "not_evidenced" else clause.status.replace("_", " ")
    return f"{status} ({', '.join(clause.rules)})" if clause.rules else status


def _row(item: str, title: str, parts: list[Part], not_applicable: str | None) -> AnnexRow:
    if not_applicable is not None:
        return AnnexRow(item, title, "not applicable", f"declared not applicable: {clip(not_applicable, SHOWN)}", "")
    have = [p for p in parts if p.value]
    lack = [p for p in parts if not p.value or p.incomplete]
    status = "present" if not lack else "absent" if not have else "partial"
    evidence = "; ".join(f"{p.label}: {p.value}" for p in have) or "nothing recorded"
    supplies = list(dict.fromkeys(p.supply for p in lack if p.supply))
    fields = [s.removeprefix(YAML) for s in supplies if s.startswith(YAML)]
    others = [s for s in supplies if not s.startswith(YAML)]
    supply = "; ".join(([", ".join(fields)] if fields else []) + others)  # fields: the template says auditor.yaml's
    return AnnexRow(item, title, status, evidence, supply)


YAML = "auditor.yaml "


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _yaml(field: str) -> str:
    """A field of auditor.yaml that supplies the evidence; _row names several in one phrase."""
    return YAML + field


def _text(value: str | None) -> str | None:
    return clip(" ".join(value.split()), SHOWN) if value and value.strip() else None


def _declared(gov: Governance | None, field: str, label: str | None = None) -> Part:
    value = getattr(gov, field, None) if gov else None
    if isinstance(value, tuple):
        value = "; ".join(value)
    return Part(label or field.replace("_", " "), _text(value), _yaml(f"governance.{field}"))


def _system(gov: Governance | None) -> Part:
    name = gov.system_name if gov else None
    version = gov.system_version if gov else None
    shown = " ".join(v for v in (name, f"version {version}" if version else None) if v) or None
    return Part("system", _text(shown), _yaml("governance.system_version"), incomplete=bool(shown) and version is None)


def _software(record: RunRecord) -> list[Part]:
    packages = record.environment.packages
    declared = record.environment.declared
    found = (
        f"{_n(len(packages.distributions), 'installed package')} captured" if isinstance(packages, Packages) else None
    )
    if record.container is not None:
        found = f"{found or 'no packages captured'}; image {clip(record.container.image_ref, 80)}"
    pins = None
    if isinstance(declared, DeclaredRequirements) and declared.files:
        count = sum(len(f.pins) for f in declared.files)
        pins = f"{_n(count, 'declared requirement')} in {', '.join(clip(f.path, 60) for f in declared.files)}"
    return [
        Part("environment", found, RUN),
        Part("declared", pins, _yaml("environment.requirements")),
    ]


def _development(record: RunRecord, lineage: Lineage | None) -> list[Part]:
    steps = lineage.steps if lineage else ()
    shown = f"{_n(len(steps), 'pipeline step')} ({clip(', '.join(s.name for s in steps), 100)})" if steps else None
    source = record.source
    code: str | None = None
    incomplete = False
    if isinstance(source, GitSource) and source.commit:
        code = f"git commit {source.commit[:12]}" + (" with uncommitted changes" if source.dirty else "")
        incomplete = source.dirty
    elif isinstance(source, ReportedSource) and source.commit:
        code = f"commit {clip(source.commit, 40)} as {clip(source.tool, 40)} reported"
    return [
        Part("steps", shown, _yaml("steps")),
        Part("code", code, "commit the code in git and run again", incomplete=incomplete),
    ]


def _compute(record: RunRecord) -> Part:
    hw = record.hardware
    bits = []
    if isinstance(hw.cpu, CpuInfo):
        bits.append(f"{clip(hw.cpu.model or hw.cpu.architecture, 60)}, {hw.cpu.logical_cores} logical cores")
    if isinstance(hw.memory, MemoryInfo):
        bits.append(f"{hw.memory.total_bytes / 2**30:.1f} GiB memory")
    if isinstance(hw.gpus, Gpus):
        bits.append(f"{_n(len(hw.gpus.devices), 'GPU')}: {clip(', '.join(g.name for g in hw.gpus.devices), 80)}")
    elif not isinstance(hw.gpus, Missing):
        bits.append("no GPU")
    resources = record.resources
    used = "wall time not recorded" if resources.wall_s is None else f"{resources.wall_s:.1f} s wall"
    if resources.user_cpu_s is not None and resources.system_cpu_s is not None:
        used += f", {resources.user_cpu_s + resources.system_cpu_s:.1f} s CPU"
    captured = isinstance(hw.cpu, CpuInfo)
    return Part(
        "compute",
        "; ".join([*bits, used]) if bits else None,
        "run under auditor on the machine that trains (" + RUN.split(" (")[0] + ")",
        incomplete=not captured,
    )


def _datasheets(lineage: Lineage | None) -> Part:
    sheets = [(d.id, d.datasheet.documentation()) for d in (lineage.datasets if lineage else ()) if d.role != "output"]
    if not sheets:
        return Part("datasets", None, _yaml("datasets (the training data, with datasheets)"))
    done = sum(1 for _, state in sheets if state == "documented")
    lacking = [i for i, state in sheets if state != "documented"]
    given = any(state != "undocumented" for _, state in sheets)  # at least one field of one datasheet
    return Part(
        "datasheets",
        f"{done} of {len(sheets)} input and intermediate datasets documented" if given else None,
        _yaml(f"the datasheets of {clip(', '.join(lacking), 80)}"),
        incomplete=bool(lacking),
    )


def _validation(
    record: RunRecord, fairness: Fairness | None, card: str | None, signoffs: Sequence[SignOffStatus] | Missing
) -> list[Part]:
    tested = None
    if fairness is not None:
        attributes = ", ".join(" x ".join(a.attributes) for a in fairness.by_attributes)
        tested = f"{_n(fairness.rows, 'held-out prediction')}, by {clip(attributes, 80)}"
    metrics = f"{_n(len({m.name for m in record.metrics}), 'logged metric')}" if record.metrics else None
    performance = record.model_card.performance if isinstance(record.model_card, ModelCard) else None
    if performance is not None and not isinstance(performance, Missing):
        metrics = "performance computed by auditor, in the model card" + (f", {metrics}" if metrics else "")
    return [
        Part("tests", tested, _yaml("predictions")),
        Part("metrics", metrics, "declare the predictions file (predictions in auditor.yaml) or metrics_files"),
        _signed(signoffs),
    ]


def _signed(signoffs: Sequence[SignOffStatus] | Missing) -> Part:
    supply = "auditor approve RUN --sign KEY (a dated, signed test report)"
    if isinstance(signoffs, Missing):
        return Part("sign-off", None, supply)
    covering = [s for s in signoffs if s.covers and s.signoff is not None]
    verified = [s for s in covering if s.signature == "verified"]
    chosen = (verified or covering)[:1]
    if not chosen or chosen[0].signoff is None:
        return Part("sign-off", None, supply)
    signoff = chosen[0].signoff
    text = f"{clip(signoff.name, 60)} ({clip(signoff.role, 40)}), {signoff.decided_at.date().isoformat()}"
    if not verified:
        text += ", signature not verified"
    return Part("sign-off", text, supply, incomplete=not verified)


def _vulnerabilities(report: CheckReport) -> Part:
    v = report.vulnerabilities
    supply = "a vulnerability audit: auditor check with an advisory database (AUDITOR_ADVISORY_DB) or network"
    if v is None:
        return Part("vulnerability audit", None, supply)
    if v.error:
        return Part("vulnerability audit", None, f"{supply}; it failed: {clip(v.error, 100)}")
    counts = v.package_counts()
    text = f"{counts['clean']} clean, {counts['vulnerable']} vulnerable, {counts['not_audited']} not audited"
    text += f" ({v.source})"
    return Part("vulnerability audit", text, supply, incomplete=counts["not_audited"] > 0 or not v.packages)


def _group_accuracy(fairness: Fairness | None) -> Part:
    if fairness is None:
        return Part("accuracy per group", None, _yaml("predictions (with sensitive_columns)"))
    groups = [g for a in fairness.by_attributes if len(a.attributes) == 1 for g in a.groups if g.accuracy is not None]
    return Part("accuracy per group", f"{len(groups)} groups (see Fairness)" if groups else None, _yaml("predictions"))


def _limitations(record: RunRecord, lineage: Lineage | None) -> Part:
    card = record.model_card if isinstance(record.model_card, ModelCard) else None
    stated = [m.limitations for m in (card.models if card else ()) if m.limitations and m.limitations.strip()]
    if stated:
        return Part("limitations", _text("; ".join(stated)), "")
    data = [d.id for d in (lineage.datasets if lineage else ()) if d.datasheet.limitations]
    supply = "the model's limitations in auditor.yaml (models[].limitations)"
    if data:
        return Part("limitations", f"of the data only ({clip(', '.join(data), 80)})", supply, incomplete=True)
    return Part("limitations", None, supply)


def _model_card(record: RunRecord) -> str | None:
    """What the model card holds for the design specification: the model's type and its inputs."""
    card = record.model_card
    if not isinstance(card, ModelCard) or not card.models:
        return None
    described = []
    for m in card.models:
        kind = m.type.value if m.type else "type not declared or read"
        inputs = f", {_n(len(m.features), 'input feature')}" if m.features else ""
        described.append(f"{clip(m.id, 40)}: {clip(kind, 80)}{inputs}")
    return "; ".join(described) + " (see the model card)"


def _document(gov: Governance | None) -> tuple[DocumentItem, ...]:
    def item(label: str, *values: str | None) -> DocumentItem:
        shown = " ".join(v for v in values if v)
        return DocumentItem(label, clip(shown, SHOWN) if shown else "not declared", missing=not shown)

    def version(value: str | None) -> str | None:
        return f"version {value}" if value else None

    if gov is None:
        return ()  # the note says why there are no statements; four "not declared" rows would say it again
    tier = TIER_TEXT[gov.risk_tier] if gov.risk_tier else None
    return (
        item("Document", gov.document_id, version(gov.document_version)),
        item("Provider", gov.provider),
        item("System", gov.system_name, version(gov.system_version)),
        item("Risk tier", tier, f"({gov.risk_tier_reference})" if gov.risk_tier_reference else None),
    )


def _note(record: RunRecord, gov: Governance | None) -> str:
    if gov is None:
        why = record.governance.reason if isinstance(record.governance, Missing) else "not recorded with this run"
        if record.origin.kind == "ingested":
            return (
                f"No governance statements: {why}. auditor.yaml's governance section is kept in the record of an "
                "ingested run when auditor ingest applies it (given with --spec, or found in the source's project)."
            )
        return (
            f"No governance statements: {why}. auditor.yaml's governance section is kept in the record when "
            "auditor run captures a run; declare it and run again."
        )
    when = "ingested" if record.origin.kind == "ingested" else "captured"
    text = (
        f"Governance statements as auditor.yaml declared them when this run was {when} (the provider's word; "
        f"cut at {SHOWN} characters here, whole in the run record)."
    )
    if gov.risk_tier and gov.risk_tier != "high-risk":
        text += f" Declared {TIER_TEXT[gov.risk_tier]}: Annex IV binds high-risk systems; kept here as documentation."
    return text
