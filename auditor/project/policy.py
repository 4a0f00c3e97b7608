"""A project's policy choices, as written in the `policy:` section of auditor.yaml.

Kept free of the check registry so that reading auditor.yaml (which every `auditor run` does)
does not import the policy engine. Command-line options override these, field by field.
"""

from typing import Any, Literal

from pydantic import Field

from auditor.record.base import Frozen
from auditor.vocabulary import Severity, VulnSource


class Override(Frozen):
    """A project's change to an included rule: a threshold or a severity, always with its reason."""

    severity: Severity | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="Merged over the rule's own parameters")
    reason: str = Field(min_length=10, description="Why this project departs from the pack")


class VulnSettings(Frozen):
    source: VulnSource | None = Field(
        None, description="local (an OSV folder), pypi or osv (pip-audit); default: local when a database is set"
    )
    database: str | None = Field(None, description="A local OSV advisory folder, relative to auditor.yaml")
    osv_url: str | None = Field(None, description="An OSV-compatible query endpoint (a mirror) for source 'osv'")
    max_age_days: int = Field(30, ge=0, description="Warn when the local database is older than this")
    on_stale: Literal["warn", "fail"] = Field(
        "warn", description="fail: a database older than max_age_days (or undated) is 'could not evaluate'"
    )
    timeout_s: float = Field(300, gt=0, description="Give up on pip-audit after this long (could not evaluate)")


class PolicySettings(Frozen):
    packs: tuple[str, ...] = Field(("default",), min_length=1, description="Shipped pack names or pack files")
    fail_on: Severity = Field("low", description="Exit 1 on failures at or above this severity")
    waivers: str | None = Field(None, description="The waivers file, relative to auditor.yaml")
    overrides: dict[str, Override] = Field(default_factory=dict, description="By rule id")
    vulnerabilities: VulnSettings = VulnSettings()
