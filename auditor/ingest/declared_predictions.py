"""Which predictions file, if any, is an ingested run's own: the one auditor.yaml declares, read
where the run recorded it (a DVC output, an MLflow artifact in the store), or as it is in the project.

A file the run recorded is its own; DVC's MD5 tells whether it changed since. A file only in the
project is taken as the run's when that run is the only one ingested (and says so); with several
runs read at once (an MLflow experiment) nothing ties it to one of them, so none is evaluated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor.ingest.declared_card import MAX_PREDICTIONS_BYTES, predictions, read_project_file
from auditor.ingest.declared_match import Index, Places
from auditor.ingest.ingested import Ingested
from auditor.project.spec import PredictionsSpec
from auditor.record.lineage import IdentityHint

Found = tuple[PredictionsSpec, str, bytes]


def run_predictions(
    run: Ingested, options: PredictionsSpec, places: Places, roots: tuple[Path, ...], alone: bool, notes: list[str]
) -> Found | str:
    """The predictions to evaluate for `run`, or why there are none. `roots`: the folders files may be
    read from (auditor.yaml's first, then the source's project)."""
    produced = [d for d in run.datasets if d.role != "input" and d.path]
    hits = Index(produced, places).match(options.path, None)
    dataset = next((d for d in produced if d.id in hits), None)
    if dataset is not None and dataset.path is not None and places.source is not None:
        data = read_project_file((places.source, *roots), dataset.path, MAX_PREDICTIONS_BYTES)
        if isinstance(data, str):
            return f"{options.path}: {data}"
        hint = dataset.after
        plain_md5 = isinstance(hint, IdentityHint) and hint.algorithm == "md5"
        if plain_md5 and hashlib.md5(data, usedforsecurity=False).hexdigest() != getattr(hint, "value", None):
            notes.append(
                f"predictions {options.path}: changed since {run.tool} recorded it (its MD5 differs): "
                "fairness and performance are of the file as it is now"
            )
        return options, options.path, data
    if not alone:
        return (
            f"{options.path}: not among the files the {run.tool} run recorded, and with several runs "
            "ingested at once a file in the project cannot be told to be this run's"
        )
    found = predictions(roots, options)
    if not isinstance(found, str):
        notes.append(
            f"predictions {options.path}: not among the files the {run.tool} run recorded; "
            "evaluated as found in the project"
        )
    return found
