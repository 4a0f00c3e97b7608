"""What a caller asks capture to do: the command, where it runs (its executor), and what to add to
the record before it is written. Built by `execute/local_setup.py`, `execute/container_setup.py`
and `reproduce/prepare.py`; carried out by `run.capture_run`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from auditor.capture.execute.interface import Executor
from auditor.record.models import RunRecord


class Amendment(Protocol):
    """What a caller adds to the finished record before it is written (a reproduction's verdict)."""

    def attach(self, record: RunRecord) -> RunRecord: ...


@dataclass(frozen=True)
class CaptureRequest:
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    executor: Executor  # where the command runs: this machine or a container (execute/registry.py)
    name: str | None = None
    project: str | None = None
    reproduces: Amendment | None = None  # this run re-executes an earlier one: the verdict is attached
