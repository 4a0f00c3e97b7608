"""What an ingester is: the protocol every tool's reader implements, the options a user gives
it, how sure it is that a source is its tool's, and the error a source that cannot be read raises.

Light on purpose: `auditor --help` builds the `ingest` command's help from the ingesters, so this
module and each tool's `ingester.py` import no reader, no pydantic model and no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from auditor.ingest.ingested import Ingested


class Confidence(IntEnum):
    """How sure an ingester is that a source is its tool's. The surest wins; on a tie, the
    ingester listed first in the registry."""

    NO = 0
    POSSIBLE = 1  # fits, though other tools write such things too: an SQLite file, a folder of .json files
    LIKELY = 2  # the tool's usual layout: an mlruns folder, an OpenLineage .jsonl file
    SURE = 3  # names the tool: an sqlite:/file: tracking URI, dvc.yaml, dvc.lock, .dvc/


@dataclass(frozen=True)
class Option:
    """A command-line option an ingester takes, and what it does for that tool."""

    flag: str  # "--run-id"
    help: str  # lower case, no final stop: "only this run of the source"


@dataclass(frozen=True)
class Options:
    """The options a user gave, by flag ("--run-id": "abc", "--rehash": True); unset ones are absent."""

    given: Mapping[str, str | bool] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: Mapping[str, str | bool | None]) -> Options:
        """From the command line's values, where None (or False, for a switch) means not given."""
        return cls({flag: value for flag, value in values.items() if value is not None and value is not False})

    def text(self, flag: str) -> str | None:
        value = self.given.get(flag)
        return value if isinstance(value, str) else None

    def switch(self, flag: str) -> bool:
        return self.given.get(flag) is True


class Ingester(Protocol):
    """Reads the runs one tool recorded. Listed once, in `auditor.ingest.registry`."""

    @property
    def name(self) -> str:
        """The KIND on the command line: "mlflow"."""

    @property
    def tool(self) -> str:
        """The tool as people write it, as records and messages name it: "MLflow"."""

    @property
    def description(self) -> str:
        """One line: what SOURCE may be for this tool."""

    @property
    def reads(self) -> str:
        """What it reads, plural, for messages: "MLflow stores" ("--experiment is for MLflow stores only")."""

    @property
    def options(self) -> tuple[Option, ...]:
        """The options it takes; any other option given is refused before it reads anything."""

    @property
    def declines(self) -> Mapping[str, str]:
        """Why an option another ingester takes makes no sense here, by flag; a refusal says it."""

    def detect(self, source: str) -> Confidence:
        """How sure it is that SOURCE (a path or URI, as given) is its tool's. Cheap: no parsing."""

    def read(self, source: str, options: Options) -> list[Ingested]:
        """Every run in SOURCE (its canonical spelling) that OPTIONS select, read and validated;
        `IngestError` (or another `UsageError`) when the source cannot be read."""
