"""Plain-text views of run records for the terminal. Pure: records in, text out.

Everything shown comes from a run and is untrusted: control characters are
escaped so a hostile package name or argument cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.index.summary import RunSummary
from auditor.record import RunRecord, record_digest
from auditor.record.fairness import Estimate, Fairness
from auditor.record.lineage import AbsentPath, ContentHash, Hash, IdentityHint, Lineage
from auditor.record.models import (
    DeclaredRequirements,
    Gpus,
    LogFile,
    Missing,
    NoGpu,
    NotARepository,
    ReportedSource,
)
from auditor.render.bounds import MAX_ROWS, MAX_TERMINAL_CHARS, bounded, cut, first
from auditor.render.times import run_times, short_duration
from auditor.text import (
    NOT_APPLICABLE,
    clip,
    command_line,
    count,
    not_captured,
    or_unknown,
    param_text,
    rate,
    table,
)


def render_runs(runs: Sequence[RunSummary], filtered: bool = False) -> str:
    """The table `auditor runs` prints, from the runs' summaries (oldest first)."""
    rows = []
    for run in runs:
        rows.append(
            [
                run.run_id,
                run.started_at.strftime("%Y-%m-%d %H:%M:%SZ") if run.time_basis != "file_mtime" else "not recorded",
                run.status,
                str(run.exit_code) if run.exit_code is not None else NOT_APPLICABLE,
                _duration(run),
                bounded(clip(run.project, 24)),
                clip(_label(run), 48),
            ]
        )
    if not rows:
        return "no runs match these filters" if filtered else "no runs in this store yet"
    return table(["RUN", "STARTED (UTC)", "STATUS", "EXIT", "TIME", "PROJECT", "NAME / COMMAND"], rows)


def _label(run: RunSummary) -> str:
    if run.name:
        return bounded(run.name)
    if run.argv:
        return command_line(run.argv)
    return f"(ingested from {run.tool})" if run.origin == "ingested" and run.tool else ""


def _duration(run: RunSummary) -> str:
    """How long the run took, when its times are its own: commit dates bound a DVC run, they do not time it."""
    if run.duration_s is None or run.time_basis in ("git_commit", "file_mtime"):
        return NOT_APPLICABLE
    return short_duration(run.duration_s)


def _missing(section: Missing) -> str:
    return bounded(not_captured(section.reason))


def _who(user: str | None, host: str | None, gap: str) -> str:
    if user is None and host is None:
        return gap
    return f"{bounded(user or gap)} on {bounded(host or gap)}"


def _times(record: RunRecord) -> list[str]:
    times = run_times(record.identity, record.origin.tool, lambda moment: moment.isoformat())
    lines = [f"  started     {times.started}  ended {times.ended}  (duration {times.duration})"]
    return lines + ([f"  times       {bounded(times.basis)}"] if times.basis else [])


def render_summary(record: RunRecord, reproductions: Sequence[RunRecord] = ()) -> str:
    ident, env, hw = record.identity, record.environment, record.hardware
    gap = f"not recorded by {record.origin.tool}" if record.origin.tool else "not recorded"
    lines = [
        f"Run {ident.run_id}  ({ident.status}, exit {or_unknown(ident.exit_code)}"
        f"{', ' + ident.signal if ident.signal else ''})",
        f"  project     {bounded(ident.project)}" + (f"  name: {bounded(ident.name)}" if ident.name else ""),
        f"  command     {cut(command_line(ident.argv), MAX_TERMINAL_CHARS) if ident.argv else gap}",
        f"  directory   {bounded(ident.cwd) if ident.cwd else gap}",
        *_times(record),
        f"  by          {_who(ident.user, ident.host, gap)}, auditor {bounded(ident.auditor_version)}",
        f"  record      sha256:{record_digest(record)}",
    ]
    if ident.error:
        lines.append(f"  error       {bounded(ident.error)}")
    lines += _origin(record)
    lines += ["", "Source", "  " + _source(record), "  code        " + bounded(code_summary(record)[0])]
    lines += ["", "Environment"]
    lines.append(
        "  os          "
        + (
            _missing(env.os)
            if isinstance(env.os, Missing)
            else bounded(
                f"{env.os.pretty_name or env.os.system}, kernel {env.os.kernel}, {env.os.architecture}, "
                f"{env.os.libc or 'libc unknown'}"
            )
        )
    )
    lines.append(
        "  python      "
        + (
            _missing(env.python)
            if isinstance(env.python, Missing)
            else bounded(
                f"{env.python.implementation} {env.python.version} at {env.python.executable}"
                f"{' (virtualenv)' if env.python.is_virtualenv else ''}; found via {env.python.resolved_from}"
            )
        )
    )
    if isinstance(env.packages, Missing):
        lines.append("  packages    " + _missing(env.packages))
    else:
        dists = env.packages.distributions
        kinds: dict[str, int] = {}
        for d in dists:
            kinds[d.install_kind] = kinds.get(d.install_kind, 0) + 1
        breakdown = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        lines.append(f"  packages    {len(dists)} distributions ({breakdown})")
    if env.declared is not None:
        lines.append("  declared    " + _declared(env.declared))
    if not isinstance(env.timezone, Missing):
        lines.append(f"  timezone    {bounded(env.timezone.name or 'unknown')} (UTC{env.timezone.utc_offset})")
    kept = sum(1 for v in env.variables if v.disposition != "fingerprinted")
    masked = sum(1 for v in env.variables if v.disposition == "masked")
    lines.append(
        f"  variables   {len(env.variables)} ({kept} kept, {masked} with secrets masked, "
        f"{len(env.variables) - kept} fingerprinted)"
    )
    lines += ["", "Hardware"]
    lines.append(
        "  cpu         "
        + (
            _missing(hw.cpu)
            if isinstance(hw.cpu, Missing)
            else bounded(
                f"{hw.cpu.model or 'unknown model'}, {hw.cpu.physical_cores or '?'} physical / "
                f"{hw.cpu.logical_cores} logical cores"
            )
        )
    )
    lines.append(
        "  memory      "
        + (_missing(hw.memory) if isinstance(hw.memory, Missing) else f"{hw.memory.total_bytes / 2**30:.1f} GiB")
    )
    lines.append("  gpus        " + _gpus(hw.gpus))
    res = record.resources
    cpu_s = (
        None if res.user_cpu_s is None and res.system_cpu_s is None else (res.user_cpu_s or 0) + (res.system_cpu_s or 0)
    )
    cpu = "not recorded" if cpu_s is None else f"{cpu_s:.2f} s"
    peak = f"{res.peak_rss_bytes / 2**20:.0f} MiB" if res.peak_rss_bytes is not None else "unknown"
    wall = "not recorded" if res.wall_s is None else f"{res.wall_s:.2f} s"
    if res.wall_s is not None and record.origin.kind == "ingested":
        wall += " (from the tool's start and end times)"
    lines += ["", "Resources", f"  wall {wall}, cpu {cpu}, peak memory {peak}"]
    lines += ["", "Outputs", *(_log(name, log) for name, log in _logs(record))]
    lines += [f"  note        {bounded(n)}" for n in record.outputs.notes[:MAX_ROWS]]
    if record.metrics or record.params:
        lines += ["", "Logged"]
        params, params_note = first(list(record.params.items()), "params")
        lines += [f"  param       {bounded(k)} = {bounded(param_text(v))}" for k, v in params]
        lines += [f"  (param      {params_note})"] if params_note else []
        metrics, metrics_note = first(list({m.name: m.value for m in record.metrics}.items()), "metrics")
        lines += [f"  metric      {bounded(k)} = {v:g}" for k, v in metrics]
        lines += [f"  (metric     {metrics_note})"] if metrics_note else []
    if record.lineage is not None:
        lines += ["", *render_lineage(record.lineage, ingested=record.origin.kind == "ingested")]
    if record.fairness is not None:
        lines += ["", *render_fairness(record.fairness)]
    from auditor.render.reproduction import render_reproduction, render_reproductions

    if record.reproduction is not None:
        lines += ["", "Reproduction of " + record.reproduction.original_run_id, *render_reproduction(record)[1:]]
    if record.origin.kind == "executed":
        lines += ["", *render_reproductions(reproductions)]
    return "\n".join(lines)


def _origin(record: RunRecord) -> list[str]:
    origin, container = record.origin, record.container
    lines = []
    if origin.kind == "ingested":
        lines.append(
            f"  ingested    from {bounded(' '.join(filter(None, (origin.tool, origin.tool_version))))} "
            f"{bounded(origin.source_uri or '')} run {bounded(origin.source_run_id or 'not named')}"
        )
        if record.links.reingests:
            lines.append(f"  re-reads    {bounded(record.links.reingests)} (an earlier ingest of this source run)")
        if origin.not_captured:
            lines.append(f"  not captured by {bounded(origin.tool)}: {bounded(', '.join(origin.not_captured))}")
    if container is not None:
        digest = container.repo_digests[0] if container.repo_digests else "no repository digest"
        lines.append(
            f"  container   {bounded(container.image_ref)} = {bounded(container.image_id or '?')} ({bounded(digest)})"
        )
        lines.append(f"  engine      {bounded(container.engine or '?')} {bounded(container.engine_version or '')}")
        config = container.config
        if config is not None:
            limits = [f"network {config.network}"]
            limits += [f"cpus {config.cpus:g}"] if config.cpus else []
            limits += [f"memory {config.memory_bytes / 2**20:.0f} MiB"] if config.memory_bytes else []
            limits += [f"gpus {config.gpus}"] if config.gpus else []
            lines.append(f"  limits      {bounded(', '.join(limits))}")
            for m in config.mounts:
                lines.append(f"  mount       {bounded(m.source)} ({'read-only' if m.read_only else 'writable'})")
        packages = container.system_packages
        if isinstance(packages, Missing):
            lines.append(f"  os packages {_missing(packages)}")
        elif packages is not None:
            lines.append(f"  os packages {len(packages.packages)} ({packages.manager})")
    return lines


def _logs(record: RunRecord) -> tuple[tuple[str, LogFile | None], ...]:
    return (("stdout", record.outputs.stdout), ("stderr", record.outputs.stderr))


def _log(name: str, log: LogFile | None) -> str:
    if log is None:
        return f"  {name:<11} not recorded"
    return f"  {name:<11} {log.path} ({log.bytes} bytes, {log.redactions} masked)"


def _source(record: RunRecord) -> str:
    src = record.source
    if isinstance(src, NotARepository):
        return f"not a git repository ({bounded(src.path)})"
    if isinstance(src, Missing):
        return _missing(src)
    if isinstance(src, ReportedSource):
        commit = src.commit[:12] if src.commit else "no commit"
        return f"reported by {bounded(src.tool)} (not verified): {bounded(src.repo_url or 'no repository')} {commit}"
    state = (
        f"dirty (diff sha256:{src.diff_sha256[:12]}…)"
        if src.dirty and src.diff_sha256
        else ("dirty" if src.dirty else "clean")
    )
    where = bounded(src.remote_url) if src.remote_url else "no remote"
    commit = src.commit[:12] if src.commit else "(no commits)"
    return f"git {commit} on {bounded(src.branch or 'detached HEAD')}, {state}, {where}"


def code_summary(record: RunRecord) -> tuple[str, bool]:
    """The code section in a few words (show and the dossier), and whether it is missing."""
    code = record.code
    if code is None:
        old = record.schema_version < "1.6"  # "1.0" .. "1.6": one digit after the point
        return (
            "not recorded" + (f" (record schema {record.schema_version} predates code capture)" if old else ""),
            True,
        )
    if isinstance(code, Missing):
        return _missing(code), True
    noted = f"; {count(len(code.notes), 'note')}" if code.notes else ""
    return f"{count(len(code.files), 'file')} fingerprinted ({code.method}){noted}", not code.files


def _declared(declared: DeclaredRequirements | Missing) -> str:
    if isinstance(declared, Missing):
        return _missing(declared)
    parts = []
    for f in declared.files:
        exact = sum(1 for p in f.pins if p.version)
        hashed = sum(1 for p in f.pins if p.hashes)
        problems = f", {len(f.problems)} unreadable lines" if f.problems else ""
        parts.append(f"{bounded(f.path)}: {len(f.pins)} requirements ({exact} pinned, {hashed} hashed{problems})")
    return "; ".join(parts)


def _gpus(gpus: Gpus | NoGpu | Missing) -> str:
    if isinstance(gpus, NoGpu):
        return f"no GPU detected ({bounded(gpus.reason)})"
    if isinstance(gpus, Missing):
        return _missing(gpus)
    names = ", ".join(bounded(f"{g.name} ({g.memory_total_bytes / 2**30:.0f} GiB)") for g in gpus.devices)
    return f"{names}; driver {bounded(gpus.driver_version)}, CUDA {bounded(gpus.cuda_driver_version or '?')}"


def _hash(value: Hash | None) -> str:
    if value is None:
        return NOT_APPLICABLE
    if isinstance(value, ContentHash):
        return f"sha256:{value.sha256[:12]}… ({value.kind}, {len(value.files)} files, {value.size} bytes)"
    if isinstance(value, AbsentPath):
        return "ABSENT"
    if isinstance(value, IdentityHint):
        hint = f"{bounded(value.tool)} {bounded(value.algorithm)} {bounded(value.value[:16])}"
        return f"identity hint only ({hint}), not an integrity hash"
    return f"not hashed: {bounded(value.reason)}"


def render_lineage(lineage: Lineage | Missing, *, ingested: bool = False) -> list[str]:
    if isinstance(lineage, Missing):
        return ["Lineage", "  " + _missing(lineage)]
    spec = bounded(lineage.spec_path) if lineage.spec_path else "no auditor.yaml (run `auditor init`)"
    if ingested and not lineage.spec_path:  # whether the project has one now is not the record's to say
        spec = (
            "none applied at ingest (auditor ingest applies the one given with --spec or found in the source's project)"
        )
    lines = ["Lineage", f"  spec        {spec}"]
    rows = []
    datasets, datasets_note = first(lineage.datasets, "datasets")
    models, models_note = first(lineage.models, "models")
    for d in datasets:
        gaps = d.datasheet.missing_fields()
        shown = d.before if d.role == "input" else d.after
        rows.append([bounded(d.id), d.role, "yes" if not gaps else "missing " + ", ".join(gaps), _hash(shown)])
    for m in models:
        rows.append([bounded(m.id), "model", NOT_APPLICABLE, _hash(m.after)])
    if rows:
        lines += ["  " + line for line in table(["DATASET", "ROLE", "DOCUMENTED", "CONTENT"], rows).splitlines()]
    lines += [f"  ({note})" for note in (datasets_note, models_note) if note]
    unmatched, unmatched_note = first(lineage.unmatched, "unmatched auditor.yaml entries")
    lines += [f"  UNMATCHED   {bounded(entry)}" for entry in unmatched]
    lines += [f"  ({unmatched_note})"] if unmatched_note else []
    observed = lineage.observed
    if isinstance(observed, Missing):
        lines.append("  observed    " + _missing(observed))
        return lines
    undeclared = [f for f in observed.files if "undeclared_read" in f.verdicts]
    written = [f for f in observed.files if f.written]
    declared_read = sorted({f.dataset for f in observed.files if f.dataset and "declared_read" in f.verdicts})
    lines.append(
        f"  observed    {observed.method}, {observed.processes} Python processes; "
        f"{sum(observed.environment_reads.values())} environment and code reads summarised"
    )
    lines.append(f"  read        {_listed(declared_read, 'datasets') or 'no declared dataset'}")
    if observed.declared_unread:
        lines.append(f"  NOT READ    {_listed(observed.declared_unread, 'datasets')} (declared inputs)")
    shown_undeclared, undeclared_note = first(undeclared, "undeclared reads")
    for access in shown_undeclared:
        lines.append(f"  UNDECLARED  {bounded(access.path)} was read but is not declared")
    lines += [f"  ({undeclared_note})"] if undeclared_note else []
    lines.append(
        f"  written     {len(written)} files"
        + (
            ": " + ", ".join(bounded(f.path) for f in written[:6]) + (" …" if len(written) > 6 else "")
            if written
            else ""
        )
    )
    notes, notes_note = first(lineage.notes, "notes")
    lines += [f"  note        {bounded(n)}" for n in notes]
    lines += [f"  ({notes_note})"] if notes_note else []
    return lines


def _listed(items: Sequence[str], noun: str) -> str:
    """Comma-separated, at most MAX_ROWS of them, with the note when there are more."""
    some, note = first(items, noun)
    return ", ".join(bounded(i) for i in some) + (f" ({note})" if note else "")


def _estimate(e: Estimate) -> str:
    """A signed difference (or ratio) with its interval: '-0.020 [-0.118, 0.076]'."""
    if e.value is None:
        return "n/a"
    interval = f" [{e.ci_low:.3f}, {e.ci_high:.3f}]" if e.ci_low is not None and e.ci_high is not None else ""
    return f"{e.value:.3f}{interval}"


def render_fairness(fairness: Fairness | Missing) -> list[str]:
    if isinstance(fairness, Missing):
        return ["Fairness", "  " + _missing(fairness)]
    lines = [
        "Fairness",
        f"  predictions {bounded(fairness.predictions_path)} ({fairness.rows} rows, favourable = "
        f"{bounded(fairness.favourable_outcome)}, minimum group size {fairness.min_group_size})",
    ]
    for block in fairness.by_attributes:
        lines.append("")
        rows = [
            [
                bounded(" & ".join(g.group)) + (" (small)" if g.small else ""),
                str(g.count),
                rate(g.base_rate),
                rate(g.selection_rate),
                rate(g.true_positive_rate),
                rate(g.false_positive_rate),
                rate(g.precision),
                rate(g.accuracy),
            ]
            for g in block.groups[:MAX_ROWS]
        ]
        header = [
            "GROUP (" + bounded(" & ".join(block.attributes)) + ")",
            "N",
            "BASE",
            "SELECTION",
            "TPR",
            "FPR",
            "PPV",
            "ACCURACY",
        ]
        lines += ["  " + line for line in table(header, rows).splitlines()]
        lines += [f"  ({first(block.groups, 'groups')[1]})"] if len(block.groups) > MAX_ROWS else []
        if block.reference is not None:
            basis = block.reference_note or block.reference_basis or ""
            lines.append(f"  reference   {bounded(' & '.join(block.reference))} ({bounded(basis)})")
        for c in (block.comparisons or ())[:MAX_ROWS]:
            parts = [
                f"{label} {_estimate(e)}"
                for label, e in (
                    ("selection", c.selection_rate_difference),
                    ("TPR", c.true_positive_rate_difference),
                    ("FPR", c.false_positive_rate_difference),
                    ("ratio", c.selection_rate_ratio),
                )
            ]
            lines.append(f"  vs ref      {bounded(' & '.join(c.group))}: " + "; ".join(parts))
        for d in block.disparities:
            interval = f"  [{rate(d.ci_low)}, {rate(d.ci_high)}]" if d.ci_low is not None else ""
            lines.append(f"  {d.metric:<30} {rate(d.value)}{interval}")
        lines += [f"  issue       {bounded(i)}" for i in block.issues]
    lines += [f"  issue       {bounded(i)}" for i in fairness.issues]
    return lines
