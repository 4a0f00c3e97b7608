"""Talking to an MLflow tracking server: one persistent HTTP(S) connection per thread, JSON in and
out, bounded in time and size, credentials from the environment and never written anywhere.

Standard library only (http.client): auditor needs a handful of GETs and one POST, and
http.client keeps the connection open between requests (about 5 ms a request against a local
server, measured, against 6 with urllib.request, which opens one connection per request).

- Credentials: MLFLOW_TRACKING_TOKEN (sent as a Bearer token), else MLFLOW_TRACKING_USERNAME and
  MLFLOW_TRACKING_PASSWORD (basic auth), else user and password written in the URL. They go into
  the Authorization header only: `Server.url` and every message name the URL without them.
- Time: every request has a deadline (MLFLOW_HTTP_REQUEST_TIMEOUT seconds, 30 by default), for
  connecting, waiting and reading the body alike, so a server that stops answering gives one
  line within it. A download's deadline grows with the size the server listed.
- Retries: only for GETs, only when the server refused the connection or answered 429, 502, 503
  or 504, twice, after 0.5 then 1 s. A timeout is not retried (it would triple the wait).
- Redirects are not followed: a token must not travel to a host the user did not name.
- TLS: verified with the system's roots, or MLFLOW_TRACKING_SERVER_CERT_PATH's; no proxy support.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlencode, urlsplit

from auditor.capture.redact import clean_url
from auditor.errors import IngestError, UsageError

DEFAULT_TIMEOUT_S = 30.0
MAX_JSON_BYTES = 64 << 20  # one response: a page of 1,000 runs with long tags is a few MB
RETRY_STATUS = frozenset({429, 502, 503, 504})
BACKOFF_S = (0.5, 1.0)
MIN_DOWNLOAD_RATE = 256 << 10  # bytes a second a download may not fall below on average
CHUNK = 1 << 16
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]  # a sequence of pairs repeats a name (run_id=a&run_id=b)


@dataclass(frozen=True)
class Endpoint:
    """Where the server is (never with credentials) and how to authenticate to it."""

    scheme: str
    host: str
    port: int
    prefix: str  # a path the server is mounted under, "" or "/mlflow"
    authorization: str | None
    timeout_s: float
    cafile: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}{'' if self.port == default else f':{self.port}'}{self.prefix}"


def endpoint(source: str, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The server a `http(s)://[user:password@]host[:port][/prefix]` URL names, with its credentials."""
    env = os.environ if environ is None else environ
    try:
        parts = urlsplit(source)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{_shown(source)}: not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{_shown(source)}: expected http(s)://HOST[:PORT]")
    if parts.query or parts.fragment:
        raise UsageError(f"{_shown(source)}: a tracking server URL takes no query or fragment")
    token = env.get("MLFLOW_TRACKING_TOKEN")
    user, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
    if token:
        authorization: str | None = f"Bearer {token}"
    elif user or password or parts.username or parts.password:
        pair = f"{user or unquote(parts.username or '')}:{password or unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    else:
        authorization = None
    return Endpoint(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        prefix=parts.path.rstrip("/"),
        authorization=authorization,
        timeout_s=_timeout(env.get("MLFLOW_HTTP_REQUEST_TIMEOUT")),
        cafile=env.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or None,
    )


def _shown(source: str) -> str:
    """The URL as a message may show it: no user information, secret query parameters masked."""
    scheme, sep, rest = source.partition("://")
    if not sep:
        return clean_url(source)
    authority, slash, path = rest.partition("/")
    return clean_url(f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}")


def _timeout(text: str | None) -> float:
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise UsageError(f"MLFLOW_HTTP_REQUEST_TIMEOUT={text[:20]!r}: expected seconds, more than 0, at most 3600")
    return value


class HttpStatusError(IngestError):
    """The server answered, with a status other than 200."""

    def __init__(self, url: str, problem: str, status: int) -> None:
        super().__init__(url, None, problem)
        self.status = status


class Server:
    """Requests to one tracking server; safe to share between threads (one connection each)."""

    def __init__(self, where: Endpoint) -> None:
        self.endpoint = where
        self.url = where.url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open_connections: list[http.client.HTTPConnection] = []

    def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        return self._json("GET", path, params, None)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", path, None, json.dumps(body).encode("utf-8"))

    def download(self, path: str, params: Mapping[str, str], out: BinaryIO, limit: int, size: int | None) -> int:
        """Stream a file into `out`, at most `limit` bytes; the byte count. IngestError on failure."""
        target = self._target(path, params)
        seconds = self.endpoint.timeout_s + (size or 0) / MIN_DOWNLOAD_RATE
        response, deadline = self._open("GET", target, None, seconds)
        written = 0
        try:
            while chunk := self._read(response, target, deadline):
                written += len(chunk)
                if written > limit:
                    raise IngestError(self.url + target, None, f"larger than {limit} bytes: not downloaded")
                out.write(chunk)
        finally:
            response.close()
        return written

    def _json(self, method: str, path: str, params: Params | None, body: bytes | None) -> dict[str, Any]:
        target = self._target(path, params)
        response, deadline = self._open(method, target, body, self.endpoint.timeout_s)
        chunks, size = [], 0
        try:
            while chunk := self._read(response, target, deadline):
                size += len(chunk)
                if size > MAX_JSON_BYTES:
                    raise IngestError(self.url + target, None, f"answer larger than {MAX_JSON_BYTES} bytes")
                chunks.append(chunk)
        finally:
            response.close()
        try:
            value = json.loads(b"".join(chunks).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise IngestError(self.url + target, None, f"the answer is not JSON ({str(exc)[:80]})") from exc
        if not isinstance(value, dict):
            raise IngestError(self.url + target, None, "the answer is not a JSON object")
        return value

    def _target(self, path: str, params: Params | None) -> str:
        query = f"?{urlencode(params, quote_via=quote)}" if params else ""
        return f"{self.endpoint.prefix}{path}{query}"

    def _open(
        self, method: str, target: str, body: bytes | None, seconds: float
    ) -> tuple[http.client.HTTPResponse, float]:
        """A response with status 200, after at most two retries (GET only); IngestError otherwise."""
        url = self.url + target
        attempts = len(BACKOFF_S) + 1 if method == "GET" else 1
        for attempt in range(attempts):
            deadline = time.monotonic() + seconds
            retry = attempt + 1 < attempts
            try:
                response = self._send(method, target, body, deadline)
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected) as exc:
                self._drop()
                if retry:
                    time.sleep(BACKOFF_S[attempt])
                    continue
                raise IngestError(url, None, f"cannot connect: {_reason(exc)}") from exc
            except TimeoutError as exc:
                self._drop()
                raise IngestError(url, None, f"no answer within {self.endpoint.timeout_s:g} s") from exc
            except http.client.BadStatusLine as exc:
                self._drop()
                raise IngestError(url, None, f"the answer is not HTTP ({str(exc)[:40]!r})") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise IngestError(url, None, f"cannot connect: {_reason(exc)}") from exc
            if response.status == 200:
                return response, deadline
            problem = _status_problem(response, url, deadline, self)
            if response.status in RETRY_STATUS and retry:
                time.sleep(BACKOFF_S[attempt])
                continue
            raise HttpStatusError(url, problem, response.status)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, target: str, body: bytes | None, deadline: float) -> http.client.HTTPResponse:
        """Send one request. A kept-alive connection the server has closed meanwhile (servers close
        idle ones after a few seconds) fails before the server reads the request: that one is
        sent again on a new connection, whatever the method; nothing else is."""
        headers = {"Accept": "application/json", "User-Agent": "auditor"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.endpoint.authorization:
            headers["Authorization"] = self.endpoint.authorization
        reused = getattr(self._local, "connection", None) is not None and self._connection().sock is not None
        for again in (reused, False):
            connection = self._connection()
            connection.timeout = max(0.01, deadline - time.monotonic())
            if connection.sock is not None:
                connection.sock.settimeout(connection.timeout)
            try:
                connection.request(method, target, body=body, headers=headers)
                return connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not again:
                    raise
                self._drop()
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, response: http.client.HTTPResponse, target: str, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            self._drop()
            raise IngestError(self.url + target, None, f"no complete answer within {self.endpoint.timeout_s:g} s")
        connection = self._connection()
        if connection.sock is not None:
            connection.sock.settimeout(left)
        try:
            return response.read1(CHUNK)
        except TimeoutError as exc:
            self._drop()
            raise IngestError(
                self.url + target, None, f"no complete answer within {self.endpoint.timeout_s:g} s"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise IngestError(self.url + target, None, f"the answer broke off: {_reason(exc)}") from exc

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            where = self.endpoint
            if where.scheme == "https":
                context = ssl.create_default_context(cafile=where.cafile)
                connection = http.client.HTTPSConnection(
                    where.host, where.port, timeout=where.timeout_s, context=context
                )
            else:
                connection = http.client.HTTPConnection(where.host, where.port, timeout=where.timeout_s)
            self._local.connection = connection
            with self._lock:
                self._open_connections.append(connection)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for connection in self._open_connections:
                connection.close()
            self._open_connections.clear()


def _status_problem(response: http.client.HTTPResponse, url: str, deadline: float, server: Server) -> str:
    """What a non-200 answer says: MLflow's error_code and message when it sent them."""
    status = response.status
    if 300 <= status < 400:
        location = _shown(response.getheader("Location") or "")[:200]
        response.close()
        server._drop()
        return f"HTTP {status}: redirected to {location or 'elsewhere'}: not followed (name the server's own URL)"
    try:
        text = response.read(4096) if deadline > time.monotonic() else b""
    except (OSError, http.client.HTTPException):
        text = b""
    server._drop()  # the rest of the body is not wanted; a fresh connection is simpler than draining it
    detail = ""
    try:
        error = json.loads(text.decode("utf-8"))
        if isinstance(error, dict):
            code, message = error.get("error_code"), error.get("message")
            detail = ": ".join(str(v)[:200] for v in (code, message) if isinstance(v, str) and v)
    except (UnicodeDecodeError, ValueError, RecursionError):
        detail = ""
    reason = "".join(c for c in str(response.reason)[:60] if c.isprintable())
    detail = "".join(c for c in detail if c.isprintable())
    if status in (401, 403):
        hint = " (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
        return f"HTTP {status} {reason}{': ' + detail if detail else ''}{hint}"
    return f"HTTP {status} {reason}{': ' + detail if detail else ''}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
