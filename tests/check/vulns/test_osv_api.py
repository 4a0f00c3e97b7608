"""The `osv` source: auditor's own OSV client against a loopback OSV API serving the real PyPA snapshot.

It must agree with the local source on honest answers, follow pages to the end, and never take a
broken or lying endpoint's silence for "clean": the canary stops an endpoint that lies about
everything, and the per-record checks stop one that lies about a package.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from auditor.check.vulns.audit import VulnAudit
from auditor.check.vulns.osv_api import audit_with_osv_api
from auditor.check.vulns.osv_local import PackageAudit
from tests.check.vulns.osv_server import HOSTILE, Mode, OsvServer, serve_osv
from tests.conftest import ADVISORY_SNAPSHOT

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
CANARY = ("jinja2", "2.10")
AUDITED = [
    ("Jinja2", "2.10"),  # the canary's own pin, asked once
    ("requests", "2.19.0"),
    ("urllib3", "1.24.1"),
    ("requests", "2.32.3"),
    ("PyYAML", "5.3"),
    ("auditor-no-such-package", "1.0"),
    ("steam", "1.0"),  # the snapshot's unparsable "fixed: 2019-09-12": the server cannot say either
]
UNASKABLE = [("Jinja2", "1.0-custom+weird!!"), ("not a name", "1.0")]


@pytest.fixture(scope="module", autouse=True)
def no_proxies() -> Iterator[None]:
    """A proxy from the environment would take the loopback requests elsewhere."""
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
            patch.delenv(name.lower(), raising=False)
        yield


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsvServer]:
    if not (ADVISORY_SNAPSHOT / "vulns").is_dir():
        pytest.fail(f"the PyPA advisory snapshot is missing at {ADVISORY_SNAPSHOT}")
    with serve_osv(ADVISORY_SNAPSHOT, tmp_path_factory.mktemp("osv-cache")) as running:
        yield running


@pytest.fixture
def osv(server: OsvServer) -> Iterator[OsvServer]:
    """The shared server, honest again after each test."""
    yield server
    server.mode, server.spare = "ok", set()


def by_pin(audit: VulnAudit) -> dict[tuple[str, str], PackageAudit]:
    return {(p.name, p.version): p for p in audit.packages}


def ids(result: PackageAudit) -> set[str]:
    return {a.id for a in result.advisories}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_failed(audit: VulnAudit, packages: list[tuple[str, str]], *fragments: str) -> None:
    assert audit.error is not None and "\n" not in audit.error
    for fragment in fragments:
        assert fragment in audit.error, audit.error
    assert [(p.name, p.version, p.status, p.reason) for p in audit.packages] == [
        (name, version, "not_audited", audit.error) for name, version in packages
    ]


def test_same_answers_as_the_local_source(osv: OsvServer) -> None:
    before = len(osv.queries)
    audit = audit_with_osv_api(AUDITED + UNASKABLE, osv.url, timeout_s=60)
    asked = osv.queries[before:]
    assert audit.error is None
    assert (audit.source.kind, audit.source.location) == ("osv-api", osv.url)
    assert (
        audit.source.coverage
        == f"what the endpoint knows of PyPI, checked by the canary {CANARY[0]} 2.10 -> PYSEC-2019-217"
    )
    assert asked[0] == CANARY  # the canary first, then each pin once, by its canonical name
    assert sorted(asked) == sorted(
        [
            CANARY,
            ("requests", "2.19.0"),
            ("urllib3", "1.24.1"),
            ("requests", "2.32.3"),
            ("pyyaml", "5.3"),
            ("auditor-no-such-package", "1.0"),
            ("steam", "1.0"),
        ]
    )
    remote = by_pin(audit)
    assert [(p.name, p.version) for p in audit.packages] == AUDITED + UNASKABLE
    local = {(p.name, p.version): p for p in osv.database.audit(AUDITED[:-1])}
    for pin, theirs in local.items():
        mine = remote[pin]
        assert (mine.status, mine.advisories) == (theirs.status, theirs.advisories), pin  # every field alike
    assert ids(remote["Jinja2", "2.10"]) == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert remote["Jinja2", "2.10"].reason is None and remote["requests", "2.32.3"].status == "clean"
    steam = remote["steam", "1.0"]
    assert steam.status == "not_audited" and "HTTP 500" in (steam.reason or "")
    weird, bad_name = audit.packages[-2:]
    assert (weird.status, bad_name.status) == ("not_audited", "not_audited")
    assert "not a PEP 440 version" in (weird.reason or "") and "not a valid package name" in (bad_name.reason or "")


def test_pages_are_followed_to_the_end(osv: OsvServer) -> None:
    """An empty first page with a next_page_token: pip-audit read only that page and reported clean."""
    osv.mode = "paged"
    before = len(osv.queries)
    audit = audit_with_osv_api([("jinja2", "2.10"), ("urllib3", "1.24.1")], osv.url, timeout_s=60)
    assert audit.error is None
    result = by_pin(audit)
    assert ids(result["jinja2", "2.10"]) == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert len(result["urllib3", "1.24.1"].advisories) == 7
    assert len(osv.queries) - before == 3 + 8  # one empty page, then one page per record


@pytest.mark.parametrize("mode", HOSTILE)
def test_an_endpoint_that_fails_the_canary_is_not_used(osv: OsvServer, mode: Mode) -> None:
    osv.mode = mode
    packages = [("numpy", "2.1.0"), ("requests", "2.32.3")]
    before = len(osv.queries)
    audit = audit_with_osv_api(packages, osv.url, timeout_s=60)
    assert_failed(audit, packages, f"the OSV endpoint {osv.url} failed the canary", "jinja2 2.10")
    assert {pin for pin in osv.queries[before:]} == {CANARY}  # nothing else was asked


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("no_affected", "which is not a valid OSV record: affected must be a list, not NoneType"),
        ("other_package", "it answered FAKE-2024-1, which does not name numpy in the PyPI ecosystem"),
        ("out_of_range", "it answered FAKE-2024-1, whose affected ranges and versions do not include 2.1.0"),
        ("truncated", "the OSV endpoint gave no usable answer: the reply is not JSON"),
        ("garbage", "the OSV endpoint gave no usable answer: the reply is not JSON"),
        ("error", "the OSV endpoint gave no usable answer: HTTP 500"),
        ("endless", "the OSV endpoint gave no usable answer: it still had more pages after 100"),
        ("redirect", "the OSV endpoint gave no usable answer: HTTP 307"),
    ],
)
def test_a_reply_that_does_not_check_out_leaves_its_package_not_audited(
    osv: OsvServer, mode: Mode, reason: str
) -> None:
    osv.mode, osv.spare = mode, {CANARY}
    audit = audit_with_osv_api([("numpy", "2.1.0")], osv.url, timeout_s=60)
    assert audit.error is None
    [numpy] = audit.packages
    assert (numpy.status, numpy.advisories) == ("not_audited", ())
    assert numpy.reason is not None and reason in numpy.reason, numpy.reason


def test_a_valid_record_among_invalid_ones_still_proves_it_vulnerable(osv: OsvServer) -> None:
    osv.mode, osv.spare = "no_affected", {CANARY}
    [requests] = audit_with_osv_api([("requests", "2.19.0")], osv.url, timeout_s=60).packages
    assert requests.status == "not_audited"  # every record lacks `affected`: none proves anything
    osv.mode = "ok"
    [requests] = audit_with_osv_api([("requests", "2.19.0")], osv.url, timeout_s=60).packages
    assert requests.status == "vulnerable" and requests.reason is None


def test_an_unreachable_endpoint_fails_without_leaking_credentials() -> None:
    url = f"http://auditor:s3cr3t-pw@127.0.0.1:{closed_port()}/v1/query"
    packages = [("requests", "2.32.3"), ("Jinja2", "not-a-version")]
    audit = audit_with_osv_api(packages, url, timeout_s=30)
    assert_failed(audit, packages, "failed the canary", "Connection refused")
    assert audit.source.location == url.replace("auditor:s3cr3t-pw@", "")
    assert "s3cr3t" not in str(audit.error)


def test_credentials_in_the_url_are_sent_as_basic_auth(osv: OsvServer) -> None:
    url = osv.url.replace("http://", "http://auditor:s3cr3t-pw@")
    audit = audit_with_osv_api([("numpy", "2.1.0")], url, timeout_s=30)
    assert audit.error is None and audit.source.location == osv.url
    assert osv.authorizations[-1] == "Basic YXVkaXRvcjpzM2NyM3QtcHc="  # base64("auditor:s3cr3t-pw")


def test_a_hanging_endpoint_times_out(osv: OsvServer) -> None:
    osv.mode = "hang"
    started = time.monotonic()
    audit = audit_with_osv_api([("numpy", "2.1.0")], osv.url, timeout_s=2)
    assert time.monotonic() - started < 6
    assert_failed(audit, [("numpy", "2.1.0")], "failed the canary", "no answer within 2 s")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/v1/query", "http://[::1/v1/query", "/v1/query"])
def test_only_http_urls_are_asked(url: str) -> None:
    audit = audit_with_osv_api([("numpy", "2.1.0")], url)
    assert_failed(audit, [("numpy", "2.1.0")], "is not an http(s) URL")


def test_nothing_to_audit_asks_nothing(osv: OsvServer) -> None:
    before = len(osv.queries)
    assert audit_with_osv_api([], osv.url).packages == ()
    audit = audit_with_osv_api(UNASKABLE, osv.url)
    assert audit.error is None and [p.status for p in audit.packages] == ["not_audited", "not_audited"]
    assert len(osv.queries) == before
