"""The canary: a pin every honest source reports as vulnerable, asked before any "no vulnerabilities" is believed.

An endpoint that answers `{}` to everything, a mirror that lost its data, a proxy's error page turned
into an empty result, or pip-audit skipping what it cannot look up: each looks exactly like "no known
vulnerabilities". So an online source is first asked about jinja2 2.10, which PYSEC-2019-217 (also
CVE-2019-10906 and GHSA-462w-v97r-4m45, fixed in 2.10.1) has affected in the PyPA and OSV data since
2019. A source that does not report it is not used at all: every package is "not audited".
"""

from __future__ import annotations

from auditor.check.vulns.osv_local import PackageAudit

CANARY_NAME = "jinja2"
CANARY_VERSION = "2.10"
CANARY_ADVISORY = "PYSEC-2019-217"
_KNOWN_AS = frozenset({CANARY_ADVISORY, "CVE-2019-10906", "GHSA-462w-v97r-4m45"})
CANARY = f"{CANARY_NAME} {CANARY_VERSION} -> {CANARY_ADVISORY}"


def canary_failure(answer: PackageAudit | None, source: str) -> str | None:
    """None when `answer` (the source's for jinja2 2.10) reports the canary advisory; else why it fails."""
    if answer is not None and any(a.id in _KNOWN_AS or _KNOWN_AS & set(a.aliases) for a in answer.advisories):
        return None
    if answer is None:
        said = "no answer"
    elif answer.status == "not_audited":
        said = answer.reason or "no usable answer"
    elif answer.advisories:
        said = "it reported only " + ", ".join(a.id[:60] for a in answer.advisories[:5])
    else:
        said = "it reported no known vulnerabilities"
    return (
        f"{source} failed the canary ({CANARY_NAME} {CANARY_VERSION}, which {CANARY_ADVISORY} affects): {said}; "
        "its answers cannot be trusted, so no package was audited"
    )
