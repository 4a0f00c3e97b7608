"""The package index over an OSV advisory folder, its on-disk cache, and the snapshot's commit and date.

Parsing a few thousand YAML files takes seconds, so the index (plain JSON data, never pickle) can be
cached in `cache_dir` under a key over every advisory file's path, size and mtime. The cache is compact
and read lazily: a line with the sha256 of the rest (checked on every load: a corrupt or truncated
cache is rebuilt, never trusted), a JSON header (counts, problems, broken packages, and where each
package's records sit), then each package's records as one JSON array. A check decodes only the
packages its record names, not the whole database (tens of MiB for the OSV export). A database that
`auditor advisories update` installed keeps the same index in its folder (PREBUILT), keyed by the
sha256 of every advisory's content, so a cold cache costs hashing the files, not parsing them.
Otherwise, cold, the files are parsed by several processes when there are many of them and several
cores. A file that cannot be
read or is not a usable OSV record is named in the index's problems, and every package it names (or
the folder it sits in names) is marked broken so an audit reports it not audited rather than clean; a
broken file that names no package at all is "unattributed", and damages the whole database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml
from packaging.utils import canonicalize_name

from auditor.check.vulns.osv_records import package_names_in, package_records, parse_file
from auditor.errors import CouldNotEvaluateError
from auditor.files import write_atomic

if TYPE_CHECKING:
    import subprocess

_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST = "auditor-advisories.json"  # the coverage manifest (osv_coverage), never an advisory
PREBUILT = ".auditor-index"  # the index `advisories update` keeps in the database; hidden, so never an advisory
_CACHE_FORMAT = 4  # bump whenever the index layout or the evaluation inputs change
_SHA = re.compile(r"[0-9a-f]{40}")
_FILES_PER_WORKER = 400  # below this a worker costs more to start (~0.2 s) than it saves
# The index is JSON data so it can be cached: {"format", "key", "advisories": int, "problems": [str],
# "packages": {name: [record]}, "broken": {name: [problem]}, "newest": ISO date | None}. A record is what
# osv_records.package_records makes of one advisory for one package.
Index = dict[str, Any]


class AdvisoryDatabaseError(CouldNotEvaluateError):
    """The advisory database as a whole is unusable, so no package can be audited against it."""


def load_index(root: Path, files: dict[str, Path], cache_dir: Path | None) -> Index:
    """Index the advisory `files` under `root`, reusing a valid cache in `cache_dir` when one matches,
    else the database's own prebuilt index (PREBUILT) when it was built from these very files."""
    listed = _LISTED.pop(str(root), None)
    key = listed[1] if listed is not None and listed[0] is files else _fingerprint(root, files)
    cache = _cache_file(root, key, cache_dir)
    index = _load_cache(cache, key) if cache else None
    if index is None:
        index = _load_prebuilt(root, files)
        index = _build_index(root, files, key) if index is None else {**index, "key": key}
        if cache:
            _save_cache(cache, index)
    return index


def _cache_file(root: Path, key: str, cache_dir: Path | None) -> Path | None:
    where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]  # one live cache per database
    return cache_dir / f"osv-{where}-{key}.json" if cache_dir else None


def listed_files(root: Path) -> dict[str, Path]:
    """`advisory_files(root)`, or the listing `start_early` took of it in this check (not taken twice)."""
    listed = _LISTED.get(str(root))
    return listed[0] if listed is not None else advisory_files(root)


def write_prebuilt(root: Path, files: dict[str, Path], index: Index) -> None:
    """Keep `index` in the database folder (`auditor advisories update`), keyed by the content of every
    advisory file: a check whose cache is cold reads it instead of parsing thousands of files."""
    key = content_key(files)
    if key is None:
        raise OSError(f"{root}: an advisory file cannot be read")
    write_atomic(root / PREBUILT, _cache_bytes({**index, "key": key}))


def content_key(files: dict[str, Path]) -> str | None:
    """sha256 over the format and every advisory file's path and sha256; None when one cannot be read.
    Reading and hashing them costs a small part of parsing them (the PyPA snapshot: 14 MB)."""
    digest = hashlib.sha256(f"{_CACHE_FORMAT}\n".encode())
    for rel, path in files.items():
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _load_prebuilt(root: Path, files: dict[str, Path]) -> Index | None:
    """The database's prebuilt index when it is whole (its sha256 line) and was built from the files
    there now (content_key); else None, and the index is built from the files: a stale or damaged
    prebuilt index is never used."""
    prebuilt = root / PREBUILT
    if not prebuilt.is_file():
        return None
    key = content_key(files)
    return _load_cache(prebuilt, key) if key is not None else None


def snapshot_facts(root: Path) -> tuple[str | None, str | None]:
    """Commit and date from SNAPSHOT.txt ("Commit <sha>, dated YYYY-MM-DD"), else the commit of a .git."""
    text = snapshot_text(root)
    commit = re.search(r"\bcommit ([0-9a-f]{40})\b", text, re.IGNORECASE)
    dated = [d for d in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text) if is_date(d)]
    return (commit.group(1).lower() if commit else git_head(root)), (dated[0] if dated else None)


def snapshot_text(root: Path) -> str:
    """SNAPSHOT.txt of a database snapshot, or "" when there is none."""
    with contextlib.suppress(OSError):
        return (root / "SNAPSHOT.txt").read_text(encoding="utf-8", errors="replace")
    return ""


def is_advisory_path(rel: str) -> bool:
    """Whether a relative path is one the index reads: *.yaml/*.yml/*.json, nothing hidden, not the manifest."""
    parts = rel.split("/")
    return rel.endswith(_SUFFIXES) and rel != MANIFEST and not any(part.startswith(".") for part in parts)


def advisory_files(root: Path) -> dict[str, Path]:
    """Every *.yaml/*.yml/*.json below `root` by relative path, skipping hidden entries such as .git."""
    if not root.is_dir():
        raise AdvisoryDatabaseError(f"advisory database {root} does not exist or is not a folder")
    found: dict[str, Path] = {}
    _walk(str(root), "", found)
    if not found:
        raise AdvisoryDatabaseError(f"advisory database {root} holds no OSV advisory files (*.yaml, *.yml, *.json)")
    return found


def _walk(folder: str, prefix: str, found: dict[str, Path]) -> None:
    """os.walk's order (a folder's files, sorted, then each subfolder, sorted; links to folders not
    followed), with string paths: a warm check lists every advisory file, and Path objects cost."""
    try:
        with os.scandir(folder) as entries:
            listed = sorted(
                (entry.name, entry.is_dir() and not entry.is_symlink(), entry.is_dir()) for entry in entries
            )
    except OSError:
        return  # as os.walk: an unreadable folder is skipped (its files are then missing from the declaration)
    here: Path | None = None  # made once per folder: a child of it costs a third of a whole path parsed
    for name, _, is_dir in listed:
        if not is_dir and is_advisory_path(rel := prefix + name):
            here = here or Path(folder)
            found[rel] = here / name
    for name, walk_into, _ in listed:
        if walk_into and not name.startswith("."):
            _walk(folder + "/" + name, prefix + name + "/", found)


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


def _build_index(root: Path, files: dict[str, Path], key: str) -> Index:
    index: Index = {"format": _CACHE_FORMAT, "key": key, "advisories": 0, "newest": None}
    index.update(problems=[], packages={}, broken={}, unattributed=[])
    for rel, path, outcome in _parsed(files, key):
        if isinstance(outcome, _Unreadable):
            _add_problem(index, root, path, rel, outcome)
            continue
        modified, records = outcome
        index["advisories"] += 1
        if modified and is_date(modified[:10]) and modified[:10] > (index["newest"] or ""):
            index["newest"] = modified[:10]
        for name, record in records.items():
            index["packages"].setdefault(name, []).append(record)
    return index


@dataclass(frozen=True)
class _Unreadable:
    problem: str  # what is wrong, one line
    names: frozenset[str]  # the packages the file's content names, as far as it can tell


Parsed = tuple[str | None, dict[str, dict[str, Any]]] | _Unreadable


def _parse_one(rel: str, path: Path) -> Parsed:
    doc = None
    try:
        doc = parse_file(path)
        return package_records(doc, rel)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # JSON and Unicode errors are ValueErrors
        return _Unreadable(" ".join(str(exc).split())[:300], frozenset(package_names_in(doc)))
    except RecursionError:  # nesting libyaml allows (1,000 levels) that turning it into text does not
        return _Unreadable("nested too deeply", frozenset(package_names_in(doc)))


def _parsed(files: dict[str, Path], key: str | None = None) -> Iterator[tuple[str, Path, Parsed]]:
    """Each file's outcome, in `files` order; by several worker processes when there are many files and
    cores (parsing YAML is CPU-bound: 2,661 PyPA advisories take about 2 s on one core). The workers are
    plain `python -c` processes that import only this module (multiprocessing would re-run the caller's
    main script in each). A worker that cannot start, fails or answers anything unexpected leaves its
    share to this process, so the outcome never depends on them. Workers `start_early` started for these
    very files (the same list, the same fingerprint `key`) are used instead of new ones."""
    items = list(files.items())
    early = _EARLY.pop("parse", None)
    if early is not None and (early.items != items or early.key != key or key is None):
        early.stop()
        early = None
    workers = min(_cores(), len(items) // _FILES_PER_WORKER, 8)
    if early is not None:
        done: list[Parsed] | None = early.collect()
    else:
        done = _in_workers(items, workers) if workers >= 2 else None
    for at, (rel, path) in enumerate(items):
        yield rel, path, done[at] if done is not None else _parse_one(rel, path)


def _in_workers(items: list[tuple[str, Path]], workers: int) -> list[Parsed] | None:
    started = _Workers.start(items, workers)
    return started.collect() if started is not None else None


@dataclass
class _Workers:
    """Worker processes parsing `items`, each its share, started and not yet collected."""

    items: list[tuple[str, Path]]
    procs: list[tuple[subprocess.Popen[bytes], list[tuple[str, Path]]]]
    key: str | None = None

    @classmethod
    def start(cls, items: list[tuple[str, Path]], workers: int) -> _Workers | None:
        """Every worker gets its share at once, so they all parse at once; None when one cannot start."""
        import subprocess
        import sys

        if not sys.executable:
            return None
        size = -(-len(items) // workers)
        chunks = [items[at : at + size] for at in range(0, len(items), size)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        code = "from auditor.check.vulns.osv_index import serve_worker; serve_worker()"
        started = cls(items, [])
        try:
            for chunk in chunks:
                proc = subprocess.Popen(  # this interpreter, a fixed program
                    [sys.executable, "-c", code],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
                started.procs.append((proc, chunk))
                if proc.stdin is None:
                    started.stop()
                    return None
                _hand_over(proc.stdin, json.dumps([[rel, str(path)] for rel, path in chunk]).encode())
        except (OSError, ValueError, RuntimeError, subprocess.SubprocessError):  # RuntimeError: no thread
            started.stop()
            return None
        return started

    def collect(self) -> list[Parsed] | None:
        """Each file's outcome from the workers, or None when one failed or answered anything unexpected."""
        import subprocess

        try:
            results: list[Parsed] = []
            for proc, chunk in self.procs:
                if proc.stdout is None:
                    return None
                out = proc.stdout.read()
                answer = json.loads(out) if proc.wait(timeout=600) == 0 else None
                if not isinstance(answer, list) or len(answer) != len(chunk):
                    return None
                results += [_from_json(item) for item in answer]
            return results
        except (OSError, ValueError, TypeError, KeyError, subprocess.SubprocessError):
            return None
        finally:
            self.stop()

    def stop(self) -> None:
        """End the workers still running (their answer is not wanted) and reap them all."""
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _hand_over(stdin: IO[bytes], files: bytes) -> None:
    """Write a worker's list of files on a thread: a list larger than the pipe's buffer (64 KiB; 1,330
    PyPA advisories are 160 KiB) would otherwise hold this process until the worker has started and read
    it, 0.1-0.2 s per worker, the very time the early start is for. A worker that cannot read its list
    (it died) answers nothing usable, and its share is parsed here (see collect)."""

    def write() -> None:
        with contextlib.suppress(OSError, ValueError), stdin:
            stdin.write(files)

    try:
        threading.Thread(target=write, name="auditor-advisory-list", daemon=True).start()
    except RuntimeError:  # no thread to be had: the caller stops the workers and parses here
        stdin.close()
        raise


# Workers `start_early` started, until `_parsed` takes them (or `stop_early` ends them); the listing and
# fingerprint it took of a folder, until `load_index` takes them.
_EARLY: dict[str, _Workers] = {}
_LISTED: dict[str, tuple[dict[str, Path], str]] = {}


def start_early(root: Path, cache_dir: Path | None) -> None:
    """Start parsing the advisory folder `root` in worker processes now, when neither a cache file in
    `cache_dir` nor the database's prebuilt index may answer, so the parsing overlaps what a one-shot
    check does before it needs the index (reading and validating the record). `load_index` takes their
    outcomes only for the very files it indexes (the same list and fingerprint); else it stops them and
    works as without. Best effort: any problem here leaves the work to `load_index`. The caller ends
    workers never taken with `stop_early`."""
    stop_early()
    try:
        files = advisory_files(root)
        key = _fingerprint(root, files)
        _LISTED[str(root)] = (files, key)  # listed once per check: load_index takes this listing
        cache = _cache_file(root, key, cache_dir)
        if cache is not None and cache.is_file():
            return  # the cache will answer (were it damaged, load_index parses the files itself)
        if (root / PREBUILT).is_file():
            return  # an installed database: its prebuilt index answers after hashing the files
    except (OSError, ValueError, AdvisoryDatabaseError):
        return
    items = list(files.items())
    workers = min(_cores(), len(items) // _FILES_PER_WORKER, 8)
    started = _Workers.start(items, workers) if workers >= 2 else None
    if started is not None:
        started.key = key
        _EARLY["parse"] = started


def stop_early() -> None:
    """End workers `start_early` started that no index took (the check needed none, or failed first)."""
    _LISTED.clear()
    early = _EARLY.pop("parse", None)
    if early is not None:
        early.stop()


def serve_worker() -> None:
    """A worker of _in_workers: [[rel, path]] on stdin, each file's outcome as JSON on stdout."""
    import sys

    outcomes: list[dict[str, Any]] = []
    for rel, path in json.loads(sys.stdin.buffer.read()):
        outcome = _parse_one(rel, Path(path))
        if isinstance(outcome, _Unreadable):
            outcomes.append({"problem": outcome.problem, "names": sorted(outcome.names)})
        else:
            outcomes.append({"modified": outcome[0], "records": outcome[1]})
    sys.stdout.buffer.write(json.dumps(outcomes, separators=(",", ":")).encode())


def _from_json(item: dict[str, Any]) -> Parsed:
    if "problem" in item:
        return _Unreadable(str(item["problem"]), frozenset(str(n) for n in item["names"]))
    modified = item["modified"]
    records = item["records"]
    if (modified is not None and not isinstance(modified, str)) or not isinstance(records, dict):
        raise TypeError("a worker's answer is not an outcome")
    return modified, records


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _add_problem(index: Index, root: Path, path: Path, rel: str, unreadable: _Unreadable) -> None:
    """Name the file in the problems, and mark every package it names (or its folder names) not audited."""
    problem = f"{rel}: {unreadable.problem}"
    index["problems"].append(problem)
    names = set(unreadable.names)
    if path.parent not in (root, root / "vulns"):
        names.add(canonicalize_name(path.parent.name))
    if not names:  # a flat folder and an unreadable file: it could be about any package
        index["unattributed"].append(f"advisory file {problem}")
    for name in sorted(names):
        index["broken"].setdefault(name, []).append(f"advisory file {problem}")


def is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def git_dir(root: Path) -> Path:
    """The git folder of a checkout at `root` (".git", or where a worktree's ".git" file points)."""
    git = root / ".git"
    with contextlib.suppress(OSError, ValueError):
        if git.is_file():  # a worktree or submodule: ".git" holds "gitdir: <path>"
            git = root / git.read_text(encoding="utf-8").removeprefix("gitdir:").strip()
    return git


def git_head(root: Path) -> str | None:
    """HEAD's commit read from the files of a git checkout, without running git."""
    git = git_dir(root)
    with contextlib.suppress(OSError, ValueError):
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
        data = file.read_bytes()
        digest, _, payload = data.partition(b"\n")
        if digest.decode("ascii") != hashlib.sha256(payload).hexdigest():
            return None
        header_bytes, _, body = payload.partition(b"\n")
        index: Index = json.loads(header_bytes)
    except (OSError, ValueError):
        return None
    valid = isinstance(index, dict) and index.get("format") == _CACHE_FORMAT and index.get("key") == key
    if not valid or not isinstance(index.get("packages"), dict):
        return None
    index["packages"] = LazyPackages(body, index["packages"])
    return index


def _cache_bytes(index: Index) -> bytes:
    """The sha256 of the rest, a JSON header (`packages`: where each package's records sit), the records."""
    packages = index["packages"]
    if isinstance(packages, LazyPackages):  # read from a cache or prebuilt index: its checked bytes, as they are
        where, body = packages.layout()
    else:
        chunks, where, at = [], {}, 0
        for name, records in packages.items():
            chunk = json.dumps(records, separators=(",", ":")).encode()
            where[name] = [at, len(chunk)]
            chunks.append(chunk)
            at += len(chunk)
        body = b"".join(chunks)
    header = json.dumps({**index, "packages": where}, separators=(",", ":")).encode()
    payload = header + b"\n" + body
    return hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _save_cache(file: Path, index: Index) -> None:
    """Write atomically (a cache: no fsync) and drop older caches of the same database; best effort."""
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(file, _cache_bytes(index), durable=False)
        for stale in file.parent.glob(file.name[:21] + "*.json"):  # "osv-" + 16 hex + "-": same database
            if stale != file:
                stale.unlink(missing_ok=True)


class LazyPackages(Mapping[str, list[dict[str, Any]]]):
    """A cached index's records by package, each decoded when first asked for (the bytes were checked)."""

    def __init__(self, body: bytes, where: dict[str, list[int]]) -> None:
        self._body = body
        self._where = where
        self._decoded: dict[str, list[dict[str, Any]]] = {}

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        if name not in self._decoded:
            start, length = self._where[name]
            self._decoded[name] = json.loads(self._body[start : start + length])
        return self._decoded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def layout(self) -> tuple[dict[str, list[int]], bytes]:
        """Where each package's records sit in the body, and the body (to write it again unchanged)."""
        return self._where, self._body
