"""One MLflow run as either store holds it, before it is mapped onto the run record.

The file store and the SQLite store keep the same facts in different shapes; each reader
fills these plain values, and one mapping (auditor.ingest.mlflow.reader) turns them into a record,
so both stores are mapped the same way. Also the few careful readers both need: bounded
text, MLflow's YAML and JSON, and safe ids.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.safe_yaml import load_yaml

MAX_META_BYTES = 1 << 20  # meta.yaml, params, tags, MLmodel, requirements: MLflow's own limits are far lower
MAX_METRIC_BYTES = 64 << 20  # one metric's history: about two million values
CHUNK = 1 << 16
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # as auditor.files opens files
STATUS_NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class RawMetric:
    key: str
    value: float
    timestamp_ms: int
    step: int


@dataclass
class RawDataset:
    name: str
    digest: str
    source_type: str
    source: str  # the source description MLflow stored: JSON text
    schema: str | None
    profile: str | None
    contexts: list[str]
    where: str


@dataclass
class RawModel:
    """An MLflow 3 logged model (models/m-*): its own entity, outside the run's artifacts."""

    model_id: str
    name: str
    location: str  # artifact_location as recorded
    fallback: Path | None  # where its files are when the recorded location is stale
    where: str
    source_run_id: str | None = None


@dataclass
class RawRun:
    run_id: str
    experiment_id: str
    experiment: str
    name: str | None
    status: str  # FINISHED, FAILED, KILLED, RUNNING, SCHEDULED
    start_ms: int | None
    end_ms: int | None
    user_id: str | None
    deleted: bool
    artifact_uri: str
    where: str  # the file (or table row) that describes the run, for errors and notes
    store_root: Path  # artifacts are read only inside it
    fallback_artifacts: Path | None  # where the artifacts are when the recorded URI is stale
    version_hint: str | None  # what the layout or schema says of MLflow's version
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[RawMetric] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[RawDataset] = field(default_factory=list)
    models: list[RawModel] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # files of the run a reader could not fetch (a tracking server's), by their path under
    # store_root -> why: whatever holds one is recorded as not hashed rather than hashed incomplete
    unfetched: dict[str, str] = field(default_factory=dict)


def read_text(path: str | Path, field_name: str | None, limit: int = MAX_META_BYTES, dir_fd: int | None = None) -> str:
    """A file's UTF-8 text, at most `limit` bytes; any failure names the file. Only a regular
    file is read, as auditor.files.read_regular_file reads one: a symbolic link is refused
    (MLflow never writes one, and it could point anywhere on the machine), and so is a FIFO or
    a device (O_NONBLOCK: opening a FIFO returns at once, and fstat then refuses it). With
    `dir_fd`, the file's name is opened inside that open folder (`path` then only names it), so
    no link on the way is followed. Not read_regular_file itself: it allocates its whole cap per
    file (64 MiB for a metric), which made reading a store three times slower, and a store holds
    tens of thousands of tiny files, each read here with one read call."""
    name = str(path).rpartition("/")[2] if dir_fd is not None else path
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError as exc:
        raise IngestError(path, field_name, "missing") from exc
    except OSError as exc:
        problem = "a symbolic link: not followed" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror}"
        raise IngestError(path, field_name, problem) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IngestError(path, field_name, "not a regular file (MLflow writes only regular files)")
        # One read of the size fstat gives, and a byte more: a file of that size is then read
        # whole with no second read to find its end; one that reads shorter or longer (cut short,
        # or growing) is read on to its end in chunks.
        chunks = [os.read(fd, min(info.st_size, limit) + 1)]
        size = len(chunks[0])
        if size != info.st_size:
            while size <= limit and (chunk := os.read(fd, CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
        if size > limit:
            raise IngestError(path, field_name, f"larger than {limit} bytes")
    except OSError as exc:
        raise IngestError(path, field_name, f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(path, field_name, f"not UTF-8 text (byte {exc.start})") from exc


def read_small(name: str, dir_fd: int, limit: int) -> str | None:
    """The text of the small regular file `name` in the open folder `dir_fd`, read with one read
    call, or None when anything about it is unusual (missing, not a regular file, a link, over
    `limit`, read shorter or longer than its size, not UTF-8): read_text then reads it again and
    says what is wrong. The fast path for the tens of thousands of params, tags and metrics files
    of a store, which need neither their path nor their field's name unless something is wrong."""
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        size = info.st_size
        if size > limit or not stat.S_ISREG(info.st_mode):
            return None
        raw = os.read(fd, size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) != size:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load_yaml_mapping(path: str | Path, dir_fd: int | None = None) -> dict[str, Any]:
    """A YAML file that must hold a mapping (with `dir_fd`, read inside that open folder, as
    read_text reads it). Safe loader only (no Python objects), alias expansion bounded
    (auditor.ingest.safe_yaml); every value taken from it is type-checked."""
    data = load_yaml(read_text(path, None, dir_fd=dir_fd), path)
    if not isinstance(data, dict):
        raise IngestError(path, None, "expected a YAML mapping")
    return data


def text_field(data: dict[str, Any], key: str, where: str | Path, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise IngestError(where, key, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise IngestError(where, key, f"expected text, found {type(value).__name__}")
    return str(value)


def int_field(data: dict[str, Any], key: str, where: str | Path) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise IngestError(where, key, f"expected a whole number, found {value!r:.40}")
    return value


def json_object(text: str | None, where: str, field_name: str) -> dict[str, Any]:
    """MLflow keeps dataset sources, schemas and profiles as JSON text inside YAML or SQL."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise IngestError(where, field_name, f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise IngestError(where, field_name, "expected a JSON object")
    return value


def status_name(value: object, where: str | Path) -> str:
    """The file store keeps the status as a number, the SQL store as its name; absent is RUNNING,
    as MLflow reads it."""
    if value is None:
        return "RUNNING"
    if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_NAMES:
        return STATUS_NAMES[value]
    if isinstance(value, str) and value in STATUS_NAMES.values():
        return value
    raise IngestError(where, "status", f"unknown run status {value!r:.40}")


def safe_id(text: str, prefix: str = "") -> str:
    """A record id from any MLflow name: unsafe characters become '-', and it starts alphanumeric."""
    cleaned = _UNSAFE.sub("-", f"{prefix}{text}").strip("-._")[:120]
    return cleaned if cleaned and cleaned[0].isalnum() else f"x{cleaned}"


def unique(candidate: str, taken: set[str]) -> str:
    chosen, n = candidate, 2
    while chosen in taken:
        chosen, n = f"{candidate}-{n}", n + 1
    taken.add(chosen)
    return chosen
