"""Custom rules: a CEL expression (the language of Kubernetes admission policies) over the record.

The parameters live here, light; the evaluation lives in `cel`, which imports cel-python (0.1 s)
only when a pack has an `expression` rule. See `cel` for the semantics: `record` is the record's
JSON with null fields left out, `for_each` gives one verdict per element bound to `item`, a
non-bool result or an evaluation error is "could not evaluate", never a pass.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from auditor.check.checks.interface import CheckContext, CheckDef
from auditor.record import RunRecord
from auditor.record.base import Frozen
from auditor.record.findings import Verdict

MAX_LENGTH = 2000


class ExpressionParams(Frozen):
    expression: str = Field(min_length=1, max_length=MAX_LENGTH, description="CEL yielding a bool: true passes")
    for_each: str | None = Field(
        None, min_length=1, max_length=MAX_LENGTH, description="CEL yielding a list; `item` is each element"
    )
    subject: str | None = Field(
        None, min_length=1, max_length=MAX_LENGTH, description="CEL yielding the verdict's subject (a string)"
    )
    message: str | None = Field(None, min_length=1, description="Plain text for a failure (not CEL)")

    @field_validator("expression", "for_each", "subject")
    @classmethod
    def _compiles(cls, text: str | None) -> str | None:
        if text is not None:
            from auditor.check.checks.cel import program  # celpy loads only when a pack uses CEL

            program(text)
        return text


def _evaluate(record: RunRecord, params: ExpressionParams, ctx: CheckContext) -> list[Verdict]:
    from auditor.check.checks.cel import evaluate

    return evaluate(record, params, ctx)


EXPRESSION = CheckDef(
    "expression",
    ExpressionParams,
    _evaluate,
    "a custom CEL expression over the record (optionally for each element of a list) is true",
)
