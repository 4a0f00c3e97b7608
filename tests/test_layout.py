"""The layout is the data flow: each stage is one package, and imports only go down the flow.

    foundation (errors, text, files, vocabulary, api, extras, progress)
      -> record, sign -> store, project -> index -> capture -> ingest -> check -> render -> reproduce
      -> portfolio (diff, cross-run lineage, duplicates, the site) -> export (standard formats)
      -> evidence -> demo -> cli

A module may import its own package and any package of a lower layer, never a higher one (every
import counts: module level, inside functions, and under TYPE_CHECKING), and no two modules import
each other, directly or round a cycle. `auditor --help` loads only the command line.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "auditor"
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer)
    for layer in (
        {
            "auditor",
            "auditor.errors",
            "auditor.text",
            "auditor.files",
            "auditor.vocabulary",
            "auditor.api",
            "auditor.extras",
            "auditor.progress",
        },
        {"auditor.record", "auditor.sign"},
        {"auditor.store", "auditor.project"},
        {"auditor.index"},
        {"auditor.capture"},
        {"auditor.ingest"},
        {"auditor.check"},
        {"auditor.render"},
        {"auditor.reproduce"},
        {"auditor.portfolio"},
        {"auditor.export"},
        {"auditor.evidence"},
        {"auditor.demo"},
        {"auditor.cli"},
        {"auditor.__main__"},
    )
)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every auditor module `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (t for t in targets if t in known and t != name)


# The one sanctioned upward import: the package re-exports the library API (`auditor.check(record)`,
# `auditor.load_record`) through a PEP 562 `__getattr__`, so it is imported on first use and never by
# `import auditor` (test_import_auditor_loads_only_the_logging_api proves that).
LAZY_REEXPORTS = {("auditor", "auditor.check"), ("auditor", "auditor.check.api")}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {t for t in imports(name, path, known) if (name, t) not in LAZY_REEXPORTS} for name, path in found.items()
    }


def test_import_auditor_loads_only_the_logging_api() -> None:
    """What a training script pays for `import auditor`: the standard-library logging API, nothing else."""
    code = "import sys, auditor; print(sorted(m for m in sys.modules if m.startswith(('auditor', 'pydantic'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['auditor', 'auditor.api']"


def unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def layer(module: str) -> int:
    return next(i for i, members in enumerate(LAYERS) if unit(module) in members)


def test_every_module_belongs_to_a_layer() -> None:
    for name in modules():
        layer(name)  # raises StopIteration for a package nobody placed


def test_imports_only_go_down_the_flow() -> None:
    wrong = []
    for name, targets in graph().items():
        for target in targets:
            if unit(target) == unit(name) or layer(target) == 0:
                continue
            if layer(target) >= layer(name):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_no_import_cycles() -> None:
    deps = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(deps[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(deps):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_a_planted_upward_import(tmp_path: Path) -> None:
    """The import reader is the evidence for the two tests above: it must see every kind of import."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from auditor.render import summary\n"
        "def f():\n    import auditor.cli.app\n    from ..check import evaluate\n"
    )
    known = {"auditor.render", "auditor.render.summary", "auditor.cli.app", "auditor.check.evaluate"}
    assert set(imports("auditor.capture.m", source, known)) == known


# What `auditor --help` may load: the command line and its table of commands, no command's module.
HELP_MODULES = {
    "auditor",
    "auditor.__main__",
    "auditor.api",
    "auditor.errors",
    "auditor.cli",
    "auditor.cli.app",
    "auditor.cli.commands",
    "auditor.cli.early",
}
HEAVY = {"pydantic", "yaml", "numpy", "networkx", "jinja2", "weasyprint", "docker", "graphviz", "celpy", "psutil"}


def test_help_loads_only_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "auditor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )
    loaded = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    ours = {m for m in loaded if m == "auditor" or m.startswith("auditor.")}
    assert ours - HELP_MODULES == set()
    assert {m for m in loaded if m.split(".")[0] in HEAVY} == set()
    assert "Usage:" in done.stdout
