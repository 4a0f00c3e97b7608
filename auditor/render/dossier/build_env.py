"""Dossier content about the run itself: identity, source, platform, packages, hardware, resources."""

from __future__ import annotations

import posixpath
from collections import Counter

from auditor.capture.redact import clean_url
from auditor.check.checks.declared import declared_requirements
from auditor.check.report import CheckReport
from auditor.record import Missing, RunRecord
from auditor.record.code import Code
from auditor.record.findings import Finding
from auditor.record.models import (
    DeclaredRequirements,
    GitSource,
    Gpus,
    NoGpu,
    NotARepository,
    OsInfo,
    Packages,
    PythonInfo,
    ReportedSource,
)
from auditor.render.dossier.build_container import os_packages
from auditor.render.dossier.format import bytes_text, missing, unrecorded, when
from auditor.render.dossier.paths import shown_command, shown_folder, shown_path, shown_remote
from auditor.render.dossier.views import Item, PackageView
from auditor.render.summary import code_summary
from auditor.render.times import run_times


def identity(record: RunRecord) -> tuple[Item, ...]:
    ident, origin = record.identity, record.origin
    gap = unrecorded(origin.tool if origin.kind == "ingested" else None)
    exit_code = gap if ident.exit_code is None else str(ident.exit_code)
    who = f"{ident.user} on {ident.host}" if ident.user and ident.host else gap
    if bool(ident.user) != bool(ident.host):
        who = f"{ident.user} (host {gap})" if ident.user else f"on {ident.host} (user {gap})"
    root = repository_root(record)
    times = run_times(ident, origin.tool if origin.kind == "ingested" else None, when)
    command = shown_command(ident.argv, ident.cwd, root)
    items = [
        Item("Command", command or gap, missing=not command, mono=bool(command)),
        Item("Working folder", shown_folder(ident.cwd, root) if ident.cwd else gap, missing=not ident.cwd),
        Item("Started", times.started, missing=not times.known),
        Item("Ended", times.ended, missing=not (times.known and times.finished)),
        Item("Duration", times.duration, missing=not (times.known and times.finished)),
        *([Item("Times from", times.basis)] if times.basis else []),
        Item("Status", f"{ident.status}, exit code {exit_code}" + (f" ({ident.signal})" if ident.signal else "")),
        Item("User and host", who, missing=ident.user is None or ident.host is None),
    ]
    if origin.kind == "ingested":
        tool = origin.tool or "another tool"
        items += [
            Item("Recorded by", f"{tool} {origin.tool_version or '(version not recorded)'}: auditor did not run it"),
            Item("Ingested by", f"auditor {ident.auditor_version}"),
            Item("Ingested from", clean_url(origin.source_uri) if origin.source_uri else gap, mono=True),
            Item(f"{tool} run id", origin.source_run_id or gap, missing=origin.source_run_id is None, mono=True),
        ]
    else:
        how = f" ({origin.executor})" if origin.executor else ""
        items.append(Item("Recorded by", f"auditor {ident.auditor_version}, executed{how}"))
    if ident.error:
        items.append(Item("Error", ident.error))
    if record.links.reproduces:
        items.append(Item("Reproduces run", record.links.reproduces, mono=True))
    if record.links.reingests:  # an earlier ingest of the same source run read different evidence; both are kept
        items.append(Item("Re-reads the earlier ingest", record.links.reingests, mono=True))
    if record.container is not None:
        c = record.container
        items.append(Item("Container image", c.image_ref, mono=True))
        items.append(Item("Image id", c.image_id or "not recorded", missing=c.image_id is None, mono=True))
    return tuple(items)


def repository_root(record: RunRecord) -> str | None:
    return record.source.root if isinstance(record.source, GitSource) else None


def source(record: RunRecord) -> tuple[Item, ...]:
    src = record.source
    if isinstance(src, Missing):
        return (Item("Source", missing(src), missing=True),)
    if isinstance(src, NotARepository):
        return (Item("Source", f"{src.path} is not under version control", missing=True),)
    if isinstance(src, ReportedSource):
        gap = unrecorded(src.tool)
        return (
            Item("Source", f"as reported by {src.tool}, not verified by auditor", missing=True),
            Item("Repository", src.repo_url or gap, missing=src.repo_url is None, mono=src.repo_url is not None),
            Item("Commit", src.commit or gap, missing=src.commit is None, mono=src.commit is not None),
            Item("Branch", src.branch or gap, missing=src.branch is None),
            Item("Entry point", src.path or gap, missing=src.path is None, mono=src.path is not None),
        )
    assert isinstance(src, GitSource)  # noqa: S101 - the union has four members
    tree = "clean" if not src.dirty else f"uncommitted changes (diff sha256 {src.diff_sha256 or '?'})"
    return (
        Item("Repository", f"git, root folder {posixpath.basename(posixpath.normpath(src.root))}/"),
        Item("Commit", src.commit or "no commit yet", missing=src.commit is None, mono=True),
        Item("Branch", src.branch or "detached HEAD"),
        Item("Working tree", tree, missing=src.dirty),
        Item("Untracked files", str(src.untracked_count)),
        Item("Remote", shown_remote(src.remote_url), mono=shown_remote(src.remote_url) == src.remote_url),
    )


def platform(record: RunRecord) -> tuple[Item, ...]:
    env = record.environment
    items: list[Item] = []
    if isinstance(env.os, OsInfo):
        os_ = env.os
        items += [
            Item("Operating system", os_.pretty_name or os_.system),
            Item("Kernel", f"{os_.kernel} ({os_.architecture})"),
            Item("C library", os_.libc or "unknown"),
        ]
    else:
        items.append(Item("Operating system", missing(env.os), missing=True))
    if isinstance(env.python, PythonInfo):
        py = env.python
        venv = "virtualenv" if py.is_virtualenv else "no virtualenv"
        items += [
            Item("Python", f"{py.implementation} {py.version} ({venv})"),
            Item("Interpreter", shown_path(py.executable, record.identity.cwd, repository_root(record)), mono=True),
        ]
    else:
        items.append(Item("Python", missing(env.python), missing=True))
    kept = Counter(v.disposition for v in env.variables)
    if record.origin.kind == "ingested" and not env.variables:
        items.append(Item("Environment variables", unrecorded(record.origin.tool), missing=True))
    else:
        items.append(
            Item(
                "Environment variables",
                f"{len(env.variables)} recorded: {kept['kept']} kept, {kept['masked']} masked, "
                f"{kept['fingerprinted']} replaced by fingerprints",
            )
        )
    os_line, _, _ = os_packages(record.container)
    if os_line is not None:
        items.append(os_line)
    return tuple(items)


SOURCE_FAILED = "not audited: the vulnerability source failed (see Vulnerability audit)"


def packages(record: RunRecord, report: CheckReport) -> tuple[tuple[PackageView, ...], str]:
    found = record.environment.packages
    if not isinstance(found, Packages):
        return declared_packages(record, report, found)
    pins = {f.subject: f for f in report.findings if f.rule_id == "AUD-ENV-001"}
    vulns = {f.subject: f for f in report.findings if f.rule_id == "AUD-VULN-001"}
    # A vulnerability source that failed as a whole is one finding (subject "source:KIND"); its
    # packages show a short mark here and the cause is stated once, under "Vulnerability audit".
    failed_source = next((f for s, f in vulns.items() if s.startswith("source:")), None)
    rows = []
    for dist in sorted(found.distributions, key=lambda d: d.name.lower()):
        subject = f"package:{dist.name}"
        pin, vuln = pins.get(subject), vulns.get(subject)
        shared = vuln is None and failed_source is not None and not dist.shadowed
        rows.append(
            PackageView(
                name=dist.name,
                version=dist.version,
                install_kind=dist.install_kind + (" (shadowed)" if dist.shadowed else ""),
                pin=pin.message if pin else "not checked",
                pin_outcome=pin.outcome if pin else "not_applicable",
                vulns=SOURCE_FAILED if shared else vuln.message if vuln else "not checked",
                vuln_outcome=failed_source.outcome
                if shared and failed_source
                else vuln.outcome
                if vuln
                else "not_applicable",
                shared_cause=shared,
            )
        )
    counts = Counter("not audited (the source failed)" if r.shared_cause else r.vuln_outcome for r in rows)
    text = f"{len(rows)} distributions; vulnerabilities: " + ", ".join(
        f"{n} {o.replace('_', ' ')}" for o, n in sorted(counts.items())
    )
    return tuple(rows), text


def declared_packages(
    record: RunRecord, report: CheckReport, installed: Missing
) -> tuple[tuple[PackageView, ...], str]:
    """No installed packages: the declared requirements, one row each, marked declared (never installed)."""
    found = declared_requirements(record)
    if not found:
        return (), missing(installed)
    pins = _declared_findings(report, "AUD-ENV-001")
    vulns = _declared_findings(report, "AUD-VULN-001")
    rows = []
    for item in found:
        key = (f"package:{item.pin.name}", item.file, item.pin.line)
        pin, vuln = pins.get(key), vulns.get(key)
        rows.append(
            PackageView(
                name=item.pin.name,
                version=item.pin.version or item.written.removeprefix(item.pin.name) or "any version",
                install_kind=f"declared ({item.where})",
                pin=pin.message if pin else "not checked",
                pin_outcome=pin.outcome if pin else "not_applicable",
                vulns=vuln.message if vuln else "not checked",
                vuln_outcome=vuln.outcome if vuln else "not_applicable",
            )
        )
    counts = Counter(r.vuln_outcome for r in rows)
    text = (
        f"{len(rows)} declared requirements, shown as declared: what should be installed, not what was (the installed"
        f" packages: {missing(installed)}); vulnerabilities: "
        + ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in sorted(counts.items()))
    )
    return tuple(rows), text


def _declared_findings(report: CheckReport, rule: str) -> dict[tuple[str, str, int], Finding]:
    """A rule's findings about declared requirements, by package, file and line."""
    out = {}
    for f in report.findings:
        file, line = f.evidence.get("file"), f.evidence.get("line")
        if f.rule_id == rule and f.evidence.get("environment") == "declared" and isinstance(file, str):
            out[(f.subject, file, line if isinstance(line, int) else 0)] = f
    return out


def declared(record: RunRecord) -> tuple[Item, ...]:
    found = record.environment.declared
    if not isinstance(found, DeclaredRequirements):
        reason = missing(found) if isinstance(found, Missing) else "not recorded (schema 1.0)"
        return (Item("Declared requirements", reason, missing=True),)
    items = []
    for file in found.files:
        hashed = sum(1 for p in file.pins if p.hashes)
        text = f"{len(file.pins)} requirements, {hashed} with hashes; sha256 {file.sha256 or 'unreadable'}"
        if file.problems:
            text += f"; {len(file.problems)} unreadable line(s)"
        items.append(Item(file.path, text, missing=bool(file.problems) or file.sha256 is None, mono=False))
    return tuple(items) or (Item("Declared requirements", "no requirements file", missing=True),)


def hardware(record: RunRecord) -> tuple[tuple[Item, ...], tuple[tuple[str, ...], ...]]:
    hw = record.hardware
    items = []
    if isinstance(hw.cpu, Missing):
        items.append(Item("CPU", missing(hw.cpu), missing=True))
    else:
        cores = f"{hw.cpu.physical_cores or '?'} physical / {hw.cpu.logical_cores} logical cores"
        items.append(Item("CPU", f"{hw.cpu.model or 'unknown model'} ({hw.cpu.architecture}), {cores}"))
    if isinstance(hw.memory, Missing):
        items.append(Item("Memory", missing(hw.memory), missing=True))
    else:
        items.append(Item("Memory", bytes_text(hw.memory.total_bytes)))
    gpus: list[tuple[str, ...]] = []
    if isinstance(hw.gpus, Gpus):
        g = hw.gpus
        items.append(Item("GPU driver", f"{g.driver_version} (CUDA {g.cuda_driver_version or '?'}, via NVML)"))
        gpus = [
            (str(d.index), d.name, bytes_text(d.memory_total_bytes), d.compute_capability or "?", d.uuid)
            for d in g.devices
        ]
    elif isinstance(hw.gpus, NoGpu):
        items.append(Item("GPUs", f"none ({hw.gpus.reason})"))
    else:
        items.append(Item("GPUs", missing(hw.gpus), missing=True))
    return tuple(items), tuple(gpus)


def resources(record: RunRecord) -> tuple[Item, ...]:
    r = record.resources
    gap = unrecorded(record.origin.tool) if record.origin.kind == "ingested" else "not measured"
    cpu = gap
    if r.user_cpu_s is not None and r.system_cpu_s is not None:
        cpu = f"{r.user_cpu_s:.1f} s user + {r.system_cpu_s:.1f} s system"
    return (
        Item("Wall time", gap if r.wall_s is None else f"{r.wall_s:.1f} s", missing=r.wall_s is None),
        Item("CPU time", cpu, missing=r.user_cpu_s is None),
        Item(
            "Peak memory (largest process)",
            bytes_text(r.peak_rss_bytes) if r.peak_rss_bytes else gap,
            missing=not r.peak_rss_bytes,
        ),
    )


LANGUAGE_NAMES = {"python": "Python", "notebook": "Jupyter notebook", "sql": "SQL", "r": "R", "shell": "shell"}


def code(record: RunRecord) -> tuple[Item, ...]:
    text, absent = code_summary(record)
    return (Item("Code executed", text, missing=absent),)


def code_files(record: RunRecord) -> tuple[tuple[str, str, str], ...]:
    """(path, language, shortened SHA-256) of each code file the run executed."""
    if not isinstance(record.code, Code):
        return ()
    return tuple((f.path, LANGUAGE_NAMES.get(f.language, "other"), f.sha256[:12] + "…") for f in record.code.files)


def code_notes(record: RunRecord) -> tuple[str, ...]:
    return record.code.notes if isinstance(record.code, Code) else ()
