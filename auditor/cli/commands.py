"""Where each command lives, so a command loads only its own module.

`COMMANDS` is the one place a command is registered: name -> (module that defines it, its one-line
summary). `auditor --help` lists the table without importing any command module; `auditor NAME ...`
imports NAME's module only. Importing every module up front was half the CPU of `auditor --help`
(0.14 s, now 0.07 s). tests/test_cli_startup.py holds the table to the modules: every command they
register is here with its module and its docstring's summary, and `--help` prints what Typer would.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

import typer
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_command_name, get_group_from_info, solve_typer_info_defaults
from typer.models import TyperInfo

if TYPE_CHECKING:
    from typer import _click

__all__ = ["COMMANDS", "LazyCommands", "command_group", "load_all"]

# Listed in this order by `--help`: commands, then groups of commands (as Typer lists them).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "auditor.cli.capture",
        "Run a command under capture and store its run record; with --image, in a container.",
    ),
    "reproduce": (
        "auditor.cli.capture",
        "Re-execute a recorded run in its recorded image (or environment) and compare the results.",
    ),
    "ingest": (
        "auditor.cli.capture",
        "Ingest runs that MLflow, DVC, OpenLineage or Weights & Biases recorded into the run store.",
    ),
    "runs": (
        "auditor.cli.records",
        "List the runs in the store, oldest first; filters narrow the list (all must hold).",
    ),
    "show": (
        "auditor.cli.records",
        "Show one run: a readable summary, or the record itself with --format json.",
    ),
    "init": (
        "auditor.cli.records",
        "Write a commented starter auditor.yaml for the current folder.",
    ),
    "schema": (
        "auditor.cli.records",
        "Print the JSON Schema of the run record.",
    ),
    "check": (
        "auditor.cli.check",
        "Check a run against policy rules.",
    ),
    "report": (
        "auditor.cli.check",
        "Write the audit dossier of a run: HTML and PDF, from the same content.",
    ),
    "demo": (
        "auditor.cli.check",
        "Run the sample credit-scoring project end to end: capture, check, dossier (HTML and PDF).",
    ),
    "approve": (
        "auditor.cli.evidence",
        "Sign off a run's findings: your dated decision, kept beside the run and in the store's log.",
    ),
    "bundle": (
        "auditor.cli.evidence",
        (
            "Write one portable archive of a run's evidence, signed: record, check report, logs, dossier "
            "(HTML and PDF/A), the log's proofs, sign-offs, and an in-toto statement over every file."
        ),
    ),
    "verify": (
        "auditor.cli.evidence",
        (
            "Verify a bundle (or a signed PDF) offline, on its exact bytes: every file against the signed "
            "statement, the signature, the log's proofs, the PDF's signature and every sign-off."
        ),
    ),
    "note": (
        "auditor.cli.notes",
        "Write a note on a run: dated, attributed, kept beside the record and in the store's log.",
    ),
    "notes": (
        "auditor.cli.notes",
        "Show a run's discussion: its notes in threads, dated and attributed.",
    ),
    "diff": (
        "auditor.cli.diff",
        (
            "Compare two runs: code, environment, hardware, data, params, metrics (with tolerances, as "
            "`reproduce` takes them), fairness (with intervals) and findings (both checked as `auditor check`"
            " would, with the same policy), and what points at a substantial modification (EU AI Act)."
        ),
    ),
    "lineage": (
        "auditor.cli.lineage",
        "Lineage across runs: which run produced each dataset and model version, which runs read it.",
    ),
    "duplicates": (
        "auditor.cli.lineage",
        ("Pairs of projects (or owners) that look like the same work, with their evidence, highest score first."),
    ),
    "portfolio": (
        "auditor.cli.portfolio",
        (
            "Write a static, offline site over every run of the store: projects, owners, runs over time, "
            "verdicts and open findings, waivers expiring, sign-offs waiting, datasets, models, "
            "reproductions, duplicate work, and a page per run with its dossier and discussion."
        ),
    ),
    "export": (
        "auditor.cli.export",
        "Export one run as a CycloneDX ML-BOM, an SPDX 3 document, W3C PROV or OpenLineage events.",
    ),
    "rules": (
        "auditor.cli.check",
        "Rule packs: list, explain and validate rules.",
    ),
    "keys": (
        "auditor.cli.evidence",
        "Signing keys: generate one, or show what a key, public key or certificate file holds.",
    ),
    "log": (
        "auditor.cli.store",
        "The store's tamper-evident log of every record: its head, a full check, a proof.",
    ),
    "store": (
        "auditor.cli.store",
        "Maintain the run store.",
    ),
    "index": (
        "auditor.cli.index",
        "The run index (a cache of run summaries, rebuilt from the records): rebuild, check, status.",
    ),
    "advisories": (
        "auditor.cli.advisories",
        "The advisory database `check` uses by default: update, status.",
    ),
}


class LazyCommands(TyperGroup):
    """The root group: knows every command by name, builds one only when it is asked for."""

    app: typer.Typer

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name][0])
            self._build(cmd_name)
        return self.commands.get(cmd_name)

    def get_help_option(self, ctx: _click.Context) -> Any:
        """The group's --help, defaulting to False rather than None: Typer coerces a None through
        a pydantic adapter, which would import pydantic for `auditor CMD --help` (0.05-0.1 s)."""
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The list from the table: no command module is imported to print it."""
        from typer._click.utils import make_default_short_help

        names = list(COMMANDS)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(summary, limit)) for name, (_, summary) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return self._click_resolve_command(ctx, args)
        except ClickUsageError as exc:  # Typer's suggestion, from the table
            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise

    def _build(self, name: str) -> None:
        """Build command `name` from what its module registered on the Typer app, as Typer would."""
        settings: dict[str, Any] = {"pretty_exceptions_short": self.app.pretty_exceptions_short}
        settings["rich_markup_mode"] = self.app.rich_markup_mode
        for info in self.app.registered_commands:
            if info.callback is not None and (info.name or get_command_name(info.callback.__name__)) == name:
                self.commands[name] = get_command_from_info(info, **settings)
                return
        for group_info in self.app.registered_groups:
            if solve_typer_info_defaults(group_info).name == name:
                self.commands[name] = get_group_from_info(
                    group_info, suggest_commands=self.app.suggest_commands, **settings
                )
                return


def command_group(app: typer.Typer) -> LazyCommands:
    """The click group `app` stands for, with its commands loaded on demand."""
    group = get_group_from_info(
        TyperInfo(app, cls=LazyCommands),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )
    if not isinstance(group, LazyCommands):  # pragma: no cover - Typer builds the class it is given
        raise TypeError(f"Typer built a {type(group).__name__}, not LazyCommands")
    group.app = app
    if app._add_completion:  # --install-completion / --show-completion, as typer.main.get_command adds them
        from typer.main import get_install_completion_arguments

        for param in get_install_completion_arguments():
            if param.default is None:  # as with --help: a None is coerced through pydantic on every command
                param.default = False
            group.params.append(param)
    return group


def load_all() -> None:
    """Import every command module (for tests and tools that walk every command)."""
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        importlib.import_module(module)
