"""Start-up: a command imports only what it uses (issues #17 and #19).

`auditor --help` lists every command from auditor/cli/commands.py's table without importing a
command's module; these tests hold that table to the modules (same commands, same order, same
one-line summaries as Typer prints with every module loaded), and run the real CLI under
`python -X importtime` to see that no command below loads the optional heavy libraries.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import pkgutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer._click import Context
from typer._click.utils import make_default_short_help

import auditor.cli
from auditor.cli.app import app
from auditor.cli.commands import COMMANDS, load_all
from auditor.render.formats import CHECK_FORMATS
from tests.conftest import ADVISORY_SNAPSHOT, REPO, CliRunner, base_env

# Optional (extras) or large libraries that none of the commands below needs.
HEAVY = ("weasyprint", "pyhanko", "docker", "psycopg", "graphviz", "pyarrow")


def eager_group() -> typer.core.TyperGroup:
    """The group Typer builds when every module of auditor/cli is imported, listed in the table or
    not (a command module left out of the table shows here): what `--help` showed before."""
    load_all()
    for module in pkgutil.iter_modules(auditor.cli.__path__, "auditor.cli."):
        importlib.import_module(module.name)
    # Typer lists commands in the order their modules registered them, which is the order a process
    # happened to import them in (another test may have imported one first): put the registrations in
    # the table's order, commands before groups as Typer keeps them; a command the table lacks goes last.
    order = {name: at for at, name in enumerate(COMMANDS)}
    app.registered_commands.sort(
        key=lambda info: (
            order.get(info.name or typer.main.get_command_name(info.callback.__name__), len(order))
            if info.callback is not None
            else len(order)
        )
    )
    app.registered_groups.sort(key=lambda info: order.get(typer.main.solve_typer_info_defaults(info).name, len(order)))
    group = typer.main.get_command(app)  # with the completion options, as Typer adds them
    assert type(group) is typer.core.TyperGroup
    return group


def test_the_table_has_every_command_in_its_module_with_its_summary() -> None:
    group = eager_group()
    assert list(group.commands) == list(COMMANDS)  # same names (and the table keeps commands before groups)
    defined_in = {
        info.name or typer.main.get_command_name(info.callback.__name__): info.callback.__module__
        for info in app.registered_commands
        if info.callback is not None
    }
    for info in app.registered_groups:
        sub = info.typer_instance
        assert sub is not None
        callbacks = [c.callback for c in sub.registered_commands if c.callback is not None]
        defined_in[typer.main.solve_typer_info_defaults(info).name] = callbacks[0].__module__
    assert defined_in == {name: module for name, (module, _) in COMMANDS.items()}
    for name, command in group.commands.items():
        summary = COMMANDS[name][1]
        for limit in range(10, 160):
            assert make_default_short_help(summary, limit) == command.get_short_help_str(limit), (name, limit)


@pytest.mark.parametrize("columns", ["80", "60"])
def test_help_is_what_typer_prints_with_every_module_loaded(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    group = eager_group()
    expected = group.get_help(Context(group, info_name="auditor"))
    done = cli("--help", cwd=tmp_path, env=base_env(COLUMNS=columns))
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected + "\n"
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout


def test_a_mistyped_command_is_refused_with_suggestions(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("chek", cwd=tmp_path)
    assert done.returncode == 2
    assert "No such command 'chek'. Did you mean 'check'" in done.stderr
    assert cli("rules", "list", cwd=tmp_path).returncode == 0  # a group of commands, loaded on use


def imported(
    args: list[str], cwd: Path, extra: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the real CLI under `-X importtime`; its result and every module it imported."""
    env = base_env(AUDITOR_ADVISORY_DB=str(ADVISORY_SNAPSHOT), AUDITOR_CACHE_DIR=str(cwd / "cache"), **(extra or {}))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "auditor", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in lines}
    assert "auditor.cli" in modules, done.stderr[-2000:]  # the import log was read
    return done, modules


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


@pytest.fixture(scope="module")
def store_with_a_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("startup")
    made = subprocess.run(
        [sys.executable, "-m", "auditor", "run", "--", sys.executable, "-c", "pass"],
        cwd=work,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return work


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["check", "--help"],
        ["runs"],
        ["show", "latest"],
        ["show", "latest", "--json"],
        *(["check", "latest", "--format", fmt] for fmt in CHECK_FORMATS),
    ],
    ids=lambda args: " ".join(args),
)
def test_commands_never_load_the_heavy_libraries(store_with_a_run: Path, args: list[str]) -> None:
    done, modules = imported(args, store_with_a_run)
    assert done.returncode in ((0, 1, 3) if args[0] == "check" and len(args) > 2 else (0,)), done.stderr[-2000:]
    assert done.stdout.strip()
    assert heavy_in(modules) == set()
    if args[-1] in ("--help", "--version"):  # help is static text: not even the models or the index
        assert {m.split(".")[0] for m in modules} & {"pydantic", "sqlalchemy", "yaml"} == set()
    if args[0] in ("--help", "--version"):  # the command line only, no command's module
        assert {m for m in modules if m.startswith("auditor.cli.")} <= {
            "auditor.cli.app",
            "auditor.cli.commands",
            "auditor.cli.early",
        }


def test_the_report_command_does_load_what_a_pdf_needs(store_with_a_run: Path, tmp_path: Path) -> None:
    """The check above can fail: the same import log shows WeasyPrint where a PDF is made."""
    done, modules = imported(["report", "latest", "--format", "pdf", "-o", str(tmp_path)], store_with_a_run)
    assert done.returncode in (0, 1, 3), done.stderr[-2000:]
    assert (tmp_path / "dossier.pdf").read_bytes().startswith(b"%PDF")
    # (by top-level package: importlib.import_module, as extras.need uses, is not itself in the log)
    assert "weasyprint" in {m.split(".")[0] for m in heavy_in(modules)}


def test_run_leaves_the_stores_own_index_to_the_next_reader(cli: CliRunner, tmp_path: Path) -> None:
    """`run` never loads SQLAlchemy for the store's own index: the next reader indexes the run,
    verified; a shared index (AUDITOR_INDEX_URL) is updated by `run` itself (the control)."""
    done, modules = imported(["run", "--", sys.executable, "-c", "pass"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sqlalchemy" not in {m.split(".")[0] for m in modules}
    store = tmp_path / ".auditor"
    assert not (store / "index.sqlite").exists()
    (run_id,) = (p.name for p in (store / "runs").iterdir())
    listed = cli("runs", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert [json.loads(line)["run_id"] for line in listed.stdout.splitlines()] == [run_id]
    assert (store / "index.sqlite").exists()
    status = cli("index", "status", cwd=tmp_path)
    assert "1 indexed" in status.stdout and "1 of 1 entries covered" in status.stdout

    shared = tmp_path / "shared.sqlite"
    env = {"AUDITOR_INDEX_URL": f"sqlite:///{shared}"}
    done, modules = imported(["run", "--", sys.executable, "-c", "pass"], tmp_path, env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sqlalchemy" in {m.split(".")[0] for m in modules}
    assert shared.exists()
    with contextlib.closing(sqlite3.connect(shared)) as db:
        assert db.execute("select count(*) from auditor_runs").fetchone() == (2,)


def test_run_in_its_plain_form_loads_neither_typer_nor_a_pydantic_plugin(tmp_path: Path) -> None:
    """`auditor run -- COMMAND` (the plain form, cli/early.py) starts without Typer's parser, and no
    pydantic plugin is looked for (the scan imports importlib.metadata) or loaded: one installed beside
    auditor never sees a record's values. The control: pydantic alone loads that plugin."""
    site = tmp_path / "site"
    (site / "spy_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "spy_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: spy-plugin\nVersion: 1.0\n"
    )
    (site / "spy_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")
    marker = tmp_path / "plugin-loaded"
    (site / "spy_plugin.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n\n\nclass Spy:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n        return None, None, None\n\n\nplugin = Spy()\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {**base_env(), "PYTHONPATH": f"{REPO}:{site}"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "auditor", "run", "--", sys.executable, "-c", "pass"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "auditor.capture.run" in modules and "pydantic" in modules  # the import log was read
    assert {m for m in modules if m.split(".")[0] == "typer" or m.startswith("importlib.metadata")} == set()
    assert not marker.exists()
    (run_dir,) = (work / ".auditor" / "runs").iterdir()
    packages = json.loads((run_dir / "record.json").read_text())["environment"]["packages"]["distributions"]
    assert "spy-plugin" in {d["name"] for d in packages}  # the command's environment is captured as before

    control = "import pydantic\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)\n"
    subprocess.run([sys.executable, "-c", control], env=env, check=True, timeout=60)
    assert marker.exists()


# Counts the cyclic collector's passes in `auditor run` from the start of `main`, and which of them
# came before `run` had loaded capture (the module that runs the command; `_extra_allow` is its last
# definition).
COUNT_COLLECTIONS = """
import gc, os, sys
from auditor.cli import main
passes = []
def seen(phase, info):
    if phase == "start":
        passes.append(hasattr(sys.modules.get("auditor.capture.run"), "_extra_allow"))
gc.callbacks.append(seen)
leave = os._exit
def report(code):
    sys.stderr.write(f"passes {len(passes)} before-capture-loaded {passes.count(False)}\\n")
    leave(code)
os._exit = report
sys.argv = ["auditor", *sys.argv[1:]]
main()
"""


def test_run_never_collects_garbage_while_it_loads(tmp_path: Path) -> None:
    """Start-up makes long-lived objects and next to no garbage (cli/early.py): the collector is
    paused until `run` has loaded what it needs, and runs again after (the record is still built
    and committed with it paused, by capture/heap.py, as before)."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT_COLLECTIONS, "run", "--", sys.executable, "-c", "pass"],
        cwd=tmp_path,
        env={**base_env(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("passes ")]
    _, passes, _, before = line.split()
    assert int(before) == 0
    assert int(passes) > 0  # it runs again once the command's work begins


def test_start_up_done_hands_back_only_a_collector_start_up_paused() -> None:
    code = (
        "import gc\n"
        "from auditor.cli.early import pause_collection_for_start_up, start_up_done\n"
        "pause_collection_for_start_up(); paused = gc.isenabled()\n"
        "start_up_done(); resumed = gc.isenabled()\n"
        "gc.disable(); start_up_done(); still_off = not gc.isenabled()\n"  # a one-shot command's pause stays
        "print(paused, resumed, still_off, gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**base_env(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["False", "True", "True", "0"]


def test_the_model_modules_do_not_postpone_their_annotations() -> None:
    """Every command loads the record and project models: with `from __future__ import annotations`
    pydantic compiles and evaluates each field's annotation from its text (record/base.py)."""
    postponing = []
    for package in ("record", "project"):
        for path in sorted((REPO / "auditor" / package).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            models = [node for node in tree.body if isinstance(node, ast.ClassDef) and _is_model(node)]
            future = any(
                isinstance(node, ast.ImportFrom)
                and node.module == "__future__"
                and any(alias.name == "annotations" for alias in node.names)
                for node in tree.body
            )
            if models and future:
                postponing.append(path.name)
    assert postponing == []


def _is_model(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Name) and base.id in {"BaseModel", "Frozen", "Missing"} for base in node.bases)
