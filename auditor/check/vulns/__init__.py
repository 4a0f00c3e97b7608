"""Vulnerability sources for auditing the Python packages recorded in a run (`sources.py` lists them).

Every source answers per package with "vulnerable", "clean" or "not_audited"; anything it could not
check is reported as not audited, never as clean (auditor never fails open).
"""
