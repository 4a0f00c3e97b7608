"""The two building blocks of every record model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base of every record model: immutable, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Missing(Frozen):
    """Evidence that could not be captured, and why."""

    state: Literal["missing"] = "missing"
    reason: str
