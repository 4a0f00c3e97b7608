"""Commands: `portfolio`: the static site for managers."""

from __future__ import annotations
