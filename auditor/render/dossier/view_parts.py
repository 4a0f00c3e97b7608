"""The two view objects every section shares, apart from views.py so that a section's own view module
(views_model.py, ...) can use them without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Svg:
    """An SVG that auditor built (labels escaped at build time); the only markup in the content."""

    markup: Markup
    alt: str


@dataclass(frozen=True)
class Item:
    """One row of a label/value table. `missing` marks evidence that was not captured."""

    label: str
    value: str
    missing: bool = False
    mono: bool = False
