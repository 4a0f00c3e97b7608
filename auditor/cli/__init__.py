"""The command line: parses arguments, hands off to one function of a stage, prints its result.

Thin on purpose. One module per stage of the flow (`capture`: run, reproduce, ingest; `records`:
runs, show, schema, init; `check`: check, report, rules, demo); `app` holds the Typer app, the
shared options and the one place (`main`) where an `AuditorError` becomes one line on stderr and
its documented exit code.
"""

from auditor.cli.app import main

__all__ = ["main"]
