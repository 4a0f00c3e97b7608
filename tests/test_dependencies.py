"""Every library auditor imports is declared in pyproject.toml: in `dependencies`, or, for the optional
features, in the extra that installs it (and then imported only through auditor/extras.py's `need`
or lazily, see test_startup/test_install)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement

from tests.conftest import REPO


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = {
        extra: {_name(r) for r in reqs if not r.startswith("auditor")}
        for extra, reqs in project["optional-dependencies"].items()
        if extra != "test"
    }
    return core, extras


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _imported() -> set[str]:
    found = set()
    for path in (REPO / "auditor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "auditor"}


def test_every_imported_library_is_declared() -> None:
    core, extras = _declared()
    optional = {name for names in extras.values() for name in names}
    distributions = packages_distributions()
    undeclared = []
    for module in sorted(_imported()):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [])}
        assert names, f"{module} is imported but not installed"
        if not names & (core | optional):
            undeclared.append(f"{module} ({', '.join(sorted(names))})")
    assert undeclared == []


def test_the_extras_hold_what_a_ci_gate_does_not_need() -> None:
    core, extras = _declared()
    assert {"weasyprint", "pyhanko"} <= extras["pdf"] and "docker" in extras["container"]
    assert not ({"weasyprint", "pyhanko", "docker", "psycopg"} & core)
