"""The plain form of `auditor run` (auditor/cli/early.py), read without Typer: it must read every
command line it takes exactly as Typer reads it, and leave every other one to Typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from auditor.cli.app import app
from auditor.cli.commands import command_group, load_all
from auditor.cli.early import NOT_OPTIONS, PlainRun, plain_run
from tests.conftest import CliRunner, base_env

PY = sys.executable

# What Typer's parser gives `run` for the options the plain form never takes: their defaults (the
# repeatable ones empty, which `run` reads as `output or ()`, `env_vars or ()`).
CONTAINER_DEFAULTS = {
    "image": None,
    "network": "none",
    "cpus": None,
    "memory": None,
    "gpus": None,
    "timeout": None,
    "output": (),
    "env_vars": (),
}

TAKEN = [
    ["run", "--", "python3", "-c", "pass"],
    ["run", "--", "sh", "-c", "echo --name x", "--store", "y"],
    ["run", "--", "--name"],
    ["run", "--", ""],
    ["run", "--name", "smoke", "--", "python3", "train.py"],
    ["run", "--name=a=b", "--project", "credit scoring", "--", "true"],
    ["run", "--store", "some//where/", "--", "true"],
    ["run", "--store=~/store", "--name", "x", "--project=p", "--", "true", "--", "--"],
    ["-q", "run", "--", "true"],
    ["--verbose", "-q", "-v", "run", "--store", ".", "--", "true"],
    ["run", "--name", "ünïcode ✓", "--", "true"],
]
LEFT_TO_TYPER = [
    [],
    ["run"],
    ["run", "--"],
    ["run", "true"],  # no `--`: Typer reads it (the same command), the plain form does not
    ["run", "--help"],
    ["run", "--name", "--", "true"],  # a value that looks like an option
    ["run", "--name", "-x", "--", "true"],
    ["run", "--name=", "--", "true"],
    ["run", "--name", "", "--", "true"],
    ["run", "--name", "a", "--name", "b", "--", "true"],
    ["run", "--nam", "x", "--", "true"],
    ["run", "--image", "python:3.11", "--", "true"],
    ["run", "--cpus", "2", "--", "true"],
    ["run", "-e", "A=1", "--", "true"],
    ["run", "-q", "--", "true"],
    ["-qv", "run", "--", "true"],
    ["--version", "run", "--", "true"],
    ["--store", "x", "run", "--", "true"],
    ["check", "latest"],
    ["runs", "--", "run"],
    ["run", "--name", "\udcff", "--", "true"],  # bytes that are not UTF-8
    ["run", "--", "true", "\udcff"],
]


def typer_reading(args: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values Typer's parser gives the root callback and `run` for `args` (parsed, not run)."""
    group = command_group(app)
    ctx = group.make_context("auditor", list(args))
    name, command, rest = group.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    assert name == "run" and command is not None
    sub = command.make_context(name, rest, parent=ctx)
    return ctx.params, sub.params


@pytest.mark.parametrize("args", TAKEN, ids=" ".join)
def test_the_plain_form_reads_as_typer_does(args: list[str]) -> None:
    plain = plain_run(args, base_env())
    assert plain is not None
    root, run = typer_reading(args)
    assert {key: run.pop(key) for key in CONTAINER_DEFAULTS} == CONTAINER_DEFAULTS
    assert run.pop("user") is None
    assert run == {"command": plain.command, "name": plain.name, "project": plain.project, "store": plain.store}
    assert {"quiet": root["quiet"], "verbose": root["verbose"]} == {"quiet": plain.quiet, "verbose": plain.verbose}
    assert not root["version"]


@pytest.mark.parametrize("args", LEFT_TO_TYPER, ids=repr)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert plain_run(args, base_env()) is None


@pytest.mark.parametrize(
    "variable",
    [
        "AUDITOR_STORE",
        "AUDITOR_RUN_NAME",
        "AUDITOR_QUIET",
        "AUDITOR_NETWORK",
        "AUDITOR_SOMETHING_NEW",
        "_AUDITOR_COMPLETE",
    ],
)
def test_a_variable_that_may_set_an_option_is_left_to_typer(variable: str) -> None:
    args = ["run", "--", "true"]
    assert plain_run(args, base_env()) == PlainRun(command=["true"])
    assert plain_run(args, base_env(**{variable: "x"})) is None
    assert plain_run(args, base_env(**dict.fromkeys(NOT_OPTIONS, "x"))) == PlainRun(command=["true"])


def test_no_option_of_any_command_is_set_by_a_variable_the_plain_form_ignores() -> None:
    load_all()
    tree = typer.main.get_command(app)
    variables: set[str] = set()

    def walk(command: Any) -> None:
        for param in command.params:
            envvar = param.envvar
            variables.update([envvar] if isinstance(envvar, str) else envvar or [])
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(tree)
    assert {"AUDITOR_STORE", "AUDITOR_RUN_NAME", "AUDITOR_QUIET"} <= variables  # the walk sees run's and the root's
    assert variables & NOT_OPTIONS == set()


def test_the_same_record_and_lines_either_way(cli: CliRunner, tmp_path: Path) -> None:
    """The real CLI, once in the plain form and once through Typer (an AUDITOR_ variable that
    may set an option sends it there): the same exit code, lines and record facts."""
    outcomes = []
    for typer_too in (False, True):
        work = tmp_path / f"typer-{typer_too}"
        work.mkdir()
        env = base_env(**({"AUDITOR_SOMETHING_NEW": "1"} if typer_too else {}))
        args = ["-v", "run", "--name", "smoke", "--project=plain", "--store", "st", "--", PY, "-c", "exit(3)"]
        done = cli(*args, cwd=work, env=env)
        (run_dir,) = (work / "st" / "runs").iterdir()
        record = json.loads((run_dir / "record.json").read_text())
        ident = record["identity"]
        lines = done.stderr.replace(ident["run_id"], "RUN").replace(str(work), "WORK").splitlines()
        outcomes.append((done.returncode, done.stdout, [line.split(" in ")[0] for line in lines[:1]], len(lines)))
        assert (ident["name"], ident["project"], ident["argv"], ident["exit_code"]) == (
            "smoke",
            "plain",
            [PY, "-c", "exit(3)"],
            3,
        )
        assert record["environment"]["packages"]["state"] == "captured"
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 3
