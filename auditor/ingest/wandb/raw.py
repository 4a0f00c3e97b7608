"""One W&B run as its `.wandb` file holds it, before it is mapped onto the run record:
plain values that auditor.ingest.wandb.records fills from W&B's records, in file order.

Values W&B keeps as JSON text (config, summary, history) stay as that text, so a string is
read back exactly as the run logged it and a list keeps W&B's own spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

Key = tuple[str, ...]  # a config, summary or history key; nested keys have several parts


class Json(NamedTuple):
    """A value W&B keeps as JSON text: the text as written, and what it parses to."""

    text: str
    value: object


@dataclass
class HistoryRow:
    step: int | None
    values: dict[Key, Json]


@dataclass
class Entry:
    path: str
    digest: str
    size: int | None
    ref: str | None


@dataclass
class RawArtifact:
    type: str
    name: str
    digest: str
    description: str
    metadata: str  # JSON text
    aliases: list[str]
    tags: list[str]
    entries: list[Entry]
    manifest_file: str | None  # a large manifest W&B kept in a file of its own
    used: bool  # recorded with use_artifact (an input), not log_artifact


@dataclass
class RawRun:
    where: Path  # the .wandb file
    folder: Path  # the run's folder (run-* or offline-run-*)
    producer: str | None = None  # from W&B's header record: the writing library's version
    run_id: str | None = None
    entity: str = ""
    project: str = ""
    name: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    group: str = ""
    job_type: str = ""
    sweep_id: str = ""
    host: str = ""
    started_at: datetime | None = None
    resumed: bool = False
    cli_version: str = ""
    python_version: str = ""
    platform: str = ""
    git_remote: str = ""
    git_commit: str = ""
    config: dict[Key, Json] = field(default_factory=dict)
    summary: dict[Key, Json] = field(default_factory=dict)
    history: list[HistoryRow] = field(default_factory=list)
    exited: bool = False
    exit_code: int | None = None
    runtime_s: int | None = None
    preempting: bool = False
    environment: dict[str, str] = field(default_factory=dict)  # W&B's name -> value, as text
    args: list[str] = field(default_factory=list)
    gpus: list[str] = field(default_factory=list)
    artifacts: list[RawArtifact] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)  # the last lines the run wrote to stderr
    records: int = 0
    cut_at: int | None = None  # where a cut-off tail began (see auditor.ingest.wandb.logfile)
