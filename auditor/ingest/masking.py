"""Values under secret-looking names, masked in an ingested record before it is written.

Everything ingested is untrusted, and token shapes alone (what `TextRedactor` finds) miss a
password under a plain name: `db_password`, `AWS_SECRET_ACCESS_KEY`, `fs.s3a.secret.key`.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.capture.redact import SECRET_NAME

SECRET_MASK = "[REDACTED:secret-name]"  # noqa: S105 - the mask, not a password


def mask_named(data: dict[str, Any]) -> None:
    """Values under secret-looking names (db_password, AWS_SECRET_ACCESS_KEY, fs.s3a.secret.key)
    in params, tags and annotations, nested JSON included: token shapes alone miss them."""
    for section in ("params", "tags"):
        if isinstance(data.get(section), dict):
            data[section] = _masked(data[section])
    lineage = data.get("lineage")
    if isinstance(lineage, dict):
        for kind in ("datasets", "steps", "models"):
            for item in lineage.get(kind) or ():
                if isinstance(item, dict) and isinstance(item.get("annotations"), dict):
                    item["annotations"] = _masked(item["annotations"])


def _masked(mapping: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if SECRET_NAME.search(str(key)) and value not in (None, ""):
            out[key] = SECRET_MASK
        elif isinstance(value, dict):
            out[key] = _masked(value)
        elif isinstance(value, list):
            out[key] = [_masked(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, str) and value[:1] in "{[":
            out[key] = _masked_json(value)
        else:
            out[key] = value
    return out


def _masked_json(text: str) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict):
        return json.dumps(_masked(parsed), sort_keys=True, separators=(",", ":"))
    if isinstance(parsed, list):
        return json.dumps([_masked(v) if isinstance(v, dict) else v for v in parsed], separators=(",", ":"))
    return text
