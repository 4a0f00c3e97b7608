"""A sign-off: a named person's dated decision on one run's findings.

Records are immutable, so a sign-off is a document of its own, kept beside the run in the store
and appended to the store's log. It names the exact bytes it covers: the record's SHA-256 and the
findings' digest (`auditor.check.digest`). When either changes later (a record replaced, a policy,
waiver or advisory database that now finds something else), the sign-off no longer covers what a
dossier shows, and the dossier says so instead of carrying the approval over.
"""

from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from auditor.record.base import Frozen
from auditor.record.ids import ULID_PATTERN
from auditor.text import UNSAFE

SIGNOFF_KIND: Literal["auditor.signoff"] = "auditor.signoff"
SIGNOFF_VERSION: Literal["1.0"] = "1.0"
SIGNOFF_PAYLOAD_TYPE = "application/vnd.auditor.signoff.v1+json"
Decision = Literal["approve", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "reject")
SHA256 = r"^[0-9a-f]{64}$"
MAX_COMMENT = 10_000


class SignOff(Frozen):
    kind: Literal["auditor.signoff"] = SIGNOFF_KIND
    version: Literal["1.0"] = SIGNOFF_VERSION
    signoff_id: str = Field(pattern=ULID_PATTERN.pattern, description="A ULID: when it was made, and unique")
    run_id: str = Field(min_length=1, max_length=200)
    record_sha256: str = Field(pattern=SHA256, description="sha256 of the record.json bytes it covers")
    findings_sha256: str = Field(pattern=SHA256, description="Digest of the findings it covers (check/digest.py)")
    verdict: Literal["compliant", "violations", "could_not_evaluate"] = Field(
        description="The verdict the person saw when deciding"
    )
    failing: dict[str, int] = Field(default_factory=dict, description="Failing findings by severity, as seen")
    decision: Decision
    role: str = Field(min_length=1, max_length=100, description="The role the person decided in")
    name: str = Field(min_length=1, max_length=200, description="Who decided, as they gave their name")
    comment: str = Field(max_length=MAX_COMMENT)
    decided_at: AwareDatetime
    tool_version: str = Field(max_length=100)

    @field_validator("role", "name")
    @classmethod
    def _plain_line(cls, value: str) -> str:
        if value != value.strip() or UNSAFE.search(value):
            raise ValueError("one plain line: no control, format or invisible characters, no outer spaces")
        return value

    @field_validator("comment")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if UNSAFE.search(value.replace("\n", " ").replace("\t", " ")):
            raise ValueError("plain text: lines and tabs, no other control, format or invisible characters")
        return value
