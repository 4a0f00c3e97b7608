"""Commands: `lineage`, `duplicates`: questions across runs."""

from __future__ import annotations
