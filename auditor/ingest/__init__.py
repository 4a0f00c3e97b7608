"""Ingest runs that other tools recorded (MLflow, DVC, OpenLineage) into auditor's run record."""
