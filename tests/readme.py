"""The README's code snippets, found by their `<!-- snippet: NAME -->` marker, so tests can run them."""

from __future__ import annotations

import re

from tests.conftest import REPO


def snippet(name: str) -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(rf"<!-- snippet: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", text, re.DOTALL)
    assert found is not None, f"README.md has no snippet {name!r}"
    return found.group(1)
