"""OpenLineage: the run events a client wrote to files (FileTransport, or the console's JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.ingest.interface import Confidence, Option, Options
from auditor.ingest.openlineage import TOOL

if TYPE_CHECKING:
    from auditor.ingest.ingested import Ingested

SUFFIXES = (".jsonl", ".json", ".ndjson")


class OpenLineageIngester:
    name = "openlineage"
    tool = TOOL
    description = "OpenLineage run events: a .jsonl, .json or .ndjson file, or a folder of event files"
    reads = "OpenLineage event files"
    options = (Option("--run-id", "only this run of the source"),)
    declines: Mapping[str, str] = {}

    def detect(self, source: str) -> Confidence:
        path = Path(source)
        if path.is_dir():
            if any(path.glob("*.json")) or any(path.glob("*.jsonl")):
                return Confidence.POSSIBLE
        elif path.suffix in SUFFIXES and path.exists():
            return Confidence.LIKELY
        return Confidence.NO

    def read(self, source: str, options: Options) -> list[Ingested]:
        from auditor.ingest.openlineage import reader

        return reader.read(Path(source), run_id=options.text("--run-id"))
