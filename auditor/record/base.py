"""The two building blocks of every record model.

The modules that define record models (here, and in auditor/project) do not use `from __future__
import annotations`: pydantic would compile and evaluate every field's annotation from its text
(579 of them, ~14 ms of CPU each time a command loads the models). Only true forward references
are written as text.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base of every record model: immutable, strict about unknown keys, and every float finite.

    JSON has no NaN or infinity, and no threshold may be compared with one (-inf <= 0.1 holds):
    a float field given "1e310", "inf" or "nan" as text would otherwise validate to one.

    `defer_build`: a model's validator and serializer are built when it is first used, not when its
    module is imported. A record is validated as a whole by RunRecord's validator, which holds every
    nested model's schema: the nested models' own validators were built at import and never used
    (`auditor check` of 2,000 packages and 10,000 datasets: about 0.03 s of 0.9 s). The schema, and
    so every validation result and error, is the same either way."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, defer_build=True)


class Missing(Frozen):
    """Evidence that could not be captured, and why."""

    state: Literal["missing"] = "missing"
    reason: str
