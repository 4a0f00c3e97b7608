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


def gaps_pack(tool: str, *extra: tuple[str, str, str]) -> str:
    """A rule pack of evidence TOOL never records: each rule must say "could not evaluate",
    never pass. Always hardware and input hashes; `extra` adds (id, title, check kind)."""
    rules = [
        ("GAP-HW", "The hardware is recorded", "hardware_recorded", "medium"),
        ("GAP-HASH", "Every input dataset is content-hashed", "datasets_hashed", "high"),
        *((rule_id, title, kind, "high") for rule_id, title, kind in extra),
    ]
    text = f"pack: {tool}-gaps\nversion: 1\ndescription: Evidence a {tool} run cannot carry.\nincludes: []\nrules:\n"
    for rule_id, title, kind, severity in rules:
        text += (
            f"  - id: {rule_id}\n    title: {title}\n    severity: {severity}\n    rationale: r\n"
            f'    remediation: r\n    references: ["EU AI Act Annex IV"]\n    check: {{kind: {kind}}}\n'
        )
    return text
