"""The real tools the ingest tests run: one virtualenv per tool, made by `./dev setup`
from tests/ingest/tools/NAME.txt. A missing one fails the test: it is never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

TOOLS = REPO / ".cache" / "tools"


def tool_python(name: str) -> Path:
    python = TOOLS / name / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run `./dev setup` (it installs tests/ingest/tools/{name}.txt)")
    return python
