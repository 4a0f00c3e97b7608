"""DVC: a repository whose dvc.yaml and dvc.lock describe one pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.ingest.dvc import TOOL
from auditor.ingest.interface import Confidence, Option, Options

if TYPE_CHECKING:
    from auditor.ingest.ingested import Ingested

MARKERS = ("dvc.yaml", "dvc.lock")


class DvcIngester:
    name = "dvc"
    tool = TOOL
    description = "a DVC repository: the folder holding dvc.yaml or .dvc files, or its dvc.yaml or dvc.lock"
    reads = "DVC repositories"
    options = (
        Option("--rehash", "re-hash workspace files (SHA-256) and report what changed since dvc.lock or is absent"),
    )
    declines: Mapping[str, str] = {"--run-id": "a DVC repository holds one pipeline"}

    def detect(self, source: str) -> Confidence:
        path = Path(source)
        if path.is_dir():
            if any((path / marker).is_file() for marker in MARKERS) or (path / ".dvc").is_dir():
                return Confidence.SURE
        elif path.name in MARKERS and path.exists():
            return Confidence.SURE
        return Confidence.NO

    def read(self, source: str, options: Options) -> list[Ingested]:
        from auditor.ingest.dvc import reader

        repo = Path(source)
        return reader.read(repo.parent if repo.is_file() else repo, rehash=options.switch("--rehash"))
