"""The words rules, findings and reports share, as types: severities, outcomes, source names.

Standard library only, so the command line can list the choices in `--help` without loading the
models. Each name is declared here once; the registries that implement them (vulnerability
sources in `auditor.check.vulns.sources`) are tested to cover exactly these names.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: tuple[Severity, ...] = ("low", "medium", "high", "critical")

Outcome = Literal["pass", "fail", "inconclusive", "waived", "not_applicable", "could_not_evaluate"]
# Worst first: the order in which a rule's outcome is decided and outcomes are listed. "inconclusive":
# the evidence was evaluated but its uncertainty reaches across the rule's bound (a fairness interval
# that straddles the threshold); never a pass, and like "could_not_evaluate" it gates with exit 3.
OUTCOMES: tuple[Outcome, ...] = ("fail", "inconclusive", "could_not_evaluate", "waived", "pass", "not_applicable")
# Outcomes that keep a run from being compliant without being a failure: exit 3 at or above fail_on.
UNESTABLISHED: tuple[Outcome, ...] = ("inconclusive", "could_not_evaluate")

VulnSource = Literal["local", "osv", "pypi"]


def at_least(severity: Severity, threshold: Severity) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(threshold)
