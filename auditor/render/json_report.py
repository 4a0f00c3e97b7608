"""The JSON form of a check report, its committed JSON Schema, and the text clean-up that
every JSON-based format (this one and SARIF) shares.

The JSON form is the model dumped with sorted keys, so the same report is the same bytes.
Two things a Python model can hold are not portable JSON, and are replaced here rather than
left to break a strict parser downstream (GitHub's SARIF upload, `model_validate_json`):
lone surrogates (not Unicode scalar values; Python's json writes them as `\\udXXX` escapes
that strict parsers reject) become U+FFFD, and non-finite floats in evidence (NaN, ±inf,
which `json.dumps` writes as bare `NaN`) become null, as pydantic's own `model_dump_json` does.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from typing import Any

from auditor.check.report import REPORT_VERSION, CheckReport

SCHEMA_FILE = "check-report.schema.json"
REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_text(text: str) -> str:
    """The text with every lone surrogate replaced by U+FFFD (valid Python str input only)."""
    return _SURROGATE.sub(REPLACEMENT, text)


def scrub(value: Any) -> Any:
    """A copy of JSON-shaped data that any strict JSON parser accepts (see the module docstring)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {scrub_text(str(k)): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def render_json(report: CheckReport) -> str:
    data = scrub(report.model_dump(mode="json"))
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
