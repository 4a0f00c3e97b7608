"""Which model inputs are sensitive attributes, directly or derived by name, and which are likely proxies.

A feature is flagged when it is one of the predictions' sensitive columns, or when one is derived from
the other by name: `age` for the sensitive column `age_group`, or a one-hot column `sex_male` for `sex`.
Likely proxies (columns statistically associated with a sensitive attribute) are computed elsewhere,
from the data; they join here through `associations` (feature -> how it is associated).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from auditor.record.model_card import Feature

DIRECT = "sensitive attribute is a direct model input"


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def _derived(feature: str, column: str) -> bool:
    """`feature` and `column` name the same attribute: one's name tokens start the other's."""
    a, b = _tokens(feature), _tokens(column)
    if not a or not b:
        return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[: len(shorter)] == shorter


def feature_flags(
    features: Sequence[str], sensitive_columns: Sequence[str], associations: Mapping[str, str] | None = None
) -> tuple[Feature, ...]:
    out = []
    for feature in features:
        flags = []
        for column in sensitive_columns:
            if feature.lower() == column.lower():
                flags.append(DIRECT)
            elif _derived(feature, column):
                flags.append(f"{DIRECT} ('{feature}' and the sensitive column '{column}' name the same attribute)")
        if associations and feature in associations and not flags:  # a direct input is not also its own proxy
            flags.append(f"likely proxy: {associations[feature]}")
        out.append(Feature(name=feature, flags=tuple(dict.fromkeys(flags))))
    return tuple(out)
