"""Advisory YAML: read by libyaml's safe loader where PyYAML has it, the pure-Python one where not, with
the same documents either way; a file whose aliases expand past safe_yaml's bound, or that is nested
deeper than can be turned into text, is a named problem that leaves its package not audited."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from auditor.check.vulns import osv_index, osv_records
from auditor.check.vulns.osv_local import LocalOsvDatabase
from tests.conftest import ADVISORY_SNAPSHOT, FIXTURES

SMALL = FIXTURES / "advisories" / "small"
VALID = """\
id: TEST-2024-80
modified: 2024-05-01T00:00:00Z
details: "Widgets & gadgets: one range, written once and named twice"
affected:
- package: {name: acme-widgets, ecosystem: PyPI}
  ranges:
  - &range {type: ECOSYSTEM, events: [{introduced: "0"}, {fixed: "9.0"}]}
- package: {name: acme-gadgets, ecosystem: PyPI}
  ranges: [*range]
"""


def _bomb(levels: int) -> str:
    lines = ["id: TEST-2024-81", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    lines += [f"details: *a{levels - 1}", "affected:", "- package: {name: acme-widgets, ecosystem: PyPI}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SMALL, tmp_path / "db"))


def _files(root: Path) -> list[Path]:
    """The small database's files and every PyPA advisory holding an `&` (a few hundred more for both)."""
    snapshot = sorted(ADVISORY_SNAPSHOT.rglob("*.yaml"))
    return [
        *sorted(root.rglob("*.yaml")),
        *[p for p in snapshot if "&" in p.read_text(encoding="utf-8")],
        *snapshot[::20],
    ]


def test_the_c_and_the_pure_python_loader_read_the_same_documents(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (db / "vulns" / "acme-widgets" / "TEST-2024-80.yaml").write_text(VALID)
    files = _files(db)
    assert getattr(yaml, "CSafeLoader", None) is osv_records._LOADER  # this machine's PyYAML has libyaml
    with_c = [osv_index._parse_one(str(p), p) for p in files]
    monkeypatch.setattr(osv_records, "_LOADER", yaml.SafeLoader)
    assert [osv_index._parse_one(str(p), p) for p in files] == with_c
    valid = with_c[[p.name for p in files].index("TEST-2024-80.yaml")]
    assert not isinstance(valid, osv_index._Unreadable)
    assert sorted(valid[1]) == ["acme-gadgets", "acme-widgets"]  # the alias read as its anchor


@pytest.mark.parametrize("loader", ["c", "python"])
def test_an_alias_bomb_is_a_named_problem_not_a_hang(db: Path, loader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """676 bytes that describe 10^9 values: turning `details` into text would never end."""
    if loader == "python":
        monkeypatch.setattr(osv_records, "_LOADER", yaml.SafeLoader)
    (db / "vulns" / "acme-widgets" / "TEST-2024-81.yaml").write_text(_bomb(9))
    opened = LocalOsvDatabase.open(db)
    [problem] = opened.info.problems
    assert problem == "vulns/acme-widgets/TEST-2024-81.yaml: expands to more than 1000000 values (nested YAML aliases)"
    [audit] = opened.audit([("acme-widgets", "99.0")])
    assert audit.status == "not_audited" and "TEST-2024-81.yaml" in (audit.reason or "")


@pytest.mark.parametrize("limit", [1000, 2500])  # Python's default; what the CEL checks raise it to
def test_nesting_too_deep_for_text_is_a_named_problem(db: Path, limit: int) -> None:
    """libyaml reads up to 1,000 levels; turning 998 into text recursed past Python's limit (a crash before),
    or not, as that limit stood when the check ran. Past osv_records.MAX_DEPTH it is a named problem,
    whatever the limit; at it, the advisory is read."""
    import sys

    widgets = db / "vulns" / "acme-widgets"
    widgets.joinpath("TEST-2024-83.yaml").write_text(
        f"id: TEST-2024-83\ndetails: {'[' * osv_records.MAX_DEPTH}{']' * osv_records.MAX_DEPTH}\n"
        "affected:\n- package: {name: acme-widgets, ecosystem: PyPI}\n"
        "  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}]}]\n"
    )
    for depth in (998, osv_records.MAX_DEPTH + 1):
        widgets.joinpath("TEST-2024-82.yaml").write_text(
            f"id: TEST-2024-82\ndetails: {'[' * depth}{']' * depth}\n"
            "affected:\n- package: {name: acme-widgets, ecosystem: PyPI}\n"
        )
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(limit)
        try:
            opened = LocalOsvDatabase.open(db)
        finally:
            sys.setrecursionlimit(before)
        assert opened.info.problems == ("vulns/acme-widgets/TEST-2024-82.yaml: nested too deeply",)
        [audit] = opened.audit([("acme-widgets", "99.0")])
        assert audit.status == "vulnerable"  # TEST-2024-83, read; what it proves is reported all the same
