"""Ingest runs that other tools recorded into auditor's run record: one subpackage per tool, each
exposing its `Ingester` (interface.py); `registry.py` lists them once."""
