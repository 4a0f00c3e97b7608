"""auditor: make machine-learning runs auditable.

execute or ingest -> run record (store) -> check against rules -> findings -> dossier

Training scripts use the logging API below; it is standard library only, so `import auditor` stays
cheap inside the scripts auditor observes. `auditor.load_record` and `auditor.check`, the library API
(auditor/check/api.py), load the rest of auditor on first use only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.api import (
    log_artifact,
    log_dataset,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_predictions,
    set_tag,
    set_tags,
)

if TYPE_CHECKING:
    from auditor.check.api import check, load_record

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "check",
    "load_record",
    "log_artifact",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_predictions",
    "set_tag",
    "set_tags",
]


def __getattr__(name: str) -> Any:
    """`auditor.check` and `auditor.load_record`, imported when first used (PEP 562)."""
    if name == "load_record":
        from auditor.check.api import load_record

        return load_record
    if name == "check":  # the package, callable (see auditor/check/__init__.py); Python binds it here
        import auditor.check

        return auditor.check
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")
