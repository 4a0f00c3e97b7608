"""`auditor ingest wandb`: W&B runs read from their local folders, without W&B's code.

Why the `.wandb` file is read directly: in offline mode (and until a run is synced) it is
the only place config, history, summary, metadata and artifacts are kept; W&B's own readers
live in its Go service, and running W&B code on a folder someone handed over would execute
what that folder's W&B version does. auditor reads the file's framing
(auditor.ingest.wandb.logfile) and protobuf records (auditor.ingest.wandb.wire, .records)
itself, bounded and without a dependency.

How W&B's facts map:
- config -> params. A string is kept exactly as logged; numbers and booleans as such; lists,
  objects and non-finite numbers as W&B's JSON text of them (`[64,32]`: W&B's spelling).
  Nested keys are joined with dots; W&B's own `_wandb` entry is left out.
- history rows -> metrics (step = W&B's `_step`, time = its `_timestamp`); summary values that
  are numbers and never in the history -> metrics without a step; every summary value is
  also kept in the tag `wandb.summary.KEY`, verbatim (W&B's summary is what its UI shows).
- W&B's description of the machine (OS, Python, CPU, memory, GPUs, CUDA) -> tags `wandb.*`:
  reported by W&B, not observed by auditor, so the record's environment and hardware stay
  "not captured". W&B's run notes, tags, group and job type are tags too.
- files/requirements.txt -> the run's declared environment. W&B writes it from the packages
  installed where the run ran; auditor saw none of them installed, so it is labelled declared.
- logged artifacts -> datasets (outputs), or models when W&B's type says model; used artifacts
  -> input datasets. Their digests are MD5s W&B computed: identity hints, never integrity
  hashes, since auditor did not read the bytes.
- the exit record -> exit code and status (0 succeeded, anything else failed), the end time
  from its runtime. A run with no exit record is "unfinished", with no end time: still going,
  or killed before W&B could write one; auditor cannot tell which.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.capture.redact import clean_url
from auditor.errors import IngestError
from auditor.ingest.ingested import Ingested
from auditor.ingest.wandb import TOOL
from auditor.ingest.wandb.artifacts import datasets_and_models
from auditor.ingest.wandb.folders import find_runs, read_run, requirements, shown
from auditor.ingest.wandb.raw import Key, RawRun
from auditor.record.models import DeclaredRequirements, Metric, ParamValue, ReportedSource, RunStatus
from auditor.text import clip

MAX_TAG = 4000
NO_RUN_RECORD = (
    "holds no run record: the process ended before W&B wrote its first 32 KiB block (W&B writes whole"
    " blocks while a run goes on), so there is nothing to ingest"
)
DECLARED = (
    "files/requirements.txt lists the packages W&B found installed where the run ran: kept as the run's"
    " declared environment, not observed by auditor"
)
REPORTED = (
    "W&B's description of the machine (host, OS, Python, CPU, memory, GPUs) is kept in the wandb.* tags:"
    " reported by W&B, not observed by auditor"
)
ENVIRONMENT_TAGS = (
    "os", "python", "docker", "program", "code_path", "executable", "cpu_model", "cpu_count",
    "cpu_count_logical", "memory_bytes", "gpu_type", "gpu_count", "cuda_version",
)  # fmt: skip


def read(source: Path, *, run_id: str | None = None) -> list[Ingested]:
    folders = find_runs(source)
    if run_id is not None:
        folders = [f for f in folders if f.name.endswith(f"-{run_id}")]
    root = source if source.is_dir() and source not in folders else source.parent
    out, empty = [], []
    for folder in folders:
        raw = read_run(folder)
        if raw.run_id is None or raw.started_at is None:
            empty.append(raw.where)
            continue
        out.append(ingested(raw, raw.run_id, raw.started_at, source, root))
    if empty and not out:
        raise IngestError(empty[0], None, NO_RUN_RECORD)
    out.sort(key=lambda r: (r.started_at, r.source_run_id or ""))
    if empty:
        skipped = "; ".join(str(p) for p in empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        first = out[0]
        first.notes = (*first.notes, f"not ingested, no run record (killed before W&B wrote one): {skipped}")
    return out


def ingested(raw: RawRun, run_id: str, started: datetime, source: Path, root: Path) -> Ingested:
    notes: list[str] = []
    metrics, history_names, latest = _history(raw, started, notes)
    ended = None
    status: RunStatus = "unfinished"
    error = None
    if raw.exited:
        ended = started + timedelta(seconds=max(raw.runtime_s or 0, 0))
        ended = max(ended, latest) if latest and latest - started < timedelta(days=3650) else ended
        status = "succeeded" if raw.exit_code == 0 else "failed"
        if status == "failed":
            last = raw.stderr_tail[-1].strip() if raw.stderr_tail else ""
            error = last[:500] or f"W&B recorded exit code {raw.exit_code}"
    else:
        notes.append(
            "no exit record: the run had not ended when W&B last wrote its file (still going, or its process"
            " was killed); it is recorded as unfinished"
        )
    if raw.cut_at is not None:
        notes.append(
            f"{raw.where.name} ends inside a record at offset {raw.cut_at} (W&B was still writing, or was"
            " stopped): the records before it were read"
        )
    if not raw.project:
        notes.append('W&B recorded no project: filed under "uncategorized", as W&B itself does')
    tags = _tags(raw, notes)
    tags["wandb.run_folder"] = shown(raw.folder, root)
    metrics += _summary(raw, history_names, ended or latest or started, tags, notes)
    declared = requirements(raw, root)
    if declared is not None:
        notes.append(DECLARED)
    datasets, models = datasets_and_models(raw, notes)
    return Ingested(
        tool=TOOL,
        tool_version=raw.cli_version or (raw.producer.split("+")[0] if raw.producer else None),
        source_uri=str(source),
        source_run_id=run_id,
        project=raw.project or "uncategorized",
        started_at=started,
        ended_at=ended,
        status=status,
        name=raw.name or None,
        exit_code=raw.exit_code if raw.exited else None,
        error=error,
        user=raw.environment.get("username") or None,
        host=raw.host or raw.environment.get("host") or None,
        argv=tuple(a for a in (raw.environment.get("executable", ""), raw.environment.get("program", "")) if a)
        + tuple(raw.args),
        cwd=raw.environment.get("root", ""),
        source=_source(raw),
        declared=DeclaredRequirements(files=(declared,)) if declared is not None else None,
        datasets=tuple(datasets),
        models=tuple(models),
        params=_params(raw),
        metrics=tuple(metrics),
        tags=tags,
        notes=tuple(notes),
        reported=_reported(raw),
    )


def _reported(raw: RawRun) -> dict[str, str]:
    """The machine as W&B described it, by the record part auditor would have observed."""
    env = raw.environment
    cores = ", ".join(
        f"{env[key]} {what}" for key, what in (("cpu_count", "cores"), ("cpu_count_logical", "logical")) if env.get(key)
    )
    memory = env.get("memory_bytes", "")
    if memory.isdigit():
        memory = f"{int(memory) / 2**30:.1f} GiB"
    gpus = "; ".join(raw.gpus) or (f"{env['gpu_count']} x {env.get('gpu_type', 'GPU')}" if env.get("gpu_count") else "")
    if gpus and env.get("cuda_version"):
        gpus += f" (CUDA {env['cuda_version']})"
    parts = {
        "environment.os": env.get("os", ""),
        "environment.python": env.get("python", ""),
        "hardware.cpu": " ".join(filter(None, (env.get("cpu_model", ""), f"({cores})" if cores else ""))),
        "hardware.memory": memory,
        "hardware.gpus": gpus,
    }
    return {part: clip(value, 300) for part, value in parts.items() if value}


def _name(key: Key) -> str:
    return ".".join(key)


def _internal(key: Key) -> bool:
    return not key or key[0].startswith("_")


def _params(raw: RawRun) -> dict[str, ParamValue]:
    out: dict[str, ParamValue] = {}
    for key, (text, value) in raw.config.items():
        if key[0] == "_wandb":
            continue
        if isinstance(value, str | bool | int) or value is None or (isinstance(value, float) and math.isfinite(value)):
            out[_name(key)] = value
        else:
            out[_name(key)] = text  # lists, objects, NaN: W&B's JSON, byte for byte
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if isinstance(value, float) or abs(value) < 2**63 else None


def _when(seconds: object) -> datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _history(raw: RawRun, started: datetime, notes: list[str]) -> tuple[list[Metric], set[str], datetime | None]:
    """Every numeric history value, in logged order; the names seen; the last row's time."""
    out: list[Metric] = []
    names: set[str] = set()
    other: dict[str, int] = {}
    non_finite: dict[str, int] = {}
    latest: datetime | None = None
    for row in raw.history:
        stamp = row.values.get(("_timestamp",))
        logged = (_when(stamp.value) if stamp else None) or started
        latest = max(latest, logged) if latest else logged
        step = row.step
        if step is None:
            stepped = row.values[("_step",)].value if ("_step",) in row.values else None
            step = stepped if isinstance(stepped, int) and not isinstance(stepped, bool) else None
        for key, item in row.values.items():
            if _internal(key):
                continue
            name = _name(key)
            names.add(name)
            value = _number(item.value)
            if value is None:
                other[name] = other.get(name, 0) + 1
            elif not math.isfinite(value):
                non_finite[name] = non_finite.get(name, 0) + 1
            else:
                out.append(Metric(name=name, value=value, step=step, logged_at=logged))
    for name, count in sorted(non_finite.items()):
        notes.append(f"history {name!r}: {count} NaN or infinite value(s) left out (a record cannot hold them)")
    for name, count in sorted(other.items()):
        notes.append(f"history {name!r}: {count} value(s) that are not numbers are not metrics (see the summary)")
    return out, names, latest


def _summary(raw: RawRun, history: set[str], at: datetime, tags: dict[str, str], notes: list[str]) -> list[Metric]:
    out = []
    for key, (text, value) in raw.summary.items():
        if _internal(key):
            continue
        name = _name(key)
        _tag(tags, f"wandb.summary.{name}", value if isinstance(value, str) else text, notes)
        number = _number(value)
        if name not in history and number is not None and math.isfinite(number):
            out.append(Metric(name=name, value=number, step=None, logged_at=at))
    return out


def _tag(tags: dict[str, str], key: str, value: str, notes: list[str]) -> None:
    if len(value) > MAX_TAG:
        notes.append(f"tag {key!r}: {len(value)} characters, cut to {MAX_TAG}")
        value = value[:MAX_TAG]
    tags[key] = value


def _tags(raw: RawRun, notes: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    plain = {"entity": raw.entity, "group": raw.group, "job_type": raw.job_type, "notes": raw.notes}
    plain |= {"sweep_id": raw.sweep_id, "platform": raw.platform}
    for key, value in plain.items():
        if value:
            _tag(tags, f"wandb.{key}", value, notes)
    if raw.tags:
        _tag(tags, "wandb.tags", json.dumps(raw.tags, ensure_ascii=False), notes)
    for key in ENVIRONMENT_TAGS:
        if raw.environment.get(key):
            _tag(tags, f"wandb.{key}", raw.environment[key], notes)
    if raw.gpus:
        _tag(tags, "wandb.gpus", "; ".join(raw.gpus), notes)
    if raw.resumed:
        notes.append("W&B marks this run as resumed: its file holds the part of the run after it was resumed")
    if raw.preempting:
        notes.append("W&B recorded that the run was being preempted")
    if any(k.startswith("wandb.") and k.removeprefix("wandb.") in ENVIRONMENT_TAGS for k in tags):
        notes.append(REPORTED)
    return tags


def _source(raw: RawRun) -> ReportedSource | None:
    path = raw.environment.get("code_path") or raw.environment.get("program")
    if not (raw.git_remote or raw.git_commit or path):
        return None
    return ReportedSource(
        tool=TOOL,
        repo_url=clean_url(raw.git_remote) if raw.git_remote else None,
        commit=raw.git_commit or None,
        path=path or None,
    )
