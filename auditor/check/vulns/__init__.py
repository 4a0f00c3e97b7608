"""Vulnerability sources for auditing the Python packages recorded in a run.

Every source answers per package with "vulnerable", "clean" or "not_audited"; anything it could not
check is reported as not audited, never as clean (auditor never fails open).
"""

from auditor.check.vulns.osv_local import (
    Advisory,
    AdvisoryDatabaseError,
    DatabaseInfo,
    LocalOsvDatabase,
    PackageAudit,
)

__all__ = ["Advisory", "AdvisoryDatabaseError", "DatabaseInfo", "LocalOsvDatabase", "PackageAudit"]
