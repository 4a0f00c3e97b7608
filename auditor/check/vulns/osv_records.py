"""Reading one OSV advisory file and checking its shape, so the index holds only records it can trust.

An advisory that is not a usable OSV record raises a ValueError naming what is wrong; the index builder
turns that into a named problem (and marks the packages it names not audited), never a crash. A record
keeps one advisory's fields plus "affected": [{"ranges": [{"type", "events": [[kind, version]]}],
"versions"}], plain JSON data so the index can be cached.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from auditor.check.vulns import plain_yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is several times faster
T = TypeVar("T")


class _Malformed(ValueError):
    """An advisory file that is not a usable OSV record; it becomes a named problem, never a crash."""


def parse_file(path: Path) -> object:
    """The document in one advisory file: JSON for *.json, YAML (safe loader) for the rest.

    A YAML file's aliases may describe billions of values in a few hundred bytes, which reading the
    advisory (its details as text, the index as JSON) would expand: a document with an anchor is
    refused when it expands past safe_yaml's bound. Without an `&` there is no anchor, hence no alias,
    and the document is no larger than its text (50 of the 2,661 PyPA advisories hold an `&`)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if "&" not in text:
        return plain_yaml.load(text, _LOADER)
    return _bounded_yaml(text, path)


def _bounded_yaml(text: str, path: Path) -> object:
    """As yaml.load with the safe loader, refusing a document whose aliases expand past the bound."""
    from auditor.errors import IngestError
    from auditor.ingest.safe_yaml import check_expansion

    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            check_expansion(node, path.name)
        except IngestError as exc:
            raise _Malformed(exc.problem) from exc
        return loader.construct_document(node)
    finally:
        loader.dispose()


@functools.lru_cache(maxsize=65536)  # events repeat across calls and packages; parsing dominates an audit
def parse_version(text: str) -> Version | None:
    """The PEP 440 version, or None when `text` is not one."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def package_records(raw: object, rel: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """Validate one OSV document; return its modified time and a record per PyPI package it affects."""
    doc = _typed(raw, dict, "an OSV advisory")
    advisory_id, modified = _typed(doc.get("id"), str, "id"), _text(doc.get("modified"))
    if doc.get("withdrawn"):  # withdrawn records stay in databases but assert nothing
        return modified, {}
    common = {
        "id": advisory_id,
        "file": rel,
        "aliases": [_str(alias) for alias in _typed(doc.get("aliases") or [], list, "aliases")],
        "summary": _text(doc.get("summary")),
        "details": _str(doc.get("details") or ""),
        "severity": [
            [_str(s.get("type")), _str(s["score"])] for s in _dicts(doc.get("severity"), "severity") if "score" in s
        ],
        "published": _text(doc.get("published")),
        "modified": modified,
        "references": [_str(r["url"]) for r in _dicts(doc.get("references"), "references") if r.get("url")],
    }
    records: dict[str, dict[str, Any]] = {}
    affected = _dicts(_typed(doc.get("affected"), list, "affected"), "affected")
    if not affected:  # it asserts nothing about any package: dropping it quietly could hide one
        raise _Malformed("affected is empty: the advisory names no package")
    for item in affected:
        package = _typed(item.get("package"), dict, "affected[].package")
        name = _typed(package.get("name"), str, "affected[].package.name")
        ecosystem = _typed(package.get("ecosystem"), str, "affected[].package.ecosystem")
        if ecosystem != "PyPI" and ecosystem.strip().casefold().startswith("pypi"):
            raise _Malformed(f"ecosystem {ecosystem!r} is not 'PyPI' (OSV ecosystem names are exact)")
        if ecosystem != "PyPI":
            continue
        ranges = [_range(r) for r in _dicts(item.get("ranges"), "affected[].ranges") if r.get("type") != "GIT"]
        listed = _typed(item.get("versions") or [], list, "affected[].versions")
        versions = [_version_key(v if type(v) is str else _version_text(v, "a listed version")) for v in listed]
        entry = {"ranges": ranges, "versions": versions}
        records.setdefault(canonicalize_name(name), {**common, "affected": []})["affected"].append(entry)
    return modified, records


def package_names_in(doc: object) -> set[str]:
    """The canonical names of the packages a (possibly malformed) document names, as far as it can tell."""
    affected = doc.get("affected") if isinstance(doc, dict) else None
    items = affected if isinstance(affected, list) else []
    packages = [item.get("package") for item in items if isinstance(item, dict)]
    return {canonicalize_name(p["name"]) for p in packages if isinstance(p, dict) and isinstance(p.get("name"), str)}


MAX_DEPTH = 64  # nesting of a value turned into text: OSV's fields are scalars and shallow lists


def _str(value: object) -> str:
    """An untrusted value as text. A list or mapping nested deeper than MAX_DEPTH is refused: str() of
    one nested 1,000 deep (libyaml's own limit) recurses past Python's limit or not, as that limit
    stands (another part of auditor may raise it), and the outcome must not depend on that."""
    if isinstance(value, list | dict):
        level, todo = 0, [value]
        while todo:
            level += 1
            if level > MAX_DEPTH:
                raise _Malformed("nested too deeply")
            todo = [
                v
                for item in todo
                for v in (item.values() if isinstance(item, dict) else item)
                if isinstance(v, list | dict)
            ]
    return str(value)


def _typed(value: object, kind: type[T], what: str) -> T:
    if not isinstance(value, kind):
        raise _Malformed(f"{what} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _dicts(value: object, what: str) -> list[dict[str, Any]]:
    return [_typed(item, dict, f"each of {what}") for item in _typed(value or [], list, what)]


def _range(rng: dict[str, Any]) -> dict[str, Any]:
    events = []
    for event in _dicts(rng.get("events"), "ranges[].events"):
        if len(event) != 1:
            raise _Malformed(f"a range event must have exactly one key, not {sorted(event)}")
        [(kind, value)] = event.items()
        events.append([str(kind), _version_text(value, f"the {kind} version")])
    if not any(kind == "introduced" for kind, _ in events):  # the schema requires one; without it nothing matches
        raise _Malformed("a range has no introduced event")
    return {"type": _typed(rng.get("type"), str, "ranges[].type"), "events": events}


def _version_text(value: object, what: str) -> str:
    """Versions must be text; an int is safe to read, but YAML turns unquoted 1.10 into the float 1.1."""
    return str(value) if type(value) is int else _typed(value, str, what)


@functools.lru_cache(maxsize=65536)  # the same versions are listed by many advisories
def _version_key(text: str) -> str:
    """PEP 440-equal versions share one key ("2.10.0" and "2.10"); unparsable ones keep their text."""
    parsed = parse_version(text)
    return canonicalize_version(parsed) if parsed is not None else text


def _text(value: object) -> str | None:
    """Text for a scalar; ISO text for the datetime objects PyYAML makes of unquoted timestamps."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return utc.isoformat() + "Z"
    return None if value is None else value.isoformat() if isinstance(value, date) else _str(value)
