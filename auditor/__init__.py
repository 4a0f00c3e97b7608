"""auditor: make machine-learning runs auditable.

execute or ingest -> run record (store) -> check against rules -> findings -> dossier
"""

__version__ = "0.1.0"
