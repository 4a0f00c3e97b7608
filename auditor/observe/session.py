"""One observation session: the start-up hook, the event file, and what they reported.

The session lives in a private temporary folder, not in the store: the command's
processes write into it, and nothing they write is trusted until parsed here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

ACCESS_ENV = "AUDITOR_ACCESS_DIR"
FALLBACK_ENV = "AUDITOR_API_FALLBACK"
EVENTS_ENV = "AUDITOR_EVENTS"
ARTIFACTS_ENV = "AUDITOR_ARTIFACTS"
MAX_EVENT_LINES = 100_000


@dataclass(frozen=True)
class ProcessReport:
    pid: int
    executable: str
    prefixes: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]


@dataclass
class SessionResult:
    processes: list[ProcessReport] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class ObservationSession:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="auditor-observe-"))
        for name in ("site", "access", "artifacts", "fallback/auditor"):
            (self.root / name).mkdir(parents=True)
        package = resources.files("auditor")
        (self.root / "site" / "sitecustomize.py").write_text(
            package.joinpath("observe", "sitecustomize.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        (self.root / "fallback" / "auditor" / "__init__.py").write_text(
            package.joinpath("api.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self.events_file = self.root / "events.jsonl"

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """The command's environment plus what the hook needs (never recorded as the user's)."""
        existing = env.get("PYTHONPATH")
        site = str(self.root / "site")
        return {
            **env,
            "PYTHONPATH": f"{site}:{existing}" if existing else site,
            ACCESS_ENV: str(self.root / "access"),
            FALLBACK_ENV: str(self.root / "fallback"),
            EVENTS_ENV: str(self.events_file),
            ARTIFACTS_ENV: str(self.root / "artifacts"),
        }

    def collect(self) -> SessionResult:
        result = SessionResult()
        for report in sorted((self.root / "access").glob("*.json")):
            try:
                data = json.loads(report.read_text(encoding="utf-8"))
                result.processes.append(
                    ProcessReport(
                        pid=int(data["pid"]),
                        executable=str(data["executable"]),
                        prefixes=tuple(str(p) for p in data["prefixes"]),
                        reads=tuple(str(p) for p in data["reads"]),
                        writes=tuple(str(p) for p in data["writes"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                result.problems.append(f"unreadable access report {report.name}: {exc}")
        if self.events_file.exists():
            with self.events_file.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    if number > MAX_EVENT_LINES:
                        result.problems.append(f"more than {MAX_EVENT_LINES} logged events; the rest were ignored")
                        break
                    try:
                        event = json.loads(line)
                    except ValueError:
                        result.problems.append(f"event line {number} is not JSON; ignored")
                        continue
                    if isinstance(event, dict):
                        result.events.append(event)
        return result

    def artifact(self, path: str) -> Path | None:
        """A file the API wrote into the session (a logged DataFrame), if `path` is one."""
        candidate = Path(path)
        return candidate if candidate.parent == self.root / "artifacts" and candidate.is_file() else None

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
