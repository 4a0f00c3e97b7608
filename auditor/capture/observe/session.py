"""One observation session: the start-up hook, the event file, and what they reported.

The session lives in a private temporary folder, not in the store: the command's
processes write into it, and nothing they write is trusted until parsed here.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.capture.execute.sharing import give_tree
from auditor.errors import UsageError
from auditor.files import UntrustedFileError, open_folder, open_regular_file, read_regular_file

ACCESS_ENV = "AUDITOR_ACCESS_DIR"
FALLBACK_ENV = "AUDITOR_API_FALLBACK"
EVENTS_ENV = "AUDITOR_EVENTS"
ARTIFACTS_ENV = "AUDITOR_ARTIFACTS"
MAX_EVENT_LINES = 100_000
MAX_EVENTS_BYTES = 256 * 1024 * 1024
MAX_ACCESS_REPORTS = 100_000
MAX_REPORT_BYTES = 64 * 1024 * 1024


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
            package.joinpath("capture", "observe", "sitecustomize.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        (self.root / "fallback" / "auditor" / "__init__.py").write_text(
            package.joinpath("api.py").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self.events_file = self.root / "events.jsonl"
        self._removing: threading.Thread | None = None

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

    def grant(self, owner: tuple[int, int]) -> None:
        """Let the container's user (uid, gid) use the folder: it is private to auditor's own uid."""
        try:
            give_tree(self.root, owner)
        except PermissionError as exc:
            raise UsageError(
                f"cannot give uid {owner[0]} access to auditor's observation folder; run as that user or drop --user"
            ) from exc

    def collect(self) -> SessionResult:
        """What the hook and the API reported; a report that is not a plain file is a problem, never read."""
        result = SessionResult()
        try:
            with open_folder(self.root) as root:
                self._access_reports(root, result)
                self._events(root, result)
        except OSError as exc:
            result.problems.append(f"the observation folder could not be read: {exc.strerror or exc}")
        return result

    def _access_reports(self, root: int, result: SessionResult) -> None:
        try:
            with open_folder("access", dir_fd=root) as folder:
                names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))  # noqa: PTH208  # a descriptor
                if len(names) > MAX_ACCESS_REPORTS:
                    result.problems.append(f"more than {MAX_ACCESS_REPORTS} access reports; the rest were ignored")
                for name in names[:MAX_ACCESS_REPORTS]:
                    self._access_report(folder, name, result)
        except FileNotFoundError:
            result.problems.append("the access reports folder was removed by the command")
        except OSError as exc:
            result.problems.append(f"access reports folder: {_why(exc)}: ignored")

    @staticmethod
    def _access_report(folder: int, name: str, result: SessionResult) -> None:
        try:
            data = json.loads(read_regular_file(name, MAX_REPORT_BYTES, dir_fd=folder))
            result.processes.append(
                ProcessReport(
                    pid=int(data["pid"]),
                    executable=str(data["executable"]),
                    prefixes=tuple(str(p) for p in data["prefixes"]),
                    reads=tuple(str(p) for p in data["reads"]),
                    writes=tuple(str(p) for p in data["writes"]),
                )
            )
        except UntrustedFileError as exc:
            result.problems.append(f"access report {name} is {exc.why}: ignored")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"unreadable access report {name}: {_why(exc)}")

    def _events(self, root: int, result: SessionResult) -> None:
        name = self.events_file.name
        try:
            with open_regular_file(name, dir_fd=root) as handle:
                read = 0
                for number in itertools.count(1):
                    line = handle.readline(MAX_EVENTS_BYTES - read + 1)
                    if not line:
                        break
                    read += len(line)
                    if read > MAX_EVENTS_BYTES:
                        result.problems.append(
                            f"more than {MAX_EVENTS_BYTES} bytes of logged events; the rest were ignored"
                        )
                        break
                    if number > MAX_EVENT_LINES:
                        result.problems.append(f"more than {MAX_EVENT_LINES} logged events; the rest were ignored")
                        break
                    try:
                        event = json.loads(line.decode("utf-8", "replace"))
                    except ValueError:
                        result.problems.append(f"event line {number} is not JSON; ignored")
                        continue
                    if isinstance(event, dict):
                        result.events.append(event)
        except FileNotFoundError:
            return  # nothing was logged
        except UntrustedFileError as exc:
            result.problems.append(f"events file {name} is {exc.why}: ignored")
        except OSError as exc:
            result.problems.append(f"events file {name} could not be read: {_why(exc)}")

    def artifact(self, path: str) -> Path | None:
        """A file the API wrote into the session (a logged DataFrame), if `path` names one."""
        candidate = Path(path)
        return candidate if candidate.parent == self.root / "artifacts" and candidate.name else None

    def read_artifact(self, path: Path, max_bytes: int) -> bytes:
        """The bytes of an artifact (see `artifact`), never through a link the command put in its place."""
        with open_folder(self.root) as root, open_folder("artifacts", dir_fd=root) as folder:
            return read_regular_file(path.name, max_bytes, dir_fd=folder)

    def close(self) -> None:
        """Remove the folder, once a removal that `close_soon` started has ended."""
        if self._removing is not None:
            self._removing.join()
        shutil.rmtree(self.root, ignore_errors=True)

    def close_soon(self) -> None:
        """Start removing the folder on a thread; `close` waits for it, and its caller must call `close`.

        Each of the folder's six folders costs a rmdir, and on a filesystem mounted with `discard` a
        removed folder's block is discarded as it is removed (~4 ms each, 20-30 ms in all, measured on
        ext4): begun here, the removal overlaps the record's build and the store's fsyncs (capture/run.py)
        instead of preceding them."""
        if self._removing is not None:
            return
        removing = threading.Thread(
            target=shutil.rmtree, args=(self.root,), kwargs={"ignore_errors": True}, name="auditor-observe-close"
        )
        try:
            removing.start()
        except RuntimeError:  # no thread to be had: removed by close(), as before
            return
        self._removing = removing


def _why(exc: BaseException) -> str:
    return str(exc.strerror) if isinstance(exc, OSError) and exc.strerror else str(exc)
