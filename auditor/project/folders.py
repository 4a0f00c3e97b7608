"""Folders inside a project that belong to tools, not to the project's code or data: version
control, auditor's own store, caches. The tree diff of a run and `auditor init` both skip them."""

from __future__ import annotations

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".auditor", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
