"""The environment a DVC project declares: its pip requirements files, as `Ingested.declared`.

DVC records no environment. What a project asks for is still evidence the pinning and
vulnerability rules can read, labelled as declared (what was asked for), never as observed
(what was installed when the pipeline ran): requirements.txt at the repository's root, and
every requirements file a stage depends on (a stage that lists it re-runs when it changes).
Parsed with auditor's own requirements parser; `-r` includes are not followed (the repository
is untrusted, and an include may name any file on the machine).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from auditor.capture.collect.requirements import _logical_lines, _parse_line
from auditor.files import InputFileError, read_input
from auditor.ingest.dvc.files import within
from auditor.ingest.dvc.lineage import is_local, location
from auditor.ingest.dvc.pipeline import Pipeline
from auditor.record.models import DeclaredRequirements, Pin, RequirementsFile

NAME = re.compile(r"^requirements[\w.-]*\.(txt|in)$", re.IGNORECASE)
ROOT_FILES = ("requirements.txt",)
MAX_BYTES = 8 << 20


def declared_requirements(repo: Path, pipelines: list[Pipeline], notes: list[str]) -> DeclaredRequirements | None:
    labels = [name for name in ROOT_FILES if (repo / name).is_file()]
    for pipeline in pipelines:
        for stage in pipeline.stages:
            labels += [
                key
                for dep in stage.deps
                if is_local(key := location(stage.wdir, dep)) and NAME.match(key.rsplit("/", 1)[-1])
            ]
    files = [_read(repo, label) for label in dict.fromkeys(labels)]
    if not files:
        return None
    notes.append(
        f"declared environment: {', '.join(f.path for f in files)} kept as what the project declares, "
        "not what was installed when DVC ran"
    )
    return DeclaredRequirements(files=tuple(files))


def _read(repo: Path, label: str) -> RequirementsFile:
    path = repo / label
    if not within(repo, path):
        return RequirementsFile(path=label, sha256=None, pins=(), problems=("leads outside the repository: not read",))
    try:
        raw = read_input(path, "a requirements file", MAX_BYTES)
    except InputFileError as exc:
        return RequirementsFile(path=label, sha256=None, pins=(), problems=(exc.problem,))
    pins: list[Pin] = []
    problems: list[str] = []
    includes: list[Path] = []
    for number, line in _logical_lines(raw.decode("utf-8", "replace")):
        _parse_line(line, number, path, pins, problems, includes)
    problems += [
        f"includes {include.name}: not followed (only files in the repository are read)" for include in includes
    ]
    return RequirementsFile(
        path=label, sha256=hashlib.sha256(raw).hexdigest(), pins=tuple(pins), problems=tuple(problems)
    )
