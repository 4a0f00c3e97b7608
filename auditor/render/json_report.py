"""The JSON form of a check report and its committed JSON Schema.

The JSON form is the model dumped with sorted keys, so the same report is the same bytes.
Two things a Python model can hold are not portable JSON, and are replaced rather than left to
break a strict parser downstream: lone surrogates become U+FFFD and non-finite floats null
(`auditor.text.json_value`, which every JSON-based format shares, and which the findings
digest applies too, so the digest of a report and of its JSON form agree).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from auditor.check.report import REPORT_VERSION, CheckReport
from auditor.text import json_value

SCHEMA_FILE = "check-report.schema.json"


def render_json(report: CheckReport) -> str:
    data = json_value(report.model_dump(mode="json"))
    return json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n"


def report_schema() -> dict[str, Any]:
    schema = CheckReport.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:auditor:schema:check-report:{REPORT_VERSION}",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2, sort_keys=True) + "\n"


def committed_schema_text() -> str:
    return resources.files("auditor.check").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
