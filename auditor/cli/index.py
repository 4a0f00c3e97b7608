"""Commands: `index rebuild`, `index check`: the run index."""

from __future__ import annotations
