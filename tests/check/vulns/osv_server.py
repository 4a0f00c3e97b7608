"""A loopback OSV API server, so pip-audit's OSV source can be tested against real advisories offline.

It answers `POST /v1/query` as api.osv.dev does for PyPI: `{"vulns": [<full OSV records>]}` for the
advisories that affect the asked version, `{}` when none does. Which ones apply is decided by auditor's
own LocalOsvDatabase, so the two sources can be compared on the same snapshot; the records sent are the
raw advisory files (YAML dates turned into ISO text), as the real API sends them. A test can make it
answer 500, hang or send garbage, and the request log proves who was asked.

The hostile modes are what a broken or lying endpoint does: `{}` or `{"vulns": []}` for everything, a
record without `affected`, a record about another package, a record whose ranges exclude the version,
malformed JSON, a redirect, pages without end. `paged` is honest but sends one record per page after an
empty first page (what pip-audit, reading one page, took for "clean"). Pins in `spare` (the canary,
say) are always answered honestly, so a test can reach the per-package checks behind the canary.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import yaml

from auditor.check.vulns.osv_local import LocalOsvDatabase

Mode = Literal[
    "ok",
    "error",
    "hang",
    "garbage",
    "empty_object",
    "empty_list",
    "no_affected",
    "other_package",
    "out_of_range",
    "paged",
    "endless",
    "truncated",
    "redirect",
]
HOSTILE: tuple[Mode, ...] = (
    "empty_object",
    "empty_list",
    "no_affected",
    "other_package",
    "out_of_range",
    "truncated",
    "garbage",
    "error",
    "endless",
    "redirect",
)
QUERY_PATH = "/v1/query"


class OsvServer:
    """The server's state: what it serves, how it misbehaves (`mode`), and every query it received."""

    def __init__(self, advisories: Path, cache_dir: Path) -> None:
        self.database = LocalOsvDatabase.open(advisories, cache_dir=cache_dir)
        self.files = _files_by_id(advisories)
        self.mode: Mode = "ok"
        self.spare: set[tuple[str, str]] = set()  # (name, version) answered honestly whatever the mode
        self.queries: list[tuple[str, str]] = []  # (package name, version) in the order they came
        self.authorizations: list[str | None] = []  # each query's Authorization header
        self.released = threading.Event()  # set on shutdown so a hanging handler lets go
        self.url = ""
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.queries)

    def record(self, name: str, version: str) -> None:
        with self._lock:
            self.queries.append((name, version))

    def answer(self, name: str, version: str) -> tuple[int, dict[str, Any]]:
        """The OSV API's answer; 500 when auditor itself cannot decide, so that is never read as clean."""
        [result] = self.database.audit([(name, version)])
        if result.status == "not_audited":
            return 500, {"error": f"cannot evaluate {name} {version}: {result.reason}"}
        return 200, {"vulns": [self.raw(a.id) for a in result.advisories]} if result.advisories else {}

    def reply(self, name: str, version: str, token: object) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers for one query, in the server's mode."""
        mode = "ok" if (name, version) in self.spare else self.mode
        if mode == "error":
            return 500, b'{"error": "internal error"}', {}
        if mode == "hang":
            self.released.wait(60)
            return 500, b"{}", {}
        if mode == "garbage":
            return 200, b"<html>this is not JSON</html>", {}
        if mode == "truncated":
            return 200, b'{"vulns": [{"id": "PYSEC-', {}
        if mode == "redirect":
            return 307, b"", {"Location": "http://127.0.0.1:9/v1/query"}
        if mode in ("empty_object", "empty_list"):
            return 200, b"{}" if mode == "empty_object" else b'{"vulns": []}', {}
        if mode == "endless":  # a new token every time, never a last page
            return 200, json.dumps({"vulns": [], "next_page_token": f"t{token or 0}1"}).encode(), {}
        status, answer = self.answer(name, version)
        if status != 200:
            return status, json.dumps(answer).encode(), {}
        vulns: list[dict[str, Any]] = answer.get("vulns", [])
        if mode == "no_affected":
            vulns = [{k: v for k, v in vuln.items() if k != "affected"} for vuln in vulns] or [_fake(None, "0", "")]
        elif mode == "other_package":
            vulns = [_fake("auditor-some-other-package", "0", "")]
        elif mode == "out_of_range":
            vulns = [_fake(name, "0", "0.0.0.1")]  # fixed before any version a test asks about
        elif mode == "paged":
            pages = [[], *([v] for v in vulns)]
            number = int(str(token)) if token else 0
            more = {"next_page_token": str(number + 1)} if number + 1 < len(pages) else {}
            return 200, json.dumps({"vulns": pages[number], **more}).encode(), {}
        return 200, json.dumps({"vulns": vulns} if vulns else {}).encode(), {}

    def raw(self, advisory_id: str) -> dict[str, Any]:
        """One advisory file as the JSON document the OSV API would send."""
        file = self.files[advisory_id]
        text = file.read_text(encoding="utf-8")
        doc = _jsonable(json.loads(text) if file.suffix == ".json" else yaml.safe_load(text))
        assert isinstance(doc, dict) and doc.get("id") == advisory_id, f"{file} does not hold {advisory_id}"
        return doc


def _fake(name: str | None, introduced: str, fixed: str) -> dict[str, Any]:
    """A made-up record: for `name` (None: no `affected` at all), affected from `introduced` until `fixed`."""
    record: dict[str, Any] = {"id": "FAKE-2024-1", "modified": "2024-01-01T00:00:00Z", "details": "made up"}
    if name is not None:
        events = [{"introduced": introduced}] + ([{"fixed": fixed}] if fixed else [])
        package = {"ecosystem": "PyPI", "name": name}
        record["affected"] = [{"package": package, "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
    return record


def _files_by_id(root: Path) -> dict[str, Path]:
    """Advisory id -> file; the PyPA database names each file after the advisory it holds."""
    found: dict[str, Path] = {}
    for folder, _subfolders, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.suffix in (".yaml", ".yml", ".json") and not name.startswith("."):
                found[path.stem] = path
    return found


def _jsonable(value: object) -> object:
    """YAML's datetimes and dates as the RFC 3339 text OSV uses; everything else unchanged."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return utc.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _handler(server: OsvServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                query = json.loads(body)
                name, version = query["package"]["name"], query["version"]
                ecosystem = query["package"]["ecosystem"]
            except (ValueError, KeyError, TypeError):
                self._send(400, b'{"error": "not an OSV query"}')
                return
            server.record(name, version)
            server.authorizations.append(self.headers.get("Authorization"))
            if self.path != QUERY_PATH or ecosystem != "PyPI":
                self._send(404, b'{"error": "only PyPI queries at /v1/query"}')
            else:
                self._send(*server.reply(name, version, query.get("page_token")))

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the query log is kept in the server."""

    return Handler


@contextmanager
def serve_osv(advisories: Path, cache_dir: Path) -> Iterator[OsvServer]:
    """Serve `advisories` on 127.0.0.1 (a free port) in a thread until the block ends."""
    state = OsvServer(advisories, cache_dir)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}{QUERY_PATH}"
    thread = threading.Thread(target=httpd.serve_forever, name="osv-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
