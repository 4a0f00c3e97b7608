"""The OSV API (api.osv.dev or a mirror) as a vulnerability source, queried and checked in-process.

pip-audit cannot tell a broken endpoint from a clean answer: `{}`, `{"vulns": []}`, a record without
`affected`, or a first page that ends in `next_page_token` (it reads only that page) all became "no
known vulnerabilities" and exit 0. So auditor asks `POST /v1/query` itself, once per (package,
version), follows `next_page_token` to the last page, and checks every reply:

- the reply is a JSON object; `vulns`, when present, is a list of objects; `next_page_token` is text;
- each record is a valid OSV record (osv_records) naming this package in the PyPI ecosystem, and its
  ranges, evaluated here exactly as the local source evaluates them, include this version.

A reply that fails any of this makes its package "not_audited" with the reason (a valid record among
invalid ones still proves the package vulnerable). Before any answer is believed, the canary
(canary.py) must come back vulnerable through the same checks; if it does not, nothing is audited.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from packaging.utils import canonicalize_name

from auditor.capture.redact import clean_url
from auditor.check.vulns.audit import SourceInfo, VulnAudit
from auditor.check.vulns.canary import CANARY, CANARY_NAME, CANARY_VERSION, canary_failure
from auditor.check.vulns.osv_local import Advisory, PackageAudit, advisory_of, applies
from auditor.check.vulns.osv_records import package_records, parse_version

__all__ = ["DEFAULT_OSV_URL", "audit_with_osv_api"]

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"
_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)  # PEP 508 names
_MAX_REPLY = 32 << 20  # bytes; the largest real answers (a package with hundreds of advisories) are a few MiB
_MAX_PAGES = 100
_WORKERS = 8
Key = tuple[str, str]  # canonical name, version as recorded


class _Unanswered(Exception):
    """No usable answer for one query; the message is the one line of reason."""


@dataclass(frozen=True)
class _Endpoint:
    url: str  # without user information
    shown: str  # for reports: credentials removed
    headers: dict[str, str]
    deadline: float
    timeout_s: float


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """A query endpoint that redirects is misconfigured; following it could post elsewhere."""
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def audit_with_osv_api(
    packages: Sequence[tuple[str, str]], osv_url: str | None = None, timeout_s: float = 300
) -> VulnAudit:
    """Audit (name, version) pairs against an OSV `/v1/query` endpoint (api.osv.dev by default)."""
    requested = list(packages)
    url = osv_url or DEFAULT_OSV_URL
    source = SourceInfo(kind="osv-api", location=clean_url(url))
    try:
        parts = urllib.parse.urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a malformed host or port
        usable = False
    if not usable:
        return VulnAudit.failed(source, requested, f"the OSV URL {source.location!r} is not an http(s) URL")
    unaskable = {pair: why for pair in requested if (why := _why_not_askable(*pair))}
    keys = list(dict.fromkeys((canonicalize_name(n), v) for n, v in requested if (n, v) not in unaskable))
    if not keys:
        return VulnAudit(source=source, packages=tuple(_unaskable(p, unaskable) for p in requested))
    endpoint = _endpoint(parts, source.location, timeout_s)
    canary = (CANARY_NAME, CANARY_VERSION)
    answers = {canary: _answer(endpoint, *canary)}
    failed = canary_failure(answers[canary], f"the OSV endpoint {source.location}")
    if failed:
        return VulnAudit.failed(source, requested, failed)
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(keys))) as pool:
        todo = [key for key in keys if key not in answers]
        answers.update(zip(todo, pool.map(lambda key: _answer(endpoint, *key), todo), strict=True))
    results = []
    for name, version in requested:
        if (name, version) in unaskable:
            results.append(_unaskable((name, version), unaskable))
        else:
            found = answers[canonicalize_name(name), version]
            results.append(PackageAudit(name, version, found.status, found.advisories, found.reason))
    covered = f"what the endpoint knows of PyPI, checked by the canary {CANARY}"
    return VulnAudit(source=replace(source, coverage=covered), packages=tuple(results))


def _why_not_askable(name: str, version: str) -> str | None:
    if not _NAME.fullmatch(name):
        return f"{name!r} is not a valid package name, so the OSV endpoint cannot be asked about it"
    if parse_version(version) is None:
        return f"installed version {version!r} is not a PEP 440 version, so it cannot be evaluated"
    return None


def _unaskable(pair: tuple[str, str], why: dict[tuple[str, str], str]) -> PackageAudit:
    return PackageAudit(pair[0], pair[1], "not_audited", (), why[pair])


def _endpoint(parts: urllib.parse.SplitResult, shown: str, timeout_s: float) -> _Endpoint:
    """The URL without user information, which becomes a Basic Authorization header instead."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "auditor"}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username) + ":" + urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    netloc = parts.netloc.rpartition("@")[2]
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return _Endpoint(url, shown, headers, time.monotonic() + timeout_s, timeout_s)


def _answer(endpoint: _Endpoint, name: str, version: str) -> PackageAudit:
    """The checked answer for one canonical name and version; never raises for what the endpoint does."""
    try:
        records = _query(endpoint, name, version)
    except _Unanswered as why:
        return PackageAudit(name, version, "not_audited", (), f"the OSV endpoint gave no usable answer: {why}")
    return _judge(name, version, records)


def _query(endpoint: _Endpoint, name: str, version: str) -> list[dict[str, Any]]:
    """Every record of every page of the answer for (name, version)."""
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        vulns, token = _page(_post(endpoint, query))
        found += vulns
        if token is None:
            return found
        if token in seen:
            raise _Unanswered("it sent the same next_page_token twice")
        seen.add(token)
        query = {**query, "page_token": token}
    raise _Unanswered(f"it still had more pages after {_MAX_PAGES}")


def _post(endpoint: _Endpoint, query: dict[str, Any]) -> object:
    left = endpoint.deadline - time.monotonic()
    if left <= 0:
        raise _Unanswered(f"no answer within {endpoint.timeout_s:g} s")
    body = json.dumps(query).encode()
    # The scheme was checked to be http(s) before any query, and redirects are never followed.
    request = urllib.request.Request(endpoint.url, data=body, headers=endpoint.headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=left) as response:
            status, data = response.status, response.read(_MAX_REPLY + 1)
    except urllib.error.HTTPError as exc:
        raise _Unanswered(f"HTTP {exc.code} {_clip(exc.reason)}") from None
    except urllib.error.URLError as exc:
        raise _Unanswered(_clip(exc.reason)) from None
    except TimeoutError:
        raise _Unanswered(f"no answer within {endpoint.timeout_s:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Unanswered(_clip(exc) or type(exc).__name__) from None
    if status != 200:
        raise _Unanswered(f"HTTP {status}, not 200")
    if len(data) > _MAX_REPLY:
        raise _Unanswered(f"the reply is larger than {_MAX_REPLY >> 20} MiB")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise _Unanswered(f"the reply is not JSON ({_clip(exc)})") from None


def _page(reply: object) -> tuple[list[dict[str, Any]], str | None]:
    """The records and the next page's token of one reply, after checking its shape."""
    if not isinstance(reply, dict):
        raise _Unanswered(f"the reply is a JSON {type(reply).__name__}, not an object")
    vulns = reply.get("vulns", [])
    if not isinstance(vulns, list) or not all(isinstance(v, dict) for v in vulns):
        raise _Unanswered("the reply's 'vulns' is not a list of objects")
    token = reply.get("next_page_token")
    if token is not None and not isinstance(token, str):
        raise _Unanswered("the reply's 'next_page_token' is not text")
    return vulns, token or None


def _judge(name: str, version: str, vulns: list[dict[str, Any]]) -> PackageAudit:
    """Evaluate the records locally: each must name this package and include this version."""
    parsed = parse_version(version)
    hits: dict[str, Advisory] = {}
    problems: list[str] = []
    for raw in vulns:
        if raw.get("withdrawn"):  # a withdrawn record asserts nothing
            continue
        said = f"it answered {_clip(raw.get('id'), 80)}"
        try:
            _, records = package_records(raw, f"the reply for {name} {version}")
        except ValueError as exc:
            problems.append(f"{said}, which is not a valid OSV record: {_clip(exc)}")
            continue
        record = records.get(name)
        if record is None:
            problems.append(f"{said}, which does not name {name} in the PyPI ecosystem")
            continue
        outcome = applies(record, version, parsed)
        if outcome is True:
            hits.setdefault(record["id"], advisory_of(record))
        elif outcome is False:
            problems.append(f"{said}, whose affected ranges and versions do not include {version}")
        else:
            problems.append(outcome)
    why = "; ".join(dict.fromkeys(problems)) or None
    if hits:  # proven affected by a record that checks out; the rest cannot make it any better
        return PackageAudit(name, version, "vulnerable", tuple(hits.values()), why and f"also unchecked: {why}")
    return PackageAudit(name, version, "not_audited" if why else "clean", (), why)


def _clip(value: object, limit: int = 200) -> str:
    return " ".join(str(value).split())[:limit]
