"""The registry of built-in check kinds: the only names a rule pack may use.

Each entry pairs a parameters model (validated when the pack loads, so a typo
fails there and not mid-run) with a function from a record to verdicts.
"""

from __future__ import annotations

from auditor.check.checks import data, environment, expression, fairness, quality, run, vulnerabilities
from auditor.check.checks.interface import CheckDef

REGISTRY: dict[str, CheckDef] = {
    check.kind: check
    for check in (
        run.RUN_SUCCEEDED,
        run.SOURCE_CLEAN,
        run.HARDWARE_RECORDED,
        run.SEEDS_RECORDED,
        run.IMAGE_PINNED,
        environment.PACKAGES_PINNED,
        vulnerabilities.NO_KNOWN_VULNERABILITIES,
        data.DATASETS_DOCUMENTED,
        data.DATASETS_HASHED,
        data.NO_UNDECLARED_READS,
        data.PERSONAL_DATA_LEGAL_BASIS,
        quality.DATA_ASSERTIONS_HELD,
        fairness.FAIRNESS_THRESHOLD,
        fairness.GROUP_SIZES,
        expression.EXPRESSION,
    )
}
