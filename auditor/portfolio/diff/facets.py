"""The code, environment, hardware and params sections: facts of the two records side by side."""

from __future__ import annotations

import json

from packaging.utils import canonicalize_name

from auditor.portfolio.diff.compare import fact, keyed, recorded
from auditor.portfolio.diff.model import Change, Section, section
from auditor.record import RunRecord
from auditor.record.code import Code
from auditor.record.governance import Governance
from auditor.record.lineage import Lineage
from auditor.record.model_card import ModelCard
from auditor.record.models import (
    Container,
    CpuInfo,
    DeclaredRequirements,
    GitSource,
    Gpus,
    MemoryInfo,
    NotARepository,
    OsInfo,
    Packages,
    PythonInfo,
    ReportedSource,
)
from auditor.text import param_text


def _source(record: RunRecord) -> dict[str, str | None] | None:
    src = record.source
    if isinstance(src, GitSource):
        return {
            "commit": src.commit,
            "branch": src.branch,
            "repository": src.remote_url,
            "uncommitted changes": "yes" if src.dirty else "no",
            "uncommitted changes digest": src.diff_sha256,
        }
    if isinstance(src, ReportedSource):
        return {"commit": src.commit, "branch": src.branch, "repository": src.repo_url}
    if isinstance(src, NotARepository):
        return {"repository": "not a git repository"}
    return None


def code_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    if recorded(changes, "source", a.source, b.source):
        sa, sb = _source(a) or {}, _source(b) or {}
        for key in ("commit", "branch", "repository", "uncommitted changes", "uncommitted changes digest"):
            if key in sa or key in sb:
                fact(changes, key, sa.get(key), sb.get(key))
    if recorded(changes, "code files", a.code, b.code) and isinstance(a.code, Code) and isinstance(b.code, Code):
        fa = {f.path: f.sha256 for f in a.code.files}
        fb = {f.path: f.sha256 for f in b.code.files}
        keyed(
            changes, "code file", {k: f"sha256:{v}" for k, v in fa.items()}, {k: f"sha256:{v}" for k, v in fb.items()}
        )
    return section("code", changes)


def _packages(p: Packages) -> dict[str, str]:
    return {canonicalize_name(d.name): d.version for d in p.distributions}


def _declared(d: DeclaredRequirements) -> dict[str, str]:
    return {f"{canonicalize_name(p.name)} ({f.path})": p.specifier or (p.url or "") for f in d.files for p in f.pins}


def _os(o: OsInfo) -> str:
    return f"{o.pretty_name or o.system}, kernel {o.kernel}, {o.architecture}"


def environment_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    ea, eb = a.environment, b.environment
    if recorded(changes, "operating system", ea.os, eb.os) and isinstance(ea.os, OsInfo) and isinstance(eb.os, OsInfo):
        fact(changes, "operating system", _os(ea.os), _os(eb.os))
    if (
        recorded(changes, "interpreter", ea.python, eb.python)
        and isinstance(ea.python, PythonInfo)
        and isinstance(eb.python, PythonInfo)
    ):
        fact(
            changes,
            "interpreter",
            f"{ea.python.implementation} {ea.python.version}",
            f"{eb.python.implementation} {eb.python.version}",
        )
    if (
        recorded(changes, "installed packages", ea.packages, eb.packages)
        and isinstance(ea.packages, Packages)
        and isinstance(eb.packages, Packages)
    ):
        keyed(changes, "package", _packages(ea.packages), _packages(eb.packages))
    da, db = ea.declared, eb.declared
    if isinstance(da, DeclaredRequirements) and isinstance(db, DeclaredRequirements):
        keyed(changes, "declared requirement", _declared(da), _declared(db))
    ca, cb = a.container, b.container
    fact(
        changes,
        "container image",
        ca.image_ref if ca else "none (not run in a container)",
        cb.image_ref if cb else "none (not run in a container)",
    )
    if isinstance(ca, Container) and isinstance(cb, Container):
        fact(changes, "container image id", ca.image_id, cb.image_id)
        fact(changes, "container image digests", ", ".join(ca.repo_digests) or None, ", ".join(cb.repo_digests) or None)
    return section("environment", changes)


def _gpus(g: object) -> str:
    if isinstance(g, Gpus):
        names = ", ".join(d.name for d in g.devices)
        return f"{len(g.devices)} x ({names}), driver {g.driver_version}"
    return "none detected"


def hardware_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    ha, hb = a.hardware, b.hardware
    if recorded(changes, "CPU", ha.cpu, hb.cpu) and isinstance(ha.cpu, CpuInfo) and isinstance(hb.cpu, CpuInfo):
        fact(changes, "CPU model", ha.cpu.model, hb.cpu.model)
        fact(
            changes,
            "CPU cores (physical/logical)",
            f"{ha.cpu.physical_cores or '?'}/{ha.cpu.logical_cores}",
            f"{hb.cpu.physical_cores or '?'}/{hb.cpu.logical_cores}",
        )
    if (
        recorded(changes, "memory", ha.memory, hb.memory)
        and isinstance(ha.memory, MemoryInfo)
        and isinstance(hb.memory, MemoryInfo)
    ):
        fact(changes, "memory", f"{ha.memory.total_bytes / 2**30:.1f} GiB", f"{hb.memory.total_bytes / 2**30:.1f} GiB")
    if recorded(changes, "GPUs", ha.gpus, hb.gpus):
        fact(changes, "GPUs", _gpus(ha.gpus), _gpus(hb.gpus))
    return section("hardware", changes)


def _param(value: object) -> str:
    """As `show` writes a param (JSON's words); text that would read as another type says so."""
    text = param_text(value)
    if isinstance(value, str) and json.dumps(value) != json.dumps(_parsed(value)):
        return f"{text} (text)"
    return text


def _parsed(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def params_of(record: RunRecord) -> dict[str, str]:
    """Logged params by name, and the declared params files' values as "NAME (FILE)"."""
    found = {k: _param(v) for k, v in record.params.items()}
    card = record.model_card
    if isinstance(card, ModelCard):
        for declared in card.params_files:
            for key, value in declared.values.items():
                found[f"{key} ({declared.path})"] = _param(value)
    return found


def params_section(a: RunRecord, b: RunRecord) -> Section:
    changes: list[Change] = []
    pa, pb = params_of(a), params_of(b)
    keyed(changes, "param", pa, pb)
    notes = () if pa or pb else ("neither run logged or declared parameters",)
    return section("params", changes, notes)


def _governance(record: RunRecord) -> dict[str, str]:
    gov = record.governance
    if not isinstance(gov, Governance):
        return {}
    data = gov.model_dump(mode="json", exclude={"state"}, exclude_defaults=True)
    return {k: json.dumps(v, sort_keys=True) if not isinstance(v, str) else v for k, v in data.items()}


def project_section(a: RunRecord, b: RunRecord) -> Section:
    """Who the run is for and what it is for: the declared project and governance statements."""
    changes: list[Change] = []
    fact(changes, "project", a.identity.project, b.identity.project)
    la, lb = a.lineage, b.lineage
    if (
        recorded(changes, "declared project (auditor.yaml)", la, lb)
        and isinstance(la, Lineage)
        and isinstance(lb, Lineage)
    ):
        fact(changes, "owner", la.project.owner, lb.project.owner)
        fact(changes, "intended use", la.project.intended_use, lb.project.intended_use)
        fact(
            changes,
            "out-of-scope uses",
            "; ".join(la.project.out_of_scope_uses) or None,
            "; ".join(lb.project.out_of_scope_uses) or None,
        )
    ga, gb = a.governance, b.governance
    if isinstance(ga, Governance) or isinstance(gb, Governance):
        keyed(changes, "governance", _governance(a), _governance(b))
    return section("project", changes)
