"""MLflow: a tracking store (an mlruns folder, or the SQLite database of `mlflow.db`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.ingest.interface import Confidence, Option, Options
from auditor.ingest.mlflow import TOOL, is_sqlite

if TYPE_CHECKING:
    from auditor.ingest.ingested import Ingested


class MlflowIngester:
    name = "mlflow"
    tool = TOOL
    description = (
        "an MLflow tracking store: an mlruns folder, mlflow.db, a sqlite:/// or file: URI,"
        " or a tracking server's http(s)://HOST[:PORT] (MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD for its login)"
    )
    reads = "MLflow stores"
    options = (Option("--run-id", "only this run of the source"), Option("--experiment", "only this experiment"))
    declines: Mapping[str, str] = {}

    def detect(self, source: str) -> Confidence:
        if source.startswith(("sqlite:", "file:", "mlflow:")):
            return Confidence.SURE
        if source.lower().startswith(("http://", "https://")):
            return Confidence.POSSIBLE  # a tracking server; other tools serve HTTP too
        path = Path(source)
        if path.is_dir():
            if path.name == "mlruns" or (path / "mlruns").is_dir() or any(path.glob("*/meta.yaml")):
                return Confidence.LIKELY
        elif is_sqlite(path):
            return Confidence.POSSIBLE
        return Confidence.NO

    def read(self, source: str, options: Options) -> list[Ingested]:
        import sqlite3

        from auditor.ingest.mlflow import reader

        try:
            return reader.read(source, run_id=options.text("--run-id"), experiment=options.text("--experiment"))
        except sqlite3.Error as exc:
            raise UsageError(f"{source}: cannot read the SQLite store: {exc}") from exc
