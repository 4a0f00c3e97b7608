"""Commands: `diff`: what changed between two runs."""

from __future__ import annotations
