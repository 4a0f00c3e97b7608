"""The Typer app and the options and helpers several commands share.

The conventions every command follows (tests/test_cli_conventions.py walks the command tree and
enforces them; the README's "Command-line conventions" section is the user's side):

- every option is declared with `option(...)`, so it has an environment variable shown in --help:
  `AUDITOR_<LONG_NAME>` (--fail-on -> AUDITOR_FAIL_ON) when the option means the same in every
  command that takes it, `AUDITOR_<COMMAND>_<LONG_NAME>` (`command="check"`: AUDITOR_CHECK_FORMAT)
  when its values differ between commands (--format, --output, --project, ...): one variable set
  for `check` must not break `runs`;
- an option with a fixed set of values declares `choices=`: --help lists them (`<a|b|c>`), the shell
  completes them, and a value outside them is one line naming the option (and the variable), exit 2;
- a command that prints data takes --format; `-o -` is stdout, an input FILE of `-` is stdin.
"""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor import __version__
from auditor.cli.early import start_up_done
from auditor.errors import AuditorError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

ENV_PREFIX = "AUDITOR_"
STDIN_NAME = "<stdin>"  # how messages name an input read from `-`


def _argument_metavar_only(self: Any, ctx: Any) -> str | None:
    """An argument's help line names its metavar alone (`RUN`), not the Python type typer adds
    beside it (`RUN <str>`): users read values, not types (tests/test_cli_conventions.py)."""
    return None if self.metavar else _TYPED(self, ctx)


_TYPED = typer.core.TyperArgument.display_type_rich
setattr(typer.core.TyperArgument, "display_type_rich", _argument_metavar_only)  # noqa: B010  # mypy: a method

app = typer.Typer(
    name="auditor",
    help="Make machine-learning runs auditable: capture, check, report.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def env_name(long: str, command: str | None = None) -> str:
    """--fail-on -> AUDITOR_FAIL_ON; with command="keys generate": AUDITOR_KEYS_GENERATE_FAIL_ON."""
    parts = ([command] if command else []) + [long.lstrip("-")]
    return ENV_PREFIX + "_".join(parts).upper().replace("-", "_").replace(" ", "_")


def option(
    *decls: str,
    help: str,
    command: str | None = None,
    envvar: str | None = None,
    choices: Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """A `typer.Option` with its environment variable (see the module's docstring), shown in --help,
    and with `choices`, the values it takes."""
    long = next(d for d in decls if d.startswith("--"))
    variable = envvar or env_name(long, command)
    if choices is not None:
        allowed = tuple(choices)
        kwargs.setdefault("metavar", "<" + "|".join(allowed) + ">")
        kwargs["callback"] = _one_of(long, variable, allowed)
        kwargs["autocompletion"] = _completer(allowed)
    return typer.Option(*decls, help=help, envvar=variable, show_envvar=True, **kwargs)


def _one_of(long: str, variable: str, allowed: tuple[str, ...]) -> Callable[..., Any]:
    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else [value]
        for given in values:
            if given is not None and given not in allowed and not ctx.resilient_parsing:
                source = ctx.get_parameter_source(param.name or "")
                where = f" (from ${variable})" if source is not None and source.name == "ENVIRONMENT" else ""
                raise UsageError(f"{long}{where}: {given!r} is not one of {', '.join(allowed)}")
        return value

    check.choices = allowed  # type: ignore[attr-defined]  # tests/test_cli_conventions.py reads them
    return check


def _completer(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return [value for value in allowed if value.startswith(incomplete)]

    return complete


StoreOption = Annotated[
    Path | None,
    option("--store", help="Run store folder [default: ./.auditor]", metavar="DIR", show_default=False),
]


def store_path(store: Path | None) -> Path:
    from auditor.store.runs import default_store_path

    return store if store is not None else default_store_path(Path.cwd())


def one_shot() -> None:
    """check, report and demo build large object graphs (a record of 10,000 datasets is millions of
    objects) that live until exit: the cyclic collector would only rescan them, tripling the time."""
    gc.disable()


_KEPT: list[object] = []


def keep_until_exit(*objects: object) -> None:
    """Hold a one-shot command's large objects until the process ends: `main` leaves with `os._exit`,
    so they are never freed one by one (a record of 10,000 datasets and its 32,000 findings: ~0.05 s)."""
    _KEPT.extend(objects)


def choice(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    return value


def say(text: str) -> None:
    """A line for the person at the terminal (`auditor: TEXT` on stderr), silenced by --quiet."""
    from auditor import progress

    progress.say(text)


def emit(text: str, output: Path | None) -> None:
    """The data asked for: to stdout, or to the file `-o` named (`-o -` is stdout)."""
    if output is None or str(output) == "-":
        typer.echo(text, nl=False)
    else:
        from auditor.files import write_output

        write_output(output, text.encode())


@contextmanager
def stdin_file(path: Path | None, name: str) -> Iterator[Path | None]:
    """An input FILE of `-`: stdin, kept in a private temporary file named `name` while the command
    runs (the readers take paths); any other path unchanged."""
    if path is None or str(path) != "-":
        yield path
        return
    import tempfile

    if sys.stdin is None:
        raise UsageError(f"{name}: `-` reads stdin, which is closed")
    data = sys.stdin.buffer.read()
    with tempfile.TemporaryDirectory(prefix="auditor-stdin-") as folder:
        held = Path(folder) / name
        held.write_bytes(data)
        try:
            yield held
        except AuditorError as exc:  # the error names what the user gave, not the private copy
            exc.message = exc.message.replace(str(held), STDIN_NAME)
            raise


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    quiet: Annotated[
        bool, option("-q", "--quiet", help="Only errors, warnings and the data asked for: no notes, no progress.")
    ] = False,
    verbose: Annotated[
        bool, option("-v", "--verbose", help="More detail on stderr: progress as plain lines, step times.")
    ] = False,
) -> None:
    """auditor: execute or ingest -> run record -> check -> dossier."""
    from auditor import progress

    start_up_done()  # the command's module is loaded: its own work begins (see cli/early.py)
    progress.configure(quiet=quiet, verbose=verbose)
