"""The arithmetic of fairness evidence, on (group, label, prediction) counts, vectorised over resamples.

Every quantity auditor records is a function of the 2 x 2 confusion counts of each group, so one array
shaped (..., group, label, prediction) carries a whole data set or a stack of bootstrap resamples of it.

The bootstrap (percentile, 95 % by default) resamples ROWS with replacement, plainly: not stratified by
group, so a group's size varies between resamples as it would between samples of the same population.
Drawing `rows` rows with replacement gives the cell counts a multinomial law over the cells' observed
shares, so drawing the counts directly is the same bootstrap at a cost independent of the row count.
Group rates, signed differences to the reference group and the attribute-level disparities are all
computed on the SAME resamples. A resample in which a quantity is undefined (a group drawn without
favourable labels has no TPR) is left out of that quantity's interval only.

Attribute-level disparities (max - min and the like) cannot have an honest interval as an absolute value:
|a - b| is never below 0, so its percentile interval never contains 0 even where the groups do not
differ. auditor keeps the pair of groups (and, for equalized odds, the rate) that sets the observed value
fixed and bootstraps the signed difference (or ratio) between them: the interval can reach 0 or beyond,
which says the order of the two groups is not established.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

RATES = (
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
)
METHOD = (
    "percentile bootstrap; rows resampled with replacement (plain, not stratified by group); group rates, "
    "differences to the reference group and attribute-level values all come from the same resamples; "
    "attribute-level values keep the group pair that sets the observed value and are bootstrapped signed, "
    "so their intervals can contain 0"
)


COMPARED = ("selection_rate", "true_positive_rate", "false_positive_rate")  # what groups are compared on


def rate(cells: Floats, name: str) -> Floats:
    """One rate of every group from counts shaped (..., group, label, prediction); NaN where undefined.

    Cells are added by hand: numpy's sum over a length-2 axis of a large array is several times slower."""
    tn, fp, fn, tp = cells[..., 0, 0], cells[..., 0, 1], cells[..., 1, 0], cells[..., 1, 1]
    if name in ("selection_rate", "base_rate", "accuracy"):
        top = fp + tp if name == "selection_rate" else fn + tp if name == "base_rate" else tn + tp
        bottom = tn + fp + fn + tp
    elif name in ("true_positive_rate", "false_negative_rate"):
        top, bottom = (tp if name == "true_positive_rate" else fn), fn + tp
    elif name == "false_positive_rate":
        top, bottom = fp, tn + fp
    else:  # precision
        top, bottom = tp, fp + tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(top / bottom, dtype=np.float64)


def rates(cells: Floats) -> dict[str, Floats]:
    """Every group rate (RATES) from counts shaped (..., group, label, prediction); NaN where undefined."""
    return {name: rate(cells, name) for name in RATES}


def resample(cells: Floats, resamples: int, seed: int) -> Floats:
    """`resamples` bootstrap resamples of the rows behind `cells` (group, label, prediction), as counts."""
    total = cells.sum()
    drawn = np.random.default_rng(seed).multinomial(int(total), cells.ravel() / total, size=resamples)
    return drawn.reshape(resamples, *cells.shape).astype(np.float64)


def percentile_interval(values: Floats, confidence: float) -> tuple[Floats, Floats]:
    """Percentile interval along axis 0 over the defined (non-NaN) values, numpy's linear method.

    Equal to np.percentile on each column's defined values; NaN where a column has none."""
    tail = (1 - confidence) / 2
    ordered = np.sort(values, axis=0)  # NaN sorts last
    defined = (~np.isnan(values)).sum(0)
    out = []
    for q in (tail, 1 - tail):
        position = q * np.maximum(defined - 1, 0)
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, np.maximum(defined - 1, 0))
        low = np.take_along_axis(ordered, below[None], 0)[0]
        high = np.take_along_axis(ordered, above[None], 0)[0]
        value = low + (high - low) * (position - below)
        out.append(np.where(defined > 0, value, np.nan))
    return out[0], out[1]


def differences(group_rates: dict[str, Floats], ref: int) -> dict[str, Floats]:
    """Signed differences to the reference group (group minus reference) and the selection-rate ratio."""
    out = {
        f"{name}_difference": group_rates[name] - group_rates[name][..., ref : ref + 1]
        for name in ("selection_rate", "true_positive_rate", "false_positive_rate")
    }
    base = group_rates["selection_rate"][..., ref : ref + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["selection_rate_ratio"] = np.where(base > 0, group_rates["selection_rate"] / base, np.nan)
    return out


@dataclass(frozen=True)
class Pair:
    """How an attribute-level value is set: rate, the two groups (indices into the compared groups), form.

    difference: rate[first] - rate[second]; ratio: rate[first] / rate[second]."""

    rate: str
    first: int
    second: int
    ratio: bool

    def value(self, group_rates: dict[str, Floats]) -> Floats:
        a = group_rates[self.rate][..., self.first]
        b = group_rates[self.rate][..., self.second]
        if not self.ratio:
            return a - b
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 0, a / b, np.nan)


def _spread(values: Floats, rate: str) -> tuple[Pair, Pair] | None:
    """(max - min, min / max) over the groups where the rate is defined; None with fewer than two."""
    defined = np.flatnonzero(~np.isnan(values))
    if defined.size < 2:
        return None
    low = int(defined[np.argmin(values[defined])])
    high = int(defined[np.argmax(values[defined])])
    if low == high:  # all equal: the first two defined groups
        low, high = int(defined[1]), int(defined[0])
    return Pair(rate, high, low, ratio=False), Pair(rate, low, high, ratio=True)


def disparity_pairs(group_rates: dict[str, Floats], ref: int | None) -> dict[str, Pair | None]:
    """The pair that sets each attribute-level disparity on the observed data (rates shaped (group,)).

    Values follow fairlearn: demographic parity difference max - min, ratio min / max; equalized odds
    the worse of the TPR and FPR gaps (the larger difference, the smaller ratio); disparate impact the
    lowest ratio to the reference group (min / max without one)."""
    selection = _spread(group_rates["selection_rate"], "selection_rate")
    tpr = _spread(group_rates["true_positive_rate"], "true_positive_rate")
    fpr = _spread(group_rates["false_positive_rate"], "false_positive_rate")
    out: dict[str, Pair | None] = {
        "demographic_parity_difference": selection[0] if selection else None,
        "demographic_parity_ratio": _defined(selection[1], group_rates) if selection else None,
        "equalized_odds_difference": _worst([p[0] for p in (tpr, fpr) if p], group_rates, larger=True),
        "equalized_odds_ratio": _worst([p[1] for p in (tpr, fpr) if p], group_rates, larger=False),
    }
    if ref is None:
        out["disparate_impact_ratio"] = out["demographic_parity_ratio"]
    else:
        ratios = differences(group_rates, ref)["selection_rate_ratio"].copy()
        ratios[ref] = np.nan
        defined = np.flatnonzero(~np.isnan(ratios))
        out["disparate_impact_ratio"] = (
            Pair("selection_rate", int(defined[np.argmin(ratios[defined])]), ref, ratio=True) if defined.size else None
        )
    return out


def _defined(pair: Pair, group_rates: dict[str, Floats]) -> Pair | None:
    return None if np.isnan(pair.value(group_rates)) else pair


def _worst(pairs: list[Pair], group_rates: dict[str, Floats], *, larger: bool) -> Pair | None:
    """fairlearn's agg="worst_case": the larger gap (first on a tie, TPR before FPR), the smaller ratio."""
    found = [(float(v), p) for p in pairs if not np.isnan(v := p.value(group_rates))]
    if not found:
        return None
    pick = max if larger else min
    best = pick(v for v, _ in found)
    return next(p for v, p in found if v == best)
