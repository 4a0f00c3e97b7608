"""Where W&B keeps runs on disk, and reading one run's folder.

`wandb.init` makes `wandb/run-DATE_TIME-ID` (online) or `wandb/offline-run-DATE_TIME-ID`
(`WANDB_MODE=offline`), each holding `run-ID.wandb` (every record of the run) and `files/`
(requirements.txt and, once synced, copies of what the server derives). `wandb/latest-run`
is a link to the newest run: links are never followed, so no run is read twice.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from auditor.capture.collect.requirements import _logical_lines, _parse_line
from auditor.errors import IngestError
from auditor.files import exists, open_regular_file, os_problem, read_regular_file
from auditor.ingest.wandb.logfile import LogReader
from auditor.ingest.wandb.raw import RawRun
from auditor.ingest.wandb.records import RecordError, finish, read_record
from auditor.record.models import Pin, RequirementsFile

RUN_FOLDER = re.compile(r"^(offline-)?run-[0-9]{8}_[0-9]{6}-[A-Za-z0-9_-]+$")
MAX_REQUIREMENTS_BYTES = 8 << 20


def _is_run(path: Path) -> bool:
    return bool(RUN_FOLDER.match(path.name)) and path.is_dir() and not path.is_symlink()


def _runs_in(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if _is_run(p))
    except OSError:
        return []


def find_runs(source: Path) -> list[Path]:
    """The run folders SOURCE names: a run folder itself, a `wandb/` folder, or a project
    folder holding `wandb/`."""
    if _is_run(source):
        return [source]
    if not source.is_dir():
        raise IngestError(source, None, "not a folder" if exists(source) else "no such folder")
    runs = _runs_in(source) or _runs_in(source / "wandb")
    if not runs:
        raise IngestError(source, None, "no W&B runs here (no run-* or offline-run-* folders, here or in wandb/)")
    return runs


def looks_like_runs(source: Path) -> bool:
    """Cheap: a run folder with a .wandb file, or a folder of them (or its wandb/). A link the user
    names (wandb/latest-run) is followed, as `auditor ingest` reads the path it resolves to."""
    source = source.resolve()
    if _is_run(source):
        return any(source.glob("*.wandb"))
    return any(source.glob("*run-*/*.wandb")) or any(source.glob("wandb/*run-*/*.wandb"))


def log_file(folder: Path) -> Path:
    found = sorted(folder.glob("run-*.wandb"))
    if not found:
        raise IngestError(folder, None, "no run-ID.wandb file: W&B writes every record of a run there")
    if len(found) > 1:
        raise IngestError(folder, None, f"{len(found)} .wandb files: a run folder holds one")
    return found[0]


def read_run(folder: Path) -> RawRun:
    """Every record of one run folder's .wandb file."""
    path = log_file(folder)
    run = RawRun(where=path, folder=folder)
    try:
        with open_regular_file(path) as handle:
            reader = LogReader(handle, path)
            offset = 0
            try:
                for offset, payload in reader:
                    read_record(payload, run, offset)
                finish(run)
            except RecordError as exc:
                raise IngestError(path, f"offset {exc.offset if exc.offset is not None else offset}", str(exc)) from exc
            run.cut_at = reader.cut_at
    except OSError as exc:
        raise IngestError(path, None, _why(exc)) from exc
    return run


def requirements(run: RawRun, root: Path) -> RequirementsFile | None:
    """files/requirements.txt, which W&B writes from the packages installed where the run ran:
    kept as the run's declared environment (auditor did not see them installed)."""
    path = run.folder / "files" / "requirements.txt"
    if not exists(path):
        return None
    label = shown(path, root)
    try:
        raw = read_regular_file(path, MAX_REQUIREMENTS_BYTES)
    except OSError as exc:
        return RequirementsFile(path=label, sha256=None, pins=(), problems=(_why(exc),))
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RequirementsFile(path=label, sha256=digest, pins=(), problems=(f"not UTF-8 (byte {exc.start})",))
    pins, problems = _parsed(text)
    return RequirementsFile(path=label, sha256=digest, pins=pins, problems=problems)


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> tuple[tuple[Pin, ...], tuple[str, ...]]:
    """Pins and problems of a requirements text; runs from one environment share it, and parsing
    it was a quarter of reading a short run."""
    pins: list[Pin] = []
    problems: list[str] = []
    includes: list[Path] = []
    for number, line in _logical_lines(text):
        _parse_line(line, number, Path("requirements.txt"), pins, problems, includes)
    problems += [f"includes {p.name}: not followed (only the run's own files are read)" for p in includes]
    return tuple(pins), tuple(problems)


def _why(exc: OSError) -> str:
    return str(getattr(exc, "why", "")) or os_problem(exc)


def shown(path: Path, root: Path) -> str:
    try:
        return path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        return path.as_posix()
