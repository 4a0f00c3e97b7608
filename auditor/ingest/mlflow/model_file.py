"""A logged scikit-learn model's pickle, read without executing it (capture/model/unpickle.py), so an
ingested run's model card shows what the model is, as an executed run's does.

MLflow's sklearn flavor names the file in MLmodel (`pickled_model`); with `serialization_format`
pickle or cloudpickle it is a pickle (cloudpickle refers to scikit-learn's classes by name, as pickle
does). MLflow 3's default, skops, is a zip archive and is reported as not read.
"""

from __future__ import annotations

from auditor.capture.model.inspect import inspect_model
from auditor.capture.model.unpickle import ModelFileError
from auditor.files import UntrustedFileError, read_regular_file
from auditor.ingest.mlflow.artifacts import Found
from auditor.record.base import Missing
from auditor.record.model_card import InspectedModel

MAX_MODEL_BYTES = 512 * 1024 * 1024


def inspect_model_folder(found: Found) -> InspectedModel | Missing:
    if found.unsafe:
        return Missing(reason=f"not read: {found.unsafe} is a symbolic link out of the MLflow store")
    flavors = (found.mlmodel or {}).get("flavors")
    sklearn = flavors.get("sklearn") if isinstance(flavors, dict) else None
    name = sklearn.get("pickled_model") if isinstance(sklearn, dict) else None
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        return Missing(reason="not read: MLmodel names no pickled scikit-learn model (sklearn flavor, pickled_model)")
    display = f"{found.display}/{name}"
    try:
        data = read_regular_file(found.path / name, MAX_MODEL_BYTES)
    except UntrustedFileError as exc:
        return Missing(reason=f"could not read the model file: {exc.why}")
    except OSError as exc:
        return Missing(reason=f"could not read the model file: {exc.strerror or exc}")
    try:
        return inspect_model(data, display)
    except ModelFileError as exc:
        return Missing(reason=str(exc))
