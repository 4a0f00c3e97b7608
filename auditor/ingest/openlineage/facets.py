"""OpenLineage facets read into plain facts, and merged across a run's events.

Facets are untrusted JSON from whatever produced the events. Each field the record uses is
type-checked where it is read (openlineage_facet_readers.py), so an error names the file,
line and facet field; a facet auditor does not interpret is kept whole as compact JSON, so
nothing the producer said is dropped silently. Every string is made encodable (JSON allows
lone surrogates) and capped, and credentials are stripped from URLs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from auditor.capture.redact import clean_url, printable
from auditor.errors import IngestError
from auditor.record.lineage import Assertion, Column

SHORT_CHARS = 4_096  # annotations, names, messages
TRACE_CHARS = 8_192  # stack traces: the top frames and the message are what a reader needs
LONG_CHARS = 16_384  # SQL, source code


@dataclass(frozen=True)
class Facts:
    """One facet as flat strings (keys namespaced by what they mean), plus a schema's columns,
    the data-quality assertions, and notes on what of the facet could not be read."""

    values: dict[str, str] = field(default_factory=dict)
    columns: tuple[Column, ...] | None = None
    assertions: tuple[Assertion, ...] | None = None
    notes: tuple[str, ...] = ()
    deleted: bool = False  # the producer sent {"_deleted": true}: forget the facet


@dataclass(frozen=True)
class At:
    """Where a value sits: the file and line, and the field path inside the event."""

    where: str
    field: str

    def __truediv__(self, key: str | int) -> At:
        if isinstance(key, int):
            return At(self.where, f"{self.field}[{key}]")
        return At(self.where, f"{self.field}.{key}" if self.field else key)

    def fail(self, problem: str) -> IngestError:
        return IngestError(self.where, self.field, problem)


Reader = Callable[[dict[str, object], At], Facts]


def clip(value: str, limit: int = SHORT_CHARS) -> str:
    value = printable(value)
    if len(value) <= limit:
        return value
    return value[:limit] + f"… [{len(value) - limit} more characters not kept]"


def as_object(value: object, at: At) -> dict[str, object]:
    if not isinstance(value, dict):
        raise at.fail("not a JSON object")
    return value


def text(raw: Mapping[str, object], key: str, at: At, limit: int = SHORT_CHARS) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise (at / key).fail("not a string")
    return clip(value, limit)


def number(raw: Mapping[str, object], key: str, at: At) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise (at / key).fail("not a number")
    return str(value)


def items(raw: Mapping[str, object], key: str, at: At) -> list[tuple[At, dict[str, object]]]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise (at / key).fail("not a list")
    return [(at / key / i, as_object(item, at / key / i)) for i, item in enumerate(value)]


def compact(value: object) -> str:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if not str(k).startswith("_")}
    return clip(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str))


def present(**values: str | None) -> dict[str, str]:
    return {k.replace("__", "."): v for k, v in values.items() if v is not None}


def url(raw: Mapping[str, object], key: str, at: At) -> str | None:
    value = text(raw, key, at)
    return clean_url(value) if value is not None else None


def merge(facet_maps: Iterable[Mapping[str, Facts]]) -> Facts:
    """Facets in event order, a later facet of the same name replacing (or deleting) an earlier one."""
    merged: dict[str, Facts] = {}
    for facets in facet_maps:
        for name, facts in facets.items():
            if facts.deleted:
                merged.pop(name, None)
            else:
                merged[name] = facts
    values: dict[str, str] = {}
    columns = assertions = None
    notes: list[str] = []
    for facts in merged.values():
        values |= facts.values
        columns = facts.columns if facts.columns is not None else columns
        assertions = facts.assertions if facts.assertions is not None else assertions
        notes += facts.notes
    return Facts(values, columns, assertions, tuple(notes))


def read_facets(raw: object, at: At, readers: Mapping[str, Reader]) -> dict[str, Facts]:
    """A facets object read facet by facet; unknown facets are kept as `facet.NAME` JSON."""
    if raw is None:
        return {}
    facets = as_object(raw, at)
    out = {}
    for name, value in facets.items():
        facet = as_object(value, at / name)
        if facet.get("_deleted") is True:
            out[name] = Facts(deleted=True)
        elif name in readers:
            out[name] = readers[name](facet, at / name)
        else:
            out[name] = Facts({f"facet.{clip(name, 200)}": compact(facet)})
    return out
