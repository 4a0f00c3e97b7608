"""pip-audit as a source: the real pip-audit subprocess against a loopback OSV server holding the real
PyPA snapshot, so its answers can be compared with the local source's and nothing leaves the machine.

Each pip-audit run costs about 1.5 s of start-up, so the module makes ten: two for the shared audit
(two versions of `requests` need two runs), then one each for a 500, a reply that is not JSON, a closed
port, a hang, PyPI behind a dead proxy, and three endpoints whose silence pip-audit took for "clean".
"""

from __future__ import annotations

import importlib.metadata
import socket
import time
from collections.abc import Iterator

import pytest

from auditor.check.vulns.audit import VulnAudit
from auditor.check.vulns.osv_local import PackageAudit
from auditor.check.vulns.pip_audit_source import (
    PYPI_LOCATION,
    _dependencies,
    _package,
    audit_with_pip_audit,
    pip_audit_version,
)
from tests.check.vulns.osv_server import Mode, OsvServer, serve_osv
from tests.conftest import ADVISORY_SNAPSHOT

SNAPSHOT = ADVISORY_SNAPSHOT
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
AUDITED = [
    ("jinja2", "2.10"),
    ("requests", "2.19.0"),
    ("urllib3", "1.24.1"),
    ("requests", "2.32.3"),  # clean in the snapshot, and a second version of a name: a second run
    ("PyYAML", "5.3"),  # asked as "pyyaml"
    ("auditor-no-such-package", "1.0"),
]
UNPINNABLE = [("Jinja2", "1.0-custom+weird!!"), ("not a name", "1.0")]


@pytest.fixture(scope="module", autouse=True)
def no_proxies() -> Iterator[None]:
    """A proxy from the environment would take the loopback requests elsewhere; pip-audit passes it on."""
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
            patch.delenv(name.lower(), raising=False)
        yield


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsvServer]:
    if not (SNAPSHOT / "vulns").is_dir():
        pytest.fail(f"the PyPA advisory snapshot is missing at {SNAPSHOT}")
    with serve_osv(SNAPSHOT, tmp_path_factory.mktemp("osv-cache")) as running:
        yield running


@pytest.fixture
def ok_server(server: OsvServer) -> Iterator[OsvServer]:
    """The shared server, set back to answering properly after a test made it misbehave."""
    yield server
    server.mode = "ok"


@pytest.fixture(scope="module")
def shared_audit(server: OsvServer) -> tuple[VulnAudit, list[tuple[str, str]]]:
    """One audit of AUDITED + UNPINNABLE, with the queries the server received for it."""
    before = len(server.queries)
    audit = audit_with_pip_audit(AUDITED + UNPINNABLE, "osv", server.url, timeout_s=120)
    return audit, server.queries[before:]


def by_name(audit: VulnAudit) -> dict[tuple[str, str], PackageAudit]:
    return {(p.name, p.version): p for p in audit.packages}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_failed(audit: VulnAudit, packages: list[tuple[str, str]], *fragments: str) -> None:
    assert audit.error is not None and "\n" not in audit.error
    for fragment in fragments:
        assert fragment in audit.error
    assert [(p.name, p.version, p.status, p.reason) for p in audit.packages] == [
        (name, version, "not_audited", audit.error) for name, version in packages
    ]


def test_jinja2_2_10_is_vulnerable(shared_audit: tuple[VulnAudit, list[tuple[str, str]]]) -> None:
    audit, _ = shared_audit
    assert audit.error is None
    result = by_name(audit)["jinja2", "2.10"]
    assert (result.status, result.reason) == ("vulnerable", None)
    assert {a.id for a in result.advisories} == {"PYSEC-2019-217", "PYSEC-2021-66"}
    sandbox = next(a for a in result.advisories if a.id == "PYSEC-2019-217")
    assert sandbox.fixed_versions == ("2.10.1",)
    assert sandbox.aliases == ("CVE-2019-10906", "GHSA-462w-v97r-4m45")
    assert sandbox.details == "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape."
    assert (sandbox.summary, sandbox.severity, sandbox.published, sandbox.references) == (None, (), None, ())


def test_same_answers_as_the_local_source(
    shared_audit: tuple[VulnAudit, list[tuple[str, str]]], server: OsvServer
) -> None:
    audit, _ = shared_audit
    local = {(p.name, p.version): p for p in server.database.audit(AUDITED)}
    remote = by_name(audit)
    for key in AUDITED:
        assert remote[key].status == local[key].status, key
        mine = {(a.id, a.fixed_versions, frozenset(a.aliases)) for a in remote[key].advisories}
        theirs = {(a.id, a.fixed_versions, frozenset(a.aliases)) for a in local[key].advisories}
        assert mine == theirs, key
    statuses = [remote[key].status for key in AUDITED]
    assert statuses == ["vulnerable", "vulnerable", "vulnerable", "clean", "vulnerable", "clean"]
    assert len(remote["urllib3", "1.24.1"].advisories) == 7
    assert remote["auditor-no-such-package", "1.0"].reason is None


def test_unpinnable_packages_are_not_audited_and_never_asked(
    shared_audit: tuple[VulnAudit, list[tuple[str, str]]],
) -> None:
    audit, queries = shared_audit
    assert [(p.name, p.version) for p in audit.packages] == AUDITED + UNPINNABLE  # the order asked in
    weird, bad_name = audit.packages[-2:]
    assert (weird.status, weird.advisories) == ("not_audited", ())
    assert weird.reason == (
        "installed version '1.0-custom+weird!!' is not a PEP 440 version, so pip-audit cannot be asked about it"
    )
    assert (bad_name.status, bad_name.advisories) == ("not_audited", ())
    assert bad_name.reason == "'not a name' is not a valid package name, so pip-audit cannot be asked about it"
    assert not any(name == "not a name" or "weird" in version for name, version in queries)


def test_pip_audit_asked_the_loopback_server(
    shared_audit: tuple[VulnAudit, list[tuple[str, str]]], server: OsvServer
) -> None:
    audit, queries = shared_audit
    assert sorted(queries) == sorted(
        [
            ("auditor-no-such-package", "1.0"),
            ("jinja2", "2.10"),
            ("pyyaml", "5.3"),
            ("requests", "2.19.0"),
            ("requests", "2.32.3"),
            ("urllib3", "1.24.1"),
        ]
    )
    assert audit.source.kind == "pip-audit-osv"
    assert audit.source.location == server.url
    assert audit.source.tool_version == importlib.metadata.version("pip-audit") == pip_audit_version()
    assert audit.source.tool_version is not None and audit.source.tool_version.startswith("2.10.")
    assert (
        audit.source.coverage
        == "what pip-audit's osv source knows, checked by the canary jinja2 2.10 -> PYSEC-2019-217"
    )


def test_server_error_fails_the_audit(ok_server: OsvServer) -> None:
    ok_server.mode = "error"
    before = ok_server.requests
    packages = [("jinja2", "2.10"), ("requests", "2.32.3")]
    audit = audit_with_pip_audit(packages, "osv", ok_server.url, timeout_s=60)
    assert_failed(audit, packages, "pip-audit exited with code 1 and wrote no report", "500 Server Error")
    assert ok_server.requests == before + 1  # it gave up at the first error


def test_garbage_reply_fails_the_audit(ok_server: OsvServer) -> None:
    ok_server.mode = "garbage"
    packages = [("requests", "2.32.3")]
    audit = audit_with_pip_audit(packages, "osv", ok_server.url, timeout_s=60)
    assert_failed(audit, packages, "wrote no report", "JSONDecodeError")


def test_unreachable_endpoint_fails_without_leaking_credentials() -> None:
    url = f"http://auditor:s3cr3t-pw@127.0.0.1:{closed_port()}/v1/query"
    packages = [("requests", "2.32.3"), ("Jinja2", "not-a-version")]
    audit = audit_with_pip_audit(packages, "osv", url, timeout_s=60)
    assert_failed(audit, packages, "wrote no report", "Connection refused")
    assert audit.source.location == url.replace("auditor:s3cr3t-pw@", "")
    assert "s3cr3t" not in str(audit.error)


def test_hanging_endpoint_times_out(ok_server: OsvServer) -> None:
    ok_server.mode = "hang"
    before = ok_server.requests
    started = time.monotonic()
    audit = audit_with_pip_audit([("jinja2", "2.10")], "osv", ok_server.url, timeout_s=4)
    assert time.monotonic() - started < 8
    assert_failed(audit, [("jinja2", "2.10")], "pip-audit did not finish within 4 s")
    assert ok_server.requests == before + 1  # it was waiting for our server, not starting up


def test_pypi_behind_a_dead_proxy_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)  # passed on to pip-audit, so PyPI is never reached
    audit = audit_with_pip_audit([("jinja2", "2.10")], "pypi", "http://ignored.invalid/v1/query", timeout_s=60)
    assert (audit.source.kind, audit.source.location) == ("pip-audit-pypi", PYPI_LOCATION)
    assert_failed(audit, [("jinja2", "2.10")], "wrote no report", "ProxyError")


@pytest.mark.parametrize("mode", ["empty_object", "empty_list", "paged"])
def test_an_endpoint_that_fails_the_canary_is_not_used(ok_server: OsvServer, mode: Mode) -> None:
    """`{}`, `{"vulns": []}` or an empty first page with a next_page_token: pip-audit reports "no known
    vulnerabilities" and exits 0 for all three, so only the canary can tell."""
    ok_server.mode = mode
    packages = [("numpy", "2.1.0"), ("requests", "2.32.3")]
    audit = audit_with_pip_audit(packages, "osv", ok_server.url, timeout_s=60)
    assert_failed(audit, packages, "pip-audit failed the canary", "jinja2 2.10", "no known vulnerabilities")


def test_nothing_to_audit_runs_nothing(ok_server: OsvServer) -> None:
    before = ok_server.requests
    assert audit_with_pip_audit([], "osv", ok_server.url).packages == ()
    audit = audit_with_pip_audit(UNPINNABLE, "osv", ok_server.url)
    assert audit.error is None and [p.status for p in audit.packages] == ["not_audited", "not_audited"]
    assert ok_server.requests == before


# --- reading the report: the shapes pip-audit 2.10.1 was seen writing ------------------------------------------

SKIPPED_REPORT = {  # `-r` with a URL requirement and no --strict; `-s pypi` writes the same on a PyPI 404
    "dependencies": [
        {"name": "requests", "version": "2.32.3", "vulns": []},
        {"name": "foo", "skip_reason": "URL requirements cannot be pinned to a specific package version"},
    ],
    "fixes": [],
}


def test_skipped_package_is_not_audited() -> None:
    report = _dependencies(SKIPPED_REPORT)
    skipped = _package("Foo", "1.0", report["foo"])
    assert (skipped.status, skipped.advisories) == ("not_audited", ())
    assert skipped.reason == "pip-audit skipped it: URL requirements cannot be pinned to a specific package version"
    assert _package("requests", "2.32.3", report["requests"]).status == "clean"
    assert _package("requests", "2.32.3.0", report["requests"]).status == "clean"  # the same PEP 440 version
    other = _package("requests", "2.32.4", report["requests"])
    assert (other.status, other.reason) == ("not_audited", "pip-audit reported version '2.32.3'")
    missing = _package("numpy", "2.0.0", report.get("numpy"))
    assert (missing.status, missing.reason) == ("not_audited", "pip-audit did not report it")


@pytest.mark.parametrize(
    "report",
    [
        [],
        {"dependencies": {}},
        {"dependencies": [{"version": "1.0", "vulns": []}]},
        {"dependencies": [{"name": "foo", "version": "1.0"}]},
        {"dependencies": [{"name": "foo", "version": "1.0", "vulns": [{"id": "X-1"}]}]},
        {"dependencies": [{"name": "foo", "version": "1.0", "vulns": [{"id": "X-1", "fix_versions": "1.1"}]}]},
        {"dependencies": [{"name": "foo", "version": "1.0", "vulns": ["X-1"]}]},
    ],
)
def test_unexpected_report_shapes_are_refused(report: object) -> None:
    with pytest.raises(ValueError):
        _dependencies(report)
