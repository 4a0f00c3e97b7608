"""auditor: make machine-learning runs auditable.

execute or ingest -> run record (store) -> check against rules -> findings -> dossier

Training scripts use the logging API below; it is standard library only, so
`import auditor` stays cheap inside the scripts auditor observes.
"""

from auditor.api import log_dataset, log_metric, log_params, log_predictions

__version__ = "0.1.0"
__all__ = ["__version__", "log_dataset", "log_metric", "log_params", "log_predictions"]
