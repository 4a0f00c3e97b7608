"""The two building blocks of every record model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base of every record model: immutable, strict about unknown keys, and every float finite.

    JSON has no NaN or infinity, and no threshold may be compared with one (-inf <= 0.1 holds):
    a float field given "1e310", "inf" or "nan" as text would otherwise validate to one."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Missing(Frozen):
    """Evidence that could not be captured, and why."""

    state: Literal["missing"] = "missing"
    reason: str
