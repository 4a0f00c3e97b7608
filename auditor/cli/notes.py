"""Commands: `note`, `notes`: discussions on runs."""

from __future__ import annotations
