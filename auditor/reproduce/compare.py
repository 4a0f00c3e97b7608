"""Does a re-run reproduce the original? Inputs first, then outputs by hash and metrics by tolerance.

Groundwork for `auditor reproduce` (the container issue); pure functions over two records.

- Before re-running: every declared input must still have the content hash recorded before the
  original run (`inputs_changed`); otherwise the verdict is "inputs changed" and nothing runs.
- After: `compare` gives
  - identical: every output and model has the same content hash, every metric the same value;
  - equivalent: some outputs differ by hash, but every metric is within its tolerance
    (a float printed one ulp differently changes a file's hash, not its meaning);
  - diverged: a metric outside its tolerance, a metric or output missing on one side, or an
    output that could not be hashed.
  Every differing file and metric is listed, whatever the verdict.

Tolerances: a metric passes when |a - b| <= max(abs, rel * max(|a|, |b|)), the rule of
`math.isclose`. Defaults: rel 1e-6, abs 1e-9; set per metric, or for all with the name `*`,
as `NAME=rel:1e-3,abs:1e-6`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from auditor.errors import UsageError
from auditor.record import RunRecord
from auditor.record.lineage import ContentHash, Hash, Lineage, Observation
from auditor.text import run_outcome

Verdict = Literal["identical", "equivalent", "diverged"]


@dataclass(frozen=True)
class Tolerance:
    rel: float = 1e-6
    abs: float = 1e-9

    def accepts(self, a: float, b: float) -> bool:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)


@dataclass(frozen=True)
class Difference:
    kind: Literal["output", "metric", "run"]
    name: str
    original: str
    reproduced: str
    within_tolerance: bool


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    differences: tuple[Difference, ...] = field(default=())


def parse_tolerances(specs: Sequence[str]) -> dict[str, Tolerance]:
    """`auc=rel:1e-3,abs:1e-6` or `*=rel:1e-4`; a usage error names the bad part."""
    out: dict[str, Tolerance] = {}
    for spec in specs:
        name, sep, body = spec.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--tolerance {spec!r}: expected NAME=rel:X,abs:Y (NAME may be *)")
        values = {"rel": Tolerance.rel, "abs": Tolerance.abs}
        for part in body.split(","):
            key, colon, number = part.partition(":")
            try:
                value = float(number)
            except ValueError:
                value = -1.0
            if not colon or key.strip() not in values or not (value >= 0 and math.isfinite(value)):
                raise UsageError(f"--tolerance {spec!r}: {part!r} is not rel:NUMBER or abs:NUMBER (>= 0)")
            values[key.strip()] = value
        out[name.strip()] = Tolerance(rel=values["rel"], abs=values["abs"])
    return out


def tolerance_for(tolerances: Mapping[str, Tolerance], name: str) -> Tolerance:
    """The metric's own tolerance, else the one given for `*`, else the default."""
    return tolerances.get(name) or tolerances.get("*") or Tolerance()


def inputs_changed(original: RunRecord, rehash: Callable[[str], Hash | None]) -> tuple[tuple[str, str, str], ...]:
    """(dataset id, recorded, now) for every declared input whose content is not what the run read.

    `rehash` maps a dataset's recorded path to its hash now (None when it has no local path)."""
    lineage = original.lineage
    if not isinstance(lineage, Lineage):
        raise UsageError("the original run has no lineage: its inputs cannot be checked, so it is not reproduced")
    changed = []
    for dataset in lineage.datasets:
        if dataset.role != "input" or dataset.path is None:
            continue
        before = _digest(dataset.before)
        now = _digest(rehash(dataset.path))
        if before is None or now != before:
            changed.append((dataset.id, before or "not hashed", now or "absent or unreadable"))
    return tuple(changed)


def compare(original: RunRecord, reproduced: RunRecord, tolerances: Mapping[str, Tolerance]) -> Comparison:
    differences = _outcome(original, reproduced) + _outputs(original, reproduced)
    differences += _unwritten(original, reproduced) + _metrics(original, reproduced, tolerances)
    if any(not d.within_tolerance for d in differences):
        return Comparison("diverged", tuple(differences))
    if differences:
        return Comparison("equivalent", tuple(differences))
    return Comparison("identical")


def _outcome(original: RunRecord, reproduced: RunRecord) -> list[Difference]:
    """A re-run that failed or was stopped reproduces nothing, whatever files it left."""
    a, b = original.identity, reproduced.identity
    if (a.status, a.exit_code) == (b.status, b.exit_code):
        return []
    was, now = run_outcome(a.status, a.exit_code), run_outcome(b.status, b.exit_code)
    return [Difference("run", "outcome", was, now, False)]


def _unwritten(original: RunRecord, reproduced: RunRecord) -> list[Difference]:
    """Outputs the re-run did not write: the original's files are still there, so their hashes
    would match without proving anything."""
    lineage = reproduced.lineage
    if not isinstance(lineage, Lineage):
        return []
    observed = lineage.observed
    if not isinstance(observed, Observation):
        return [Difference("run", "observation", "captured", f"not captured: {observed.reason}", False)]
    written = {f.dataset for f in observed.files if f.written and f.dataset}
    return [
        Difference("output", name, "written by the original run", "not written by the re-run", False)
        for name in sorted(_products(original))
        if name.split(":", 1)[1] not in written
    ]


def _digest(value: Hash | None) -> str | None:
    return value.sha256 if isinstance(value, ContentHash) else None


def _products(record: RunRecord) -> dict[str, str | None]:
    """Every output, intermediate and model by id, with its content hash after the run."""
    lineage = record.lineage
    if not isinstance(lineage, Lineage):
        return {}
    found = {f"dataset:{d.id}": _digest(d.after) for d in lineage.datasets if d.role != "input"}
    found |= {f"model:{m.id}": _digest(m.after) for m in lineage.models}
    return found


def _outputs(original: RunRecord, reproduced: RunRecord) -> list[Difference]:
    before, after = _products(original), _products(reproduced)
    out = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is not None and a == b:
            continue
        comparable = a is not None and b is not None  # a changed file: fine if the metrics agree
        out.append(Difference("output", name, a or "missing", b or "missing", within_tolerance=comparable))
    return out


def _metrics(original: RunRecord, reproduced: RunRecord, tolerances: Mapping[str, Tolerance]) -> list[Difference]:
    before = {m.name: m.value for m in original.metrics}  # the last value logged under each name
    after = {m.name: m.value for m in reproduced.metrics}
    out = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is not None and b is not None and (a == b or (math.isnan(a) and math.isnan(b))):
            continue
        tolerance = tolerance_for(tolerances, name)
        ok = a is not None and b is not None and tolerance.accepts(a, b)
        shown = ("missing" if a is None else repr(a), "missing" if b is None else repr(b))
        out.append(Difference("metric", name, shown[0], shown[1], within_tolerance=ok))
    return out
