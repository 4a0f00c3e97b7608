"""What the dossier's fairness section shows: per attribute, one dense table of groups and the rules'
plain-language findings. Plain data, every text escaped by the template."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Cell:
    """A number, its 95% interval (empty when none) and the rule's mark for it (empty when none)."""

    value: str
    interval: str = ""
    mark: str = ""  # pass / fail / inconclusive: how the rule judges this group's number


@dataclass(frozen=True)
class FairGroupRow:
    group: str
    count: int
    small: bool
    reference: bool
    base_rate: str
    selection: Cell
    tpr: Cell
    fpr: Cell
    precision: str
    fnr: str
    selection_difference: Cell  # group minus reference, in points
    selection_ratio: Cell
    tpr_difference: Cell
    fpr_difference: Cell


@dataclass(frozen=True)
class RuleLine:
    rule_id: str
    outcome: str
    message: str
    subject: str = ""
    blocker: int | None = None  # the verdict page's row that states this finding (not repeated here)


@dataclass(frozen=True)
class FairnessView:
    attributes: str
    reference: str  # "25+ (declared)", "male & 25+ (the largest group: ...)"
    chart: Markup | None  # auditor's own SVG, every label escaped when it was built
    chart_alt: str
    groups: tuple[FairGroupRow, ...]
    rules: tuple[RuleLine, ...]
    attribute_level: str  # fairlearn's values on one line
    notes: tuple[str, ...]  # issues the table does not already show
    inputs: str = ""  # whether the attribute is a model input, directly or through likely proxies
