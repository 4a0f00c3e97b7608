"""The verdict of a reproduction, attached to the reproducing run's record before it is written.

The record of the re-run carries `links.reproduces`, the verdict with every difference and the
tolerances used, and a `reproduces` edge from its run node to the original's in its lineage
graph; the original record is never modified (records are immutable), so `auditor show` and
the dossier find reproductions by that link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.record.lineage import Lineage
from auditor.record.models import Links, ReproDifference, Reproduction, RunRecord, ToleranceSetting
from auditor.reproduce.compare import Tolerance, compare


@dataclass(frozen=True)
class ReproductionPlan:
    original: RunRecord
    tolerances: Mapping[str, Tolerance]
    inputs_checked: tuple[str, ...]
    environment_check: str

    def attach(self, record: RunRecord) -> RunRecord:
        comparison = compare(self.original, record, self.tolerances)
        settings = {name: ToleranceSetting(rel=t.rel, abs=t.abs) for name, t in self.tolerances.items()}
        settings.setdefault("*", ToleranceSetting(rel=Tolerance.rel, abs=Tolerance.abs))
        original_id = self.original.identity.run_id
        reproduction = Reproduction(
            original_run_id=original_id,
            verdict=comparison.verdict,
            differences=tuple(
                ReproDifference(
                    kind=d.kind,
                    name=d.name,
                    original=d.original,
                    reproduced=d.reproduced,
                    within_tolerance=d.within_tolerance,
                )
                for d in comparison.differences
            ),
            tolerances=dict(sorted(settings.items())),
            inputs_checked=self.inputs_checked,
            environment_check=self.environment_check,
        )
        update: dict[str, object] = {"links": Links(reproduces=original_id), "reproduction": reproduction}
        if isinstance(record.lineage, Lineage):
            update["lineage"] = _with_edge(record.lineage, record.identity.run_id, original_id, comparison.verdict)
        return record.model_copy(update=update)


def _with_edge(lineage: Lineage, run_id: str, original_id: str, verdict: str) -> Lineage:
    graph = dict(lineage.graph)
    original = f"run:{original_id}"
    graph["nodes"] = [
        *graph.get("nodes", []),
        {"id": original, "kind": "run", "label": f"original run {original_id}", "reproduced": verdict},
    ]
    graph["edges"] = [*graph.get("edges", []), {"source": f"run:{run_id}", "target": original, "kind": "reproduces"}]
    return lineage.model_copy(update={"graph": graph})
