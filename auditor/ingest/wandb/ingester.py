"""Weights & Biases: local run folders (`wandb/run-*`, `wandb/offline-run-*`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.ingest.interface import Confidence, Option, Options
from auditor.ingest.wandb import TOOL

if TYPE_CHECKING:
    from auditor.ingest.ingested import Ingested


class WandbIngester:
    name = "wandb"
    tool = TOOL
    description = (
        "W&B run folders: a project folder holding wandb/, the wandb/ folder, or one run-* or offline-run-* folder"
    )
    reads = "W&B run folders"
    options = (Option("--run-id", "only this run of the source"),)
    declines: Mapping[str, str] = {
        "--experiment": "each W&B run folder is one run; name the folder, or choose a run with --run-id",
        "--rehash": "W&B records no local paths of its artifacts to hash again",
    }

    def detect(self, source: str) -> Confidence:
        from auditor.ingest.wandb.folders import looks_like_runs

        return Confidence.SURE if looks_like_runs(Path(source)) else Confidence.NO

    def read(self, source: str, options: Options) -> list[Ingested]:
        from auditor.ingest.wandb import reader

        return reader.read(Path(source), run_id=options.text("--run-id"))
