"""Offline vulnerability source: a local OSV advisory database, such as a PyPA advisory-database checkout.

It never fails open. A package is "clean" only when every advisory naming it was evaluated and none
applies (or the database names it nowhere, which is how OSV says "no known vulnerabilities"). A bad
file, a version that is not PEP 440 or a range type that cannot be evaluated makes it "not_audited".
Ranges follow the OSV schema's "Evaluation" rules; only ECOSYSTEM ranges apply to PyPI versions.

Parsing a few thousand YAML files takes seconds, so the index (plain JSON data, never pickle) can be
cached in `cache_dir` under a key over every advisory file's path, size and mtime.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from auditor.errors import CouldNotEvaluateError

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is several times faster
_SUFFIXES = (".yaml", ".yml", ".json")
_EVENTS = ("introduced", "fixed", "last_affected")
_CACHE_FORMAT = 1  # bump whenever the index layout or the evaluation inputs change
_SHA = re.compile(r"[0-9a-f]{40}")
NOT_IN_DATABASE = "no advisories for this package in the database"
Status = Literal["vulnerable", "clean", "not_audited"]
T = TypeVar("T")
# The index is JSON data so it can be cached: {"format", "key", "advisories": int, "problems": [str],
# "packages": {name: [record]}, "broken": {name: [problem]}, "newest": ISO date | None}. A record keeps
# one advisory's fields plus "affected": [{"ranges": [{"type", "events": [[kind, version]]}], "versions"}].
Index = dict[str, Any]


class AdvisoryDatabaseError(CouldNotEvaluateError):
    """The advisory database as a whole is unusable, so no package can be audited against it."""


class _Malformed(ValueError):
    """An advisory file that is not a usable OSV record; it becomes a named problem, never a crash."""


@dataclass(frozen=True)
class Advisory:
    """One advisory as it applies to one package (fixed_versions are that package's)."""

    id: str
    aliases: tuple[str, ...]
    summary: str | None
    details: str
    fixed_versions: tuple[str, ...]
    severity: tuple[tuple[str, str], ...]
    published: str | None
    modified: str | None
    references: tuple[str, ...]


@dataclass(frozen=True)
class PackageAudit:
    """The outcome for one (name, version); `reason` says why whenever the answer is not plain."""

    name: str
    version: str
    status: Status
    advisories: tuple[Advisory, ...]
    reason: str | None


@dataclass(frozen=True)
class DatabaseInfo:
    """What was audited against, so a report can say how old and how complete the data was."""

    path: str
    kind: Literal["osv-local"]
    advisories: int
    commit: str | None
    date: str | None
    problems: tuple[str, ...]


class LocalOsvDatabase:
    """An OSV advisory folder indexed by canonical package name; open() it once, audit many packages."""

    def __init__(self, info: DatabaseInfo, index: Index) -> None:
        self.info = info
        self._index = index

    @classmethod
    def open(cls, path: Path, cache_dir: Path | None = None) -> LocalOsvDatabase:
        """Index the advisories under `path`, reusing a valid cache in `cache_dir` when one matches."""
        root = Path(path)
        files = _advisory_files(root)
        key = _fingerprint(root, files)
        where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]  # one live cache per database
        cache = cache_dir / f"osv-{where}-{key}.json" if cache_dir else None
        index = _load_cache(cache, key) if cache else None
        if index is None:
            index = _build_index(root, files, key)
            if cache:
                _save_cache(cache, index)
        commit, dated = _snapshot_facts(root)
        problems = tuple(index["problems"])
        info = DatabaseInfo(str(root), "osv-local", index["advisories"], commit, dated or index["newest"], problems)
        return cls(info, index)

    def audit(self, packages: Sequence[tuple[str, str]]) -> list[PackageAudit]:
        """Audit each (name, installed version); names are matched after PEP 503 canonicalisation."""
        return [self._audit_one(name, version) for name, version in packages]

    def age_days(self, today: date) -> int | None:
        """Days between the database's date and `today`, so a policy can reject stale data."""
        return None if self.info.date is None else (today - date.fromisoformat(self.info.date)).days

    def _audit_one(self, name: str, version: str) -> PackageAudit:
        key = canonicalize_name(name)
        records: list[dict[str, Any]] = self._index["packages"].get(key, [])
        unknown: list[str] = list(self._index["broken"].get(key, []))
        if not records and not unknown:
            return PackageAudit(name, version, "clean", (), NOT_IN_DATABASE)
        parsed = _parse_version(version)
        if parsed is None:
            unknown.append(f"installed version {version!r} is not a PEP 440 version")
        hits: dict[str, Advisory] = {}
        for record in records:
            outcome = _applies(record, version, parsed)
            if outcome is True:
                hits.setdefault(record["id"], _advisory(record))
            elif isinstance(outcome, str):
                unknown.append(outcome)
        why = "; ".join(dict.fromkeys(unknown)) or None
        if hits:  # proven affected: the rest cannot make it any better
            return PackageAudit(name, version, "vulnerable", tuple(hits.values()), why and f"also unchecked: {why}")
        return PackageAudit(name, version, "not_audited" if why else "clean", (), why)


@functools.lru_cache(maxsize=65536)  # events repeat across calls and packages; parsing dominates an audit
def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _applies(record: dict[str, Any], raw: str, parsed: Version | None) -> bool | str:
    """True or False when decided, else the reason it could not be (callers must not read that as False)."""
    undecided: str | None = None
    canonical = canonicalize_version(parsed) if parsed is not None else None
    for entry in record["affected"]:
        if raw in entry["versions"] or (canonical is not None and canonical in entry["versions"]):
            return True
        outcomes = [_in_range(record["id"], rng, parsed) for rng in entry["ranges"]]
        if True in outcomes:
            return True
        if not entry["ranges"] and not entry["versions"]:
            outcomes.append(f"{record['id']} ({record['file']}) has no ECOSYSTEM range and no versions list")
        undecided = undecided or next((o for o in outcomes if isinstance(o, str)), None)
    return undecided if undecided is not None else False


def _in_range(advisory_id: str, rng: dict[str, Any], version: Version | None) -> bool | str:
    """OSV evaluation: walk the events sorted by version; the last one at or below `version` decides."""
    if rng["type"] != "ECOSYSTEM":
        return f"{advisory_id}: a {rng['type']} range cannot be evaluated for PyPI versions"
    if version is None:
        return False  # the package is already not audited because of its installed version
    events: list[tuple[bool, Version, str]] = []
    for kind, value in rng["events"]:
        if kind not in _EVENTS:
            return f"{advisory_id}: unsupported range event {kind!r}"
        bound = _parse_version(value)
        if bound is None:
            return f"{advisory_id}: {kind} version {value!r} is not a PEP 440 version"
        events.append((not (kind == "introduced" and value == "0"), bound, kind))  # "0" sorts before all
    affected = False
    for after_start, bound, kind in sorted(events, key=lambda event: event[:2]):
        if kind == "introduced" and (not after_start or version >= bound):
            affected = True
        elif (kind == "fixed" and version >= bound) or (kind == "last_affected" and version > bound):
            affected = False
    return affected


def _advisory(record: dict[str, Any]) -> Advisory:
    ranges = [r for entry in record["affected"] for r in entry["ranges"] if r["type"] == "ECOSYSTEM"]
    fixed = {value for r in ranges for kind, value in r["events"] if kind == "fixed"}
    order = sorted(fixed, key=lambda v: (_parse_version(v) is None, _parse_version(v) or Version("0"), v))
    return Advisory(
        id=record["id"],
        aliases=tuple(record["aliases"]),
        summary=record["summary"],
        details=record["details"],
        fixed_versions=tuple(order),
        severity=tuple((kind, score) for kind, score in record["severity"]),
        published=record["published"],
        modified=record["modified"],
        references=tuple(record["references"]),
    )


def _advisory_files(root: Path) -> dict[str, Path]:
    """Every *.yaml/*.yml/*.json below `root` by relative path, skipping hidden entries such as .git."""
    if not root.is_dir():
        raise AdvisoryDatabaseError(f"advisory database {root} does not exist or is not a folder")
    found: dict[str, Path] = {}
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        relative = Path(folder).relative_to(root)  # "." for the root itself, and "." / name is name
        for name in sorted(n for n in names if n.endswith(_SUFFIXES) and not n.startswith(".")):
            found[(relative / name).as_posix()] = Path(folder, name)
    if not found:
        raise AdvisoryDatabaseError(f"advisory database {root} holds no OSV advisory files (*.yaml, *.yml, *.json)")
    return found


def _fingerprint(root: Path, files: dict[str, Path]) -> str:
    """A key that changes when any advisory file is added, removed or rewritten."""
    lines = [f"{_CACHE_FORMAT}", str(root.resolve())]
    for rel, file in files.items():
        try:
            stat = file.stat()
            lines.append(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}")
        except OSError:  # a dangling link: reading it fails later and names it as a problem
            lines.append(f"{rel}\0unreadable")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _parse_file(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_LOADER)  # noqa: S506 (safe)


def _build_index(root: Path, files: dict[str, Path], key: str) -> Index:
    index: Index = {"format": _CACHE_FORMAT, "key": key, "advisories": 0, "newest": None}
    index.update(problems=[], packages={}, broken={})
    for rel, path in files.items():
        doc = None
        try:
            doc = _parse_file(path)
            modified, records = _records(doc, rel)
        except (OSError, ValueError, yaml.YAMLError) as exc:  # JSON and Unicode errors are ValueErrors
            _add_problem(index, root, path, rel, doc, exc)
            continue
        index["advisories"] += 1
        if modified and _is_date(modified[:10]) and modified[:10] > (index["newest"] or ""):
            index["newest"] = modified[:10]
        for name, record in records.items():
            index["packages"].setdefault(name, []).append(record)
    return index


def _add_problem(index: Index, root: Path, path: Path, rel: str, doc: object, exc: Exception) -> None:
    """Name the file in the problems, and mark every package it names (or its folder names) not audited."""
    problem = f"{rel}: {' '.join(str(exc).split())[:300]}"
    index["problems"].append(problem)
    names = _names_in(doc)
    if path.parent not in (root, root / "vulns"):
        names.add(canonicalize_name(path.parent.name))
    for name in sorted(names):
        index["broken"].setdefault(name, []).append(f"advisory file {problem}")


def _names_in(doc: object) -> set[str]:
    affected = doc.get("affected") if isinstance(doc, dict) else None
    items = affected if isinstance(affected, list) else []
    packages = [item.get("package") for item in items if isinstance(item, dict)]
    return {canonicalize_name(p["name"]) for p in packages if isinstance(p, dict) and isinstance(p.get("name"), str)}


def _typed(value: object, kind: type[T], what: str) -> T:
    if not isinstance(value, kind):
        raise _Malformed(f"{what} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _records(raw: object, rel: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """Validate one OSV document; return its modified time and a record per PyPI package it affects."""
    doc = _typed(raw, dict, "an OSV advisory")
    advisory_id, modified = _typed(doc.get("id"), str, "id"), _text(doc.get("modified"))
    if doc.get("withdrawn"):  # withdrawn records stay in databases but assert nothing
        return modified, {}
    common = {
        "id": advisory_id,
        "file": rel,
        "aliases": [str(alias) for alias in _typed(doc.get("aliases") or [], list, "aliases")],
        "summary": _text(doc.get("summary")),
        "details": str(doc.get("details") or ""),
        "severity": [
            [str(s.get("type")), str(s["score"])] for s in _dicts(doc.get("severity"), "severity") if "score" in s
        ],
        "published": _text(doc.get("published")),
        "modified": modified,
        "references": [str(r["url"]) for r in _dicts(doc.get("references"), "references") if r.get("url")],
    }
    records: dict[str, dict[str, Any]] = {}
    for item in _dicts(_typed(doc.get("affected"), list, "affected"), "affected"):
        package = _typed(item.get("package"), dict, "affected[].package")
        name = _typed(package.get("name"), str, "affected[].package.name")
        if _typed(package.get("ecosystem"), str, "affected[].package.ecosystem") != "PyPI":
            continue
        ranges = [_range(r) for r in _dicts(item.get("ranges"), "affected[].ranges") if r.get("type") != "GIT"]
        listed = _typed(item.get("versions") or [], list, "affected[].versions")
        versions = [_version_key(_version_text(v, "a listed version")) for v in listed]
        entry = {"ranges": ranges, "versions": versions}
        records.setdefault(canonicalize_name(name), {**common, "affected": []})["affected"].append(entry)
    return modified, records


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


def _version_key(text: str) -> str:
    """PEP 440-equal versions share one key ("2.10.0" and "2.10"); unparsable ones keep their text."""
    parsed = _parse_version(text)
    return canonicalize_version(parsed) if parsed is not None else text


def _text(value: object) -> str | None:
    """Text for a scalar; ISO text for the datetime objects PyYAML makes of unquoted timestamps."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return utc.isoformat() + "Z"
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _snapshot_facts(root: Path) -> tuple[str | None, str | None]:
    """Commit and date from SNAPSHOT.txt ("Commit <sha>, dated YYYY-MM-DD"), else the commit of a .git."""
    text = ""
    with contextlib.suppress(OSError):
        text = (root / "SNAPSHOT.txt").read_text(encoding="utf-8", errors="replace")
    commit = re.search(r"\bcommit ([0-9a-f]{40})\b", text, re.IGNORECASE)
    dated = [d for d in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text) if _is_date(d)]
    return (commit.group(1).lower() if commit else _git_head(root)), (dated[0] if dated else None)


def _git_head(root: Path) -> str | None:
    """HEAD's commit read from the files of a git checkout, without running git."""
    git = root / ".git"
    with contextlib.suppress(OSError, ValueError):
        if git.is_file():  # a worktree or submodule: ".git" holds "gitdir: <path>"
            git = root / git.read_text(encoding="utf-8").removeprefix("gitdir:").strip()
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        ref = head.removeprefix("ref:").strip()
        if ref == head:
            return head if _SHA.fullmatch(head) else None
        if (git / ref).is_file():
            sha = (git / ref).read_text(encoding="utf-8").strip()
            return sha if _SHA.fullmatch(sha) else None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(sha):
                return sha
    return None


def _load_cache(file: Path, key: str) -> Index | None:
    """The cached index, or None when missing, corrupt (checksum) or for another database state."""
    try:
        header, _, payload = file.read_bytes().partition(b"\n")
        if header.decode("ascii") != hashlib.sha256(payload).hexdigest():
            return None
        index = json.loads(payload)
    except (OSError, ValueError):
        return None
    valid = isinstance(index, dict) and index.get("format") == _CACHE_FORMAT and index.get("key") == key
    return index if valid else None


def _save_cache(file: Path, index: Index) -> None:
    """Write atomically (temp file + os.replace) and drop older caches of the same database; best effort."""
    payload = json.dumps(index, separators=(",", ":")).encode()
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=file.parent, prefix=".osv-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            Path(temp).replace(file)
        finally:
            Path(temp).unlink(missing_ok=True)
        for stale in file.parent.glob(file.name[:21] + "*.json"):
            if stale != file:
                stale.unlink(missing_ok=True)
