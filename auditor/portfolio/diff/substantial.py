"""Indications of a "substantial modification" in the EU AI Act's sense (Article 3(23)).

Article 3(23) defines it as a change after placing on the market or putting into service that was
not foreseen in the initial conformity assessment and affects compliance or the intended purpose.
Whether a change is one is a legal assessment auditor cannot make. What two runs can show is
evidence that points at one: different training data, a different model type, a changed intended
purpose. Each criterion says "indicated" with its evidence, "not indicated", or "could not tell"
when the evidence is missing on a side; never a conclusion.
"""

from __future__ import annotations

from auditor.portfolio.diff.model import Indication, Section
from auditor.record import RunRecord
from auditor.record.lineage import Lineage
from auditor.record.model_card import InspectedModel, ModelCard

WORDING = (
    "indicates a possible substantial modification (EU AI Act, Article 3(23)), to be assessed by the "
    "provider; this is evidence, not a legal conclusion"
)


def _dataset_id(what: str) -> str:
    return what.removeprefix("dataset ").removesuffix(" (input)")


def _settings_files(record: RunRecord) -> set[str]:
    """Ids of input datasets that are the declared params or metrics files: configuration, compared
    under parameters, not training data."""
    card, lineage = record.model_card, record.lineage
    if not isinstance(card, ModelCard) or not isinstance(lineage, Lineage):
        return set()
    paths = {f.path for f in (*card.params_files, *card.metrics_files)}
    return {d.id for d in lineage.datasets if d.path in paths}


def training_data(a: RunRecord, b: RunRecord, data: Section) -> Indication:
    if not isinstance(a.lineage, Lineage) or not isinstance(b.lineage, Lineage):
        return Indication("training data", "could not tell", ("the lineage is not recorded on both sides",))
    settings = _settings_files(a) | _settings_files(b)
    inputs = [
        c
        for c in data.changes
        if c.what.startswith("dataset ") and c.what.endswith("(input)") and _dataset_id(c.what) not in settings
    ]
    changed = [c for c in inputs if c.kind in ("added", "removed", "changed")]
    if changed:
        return Indication(
            "training data",
            "indicated",
            tuple(
                f"input {c.what.removeprefix('dataset ')}: {c.kind}: {c.a or 'absent'} -> {c.b or 'absent'}"
                for c in changed
            ),
        )
    unknown = [c for c in inputs if c.kind == "missing"]
    if unknown:
        return Indication(
            "training data",
            "could not tell",
            tuple(f"input {c.what.removeprefix('dataset ')}: cannot be compared" for c in unknown),
        )
    if not any(d.role == "input" and d.id not in settings for d in (*a.lineage.datasets, *b.lineage.datasets)):
        return Indication("training data", "could not tell", ("neither run declares an input dataset",))
    why = ["every input dataset has the same content key"]
    derived = [
        c.what.removeprefix("dataset ").removesuffix(" (intermediate)")
        for c in data.changes
        if c.what.startswith("dataset ") and c.what.endswith("(intermediate)") and c.kind != "missing"
    ]
    if derived:  # a DVC run's features, a split: made from the same inputs, changed by parameters or code
        why.append(
            f"derived data changed ({', '.join(derived)}), made from the same inputs: see parameters and code "
            "for what changed it"
        )
    if settings:
        why.append(f"declared params and metrics files ({', '.join(sorted(settings))}) are compared as parameters")
    return Indication("training data", "not indicated", tuple(why))


def _types(record: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    card = record.model_card
    if isinstance(card, ModelCard):
        for model in card.models:
            if isinstance(model.file, InspectedModel):
                found[model.id] = f"{model.file.module}.{model.file.class_name}"
            elif model.type is not None:
                found[model.id] = model.type.value
    if isinstance(record.lineage, Lineage):
        for artifact in record.lineage.models:
            flavors = artifact.annotations.get("flavors")
            if artifact.id not in found and flavors:
                found[artifact.id] = f"flavors {flavors}"
    return found


def model_type(a: RunRecord, b: RunRecord) -> Indication:
    ta, tb = _types(a), _types(b)
    if not ta or not tb:
        side = "A or B" if not ta and not tb else ("A" if not ta else "B")
        return Indication("model type", "could not tell", (f"no model type is recorded in {side}",))
    evidence = []
    for model in sorted(ta.keys() | tb.keys()):
        x, y = ta.get(model), tb.get(model)
        if x != y:
            evidence.append(f"model {model}: {x or 'absent'} -> {y or 'absent'}")
    if evidence:
        return Indication("model type", "indicated", tuple(evidence))
    return Indication("model type", "not indicated", tuple(f"model {m}: {t} in both" for m, t in sorted(ta.items())))


def intended_purpose(a: RunRecord, b: RunRecord) -> Indication:
    ua = a.lineage.project.intended_use if isinstance(a.lineage, Lineage) else None
    ub = b.lineage.project.intended_use if isinstance(b.lineage, Lineage) else None
    if ua is None or ub is None:
        side = "A or B" if ua is None and ub is None else ("A" if ua is None else "B")
        return Indication("intended purpose", "could not tell", (f"no intended use is declared in {side}",))
    if " ".join(ua.split()) != " ".join(ub.split()):
        return Indication("intended purpose", "indicated", (f"A: {ua}", f"B: {ub}"))
    return Indication("intended purpose", "not indicated", ("the declared intended use is the same",))


def indications(a: RunRecord, b: RunRecord, data: Section) -> tuple[Indication, ...]:
    return (training_data(a, b, data), model_type(a, b), intended_purpose(a, b))
