"""The committed JSON Schema of the run record, generated from the models."""

from __future__ import annotations

import json
from importlib import resources

from auditor.record.models import SCHEMA_VERSION, RunRecord

SCHEMA_FILE = "run-record.schema.json"


def generate_schema() -> dict[str, object]:
    schema = RunRecord.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:auditor:schema:run-record:{SCHEMA_VERSION}",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n"


def committed_schema_text() -> str:
    return resources.files("auditor.record").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
