"""Qualitative severity of an advisory, from the CVSS vectors its OSV record carries.

OSV records give severity as CVSS vectors (`severity: [{type: CVSS_V3, score: "CVSS:3.1/..."}]`);
the `cvss` package (Red Hat's reference implementation) scores them, so we do not hand-code the
CVSS formulas. The highest of the vectors wins. No vector, or none we can score, is `None`: the
caller decides how to treat an unknown severity (the default rule counts it as failing).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from auditor.vocabulary import SEVERITY_ORDER, Severity

_QUALITATIVE: dict[str, Severity] = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}


def cvss_severity(vectors: Iterable[tuple[str, str]]) -> Severity | None:
    best: Severity | None = None
    for kind, vector in vectors:
        found = _score(kind, vector)
        if found is not None and (best is None or SEVERITY_ORDER.index(found) > SEVERITY_ORDER.index(best)):
            best = found
    return best


def cvss_score(vectors: Iterable[tuple[str, str]]) -> float | None:
    """The highest CVSS base score (0.0-10.0) of the vectors, or None when none can be scored:
    what code scanning ranks security alerts by (SARIF `security-severity`)."""
    scores = [score for kind, vector in vectors if (score := _base_score(kind, vector)) is not None]
    return max(scores, default=None)


# Both cached by vector: an advisory is rated by its rule and again in the report's summary, and the
# same vectors recur across packages; parsing one costs about 0.1 ms.
@functools.lru_cache(maxsize=4096)
def _base_score(kind: str, vector: str) -> float | None:
    import cvss

    try:
        if kind == "CVSS_V4":
            return float(cvss.CVSS4(vector).base_score)
        if kind in ("CVSS_V3", "CVSS_V2"):
            return float((cvss.CVSS3 if kind == "CVSS_V3" else cvss.CVSS2)(vector).scores()[0])
    except (cvss.CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


@functools.lru_cache(maxsize=4096)
def _score(kind: str, vector: str) -> Severity | None:
    import cvss  # here: only `auditor check` with a vulnerability rule needs it

    try:
        if kind == "CVSS_V4":
            return _QUALITATIVE.get(cvss.CVSS4(vector).severity.lower())
        if kind == "CVSS_V3":
            return _QUALITATIVE.get(cvss.CVSS3(vector).severities()[0].lower())
        if kind == "CVSS_V2":
            return _v2(cvss.CVSS2(vector).scores()[0])
    except (cvss.CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def _v2(score: float) -> Severity:
    """NVD's bands for CVSS v2, which has no qualitative ratings of its own."""
    return "high" if score >= 7.0 else "medium" if score >= 4.0 else "low"
