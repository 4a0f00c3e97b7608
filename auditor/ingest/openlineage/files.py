"""Finding and parsing OpenLineage events on disk, with limits, before anything is interpreted.

The client's FileTransport writes in two shapes: with `append` every event is one JSON line of
one file (whatever its suffix); without it every event is its own file, `<log_file_path>-<time>.json`
(indented in debug mode). So a source is a file of JSON lines, a file holding one event or a JSON
array of them, or a folder of such files. Every event remembers where it came from, so an error
names the file and line.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path

from auditor.errors import IngestError

MAX_LINE_BYTES = 10 * 1024 * 1024  # one event per line; real events are a few KB
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024  # a whole .json file parsed at once
MAX_EVENTS = 100_000
MAX_FILES = 100_000
SUFFIXES = (".json", ".jsonl", ".ndjson")
LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class RawEvent:
    where: str  # "events.jsonl: line 3", "x.json" or "x.json: item 2"
    order: int  # position across the whole source, the tie-breaker for equal event times
    data: object


@dataclass
class Loaded:
    events: list[RawEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load(path: Path) -> Loaded:
    loaded = Loaded()
    try:
        info = path.stat()
    except OSError as exc:
        raise IngestError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        files = _folder_files(path, loaded.notes)
        if not files and not loaded.notes:
            raise IngestError(path, None, f"no OpenLineage event files ({', '.join('*' + s for s in SUFFIXES)})")
        for file in files:
            _load_file(file, loaded)
    elif stat.S_ISREG(info.st_mode):
        _load_file(path, loaded)
    else:
        raise IngestError(path, None, "not a regular file or folder")
    return loaded


def _folder_files(folder: Path, notes: list[str]) -> list[Path]:
    """The event files directly in the folder; links leading out of it are not followed."""
    root = folder.resolve()
    files, outside, special = [], 0, 0
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise IngestError(folder, None, f"cannot list: {exc.strerror or exc}") from exc
    for entry in entries:
        if not entry.name.endswith(SUFFIXES):
            continue
        if entry.is_symlink() and not entry.resolve().is_relative_to(root):
            outside += 1
            continue
        try:
            if not stat.S_ISREG(entry.stat().st_mode):
                special += 1
                continue
        except OSError:  # a dangling link
            special += 1
            continue
        files.append(entry)
        if len(files) > MAX_FILES:
            raise IngestError(folder, None, f"more than {MAX_FILES} event files")
    if outside:
        notes.append(f"{outside} event file(s) in {folder} are links to outside the folder and were not read")
    if special:
        notes.append(f"{special} entries in {folder} named like event files are not regular files and were not read")
    return files


def _load_file(file: Path, loaded: Loaded) -> None:
    if file.name.endswith(LINES_SUFFIXES):
        _load_lines(file, loaded)
        return
    with _open(file) as handle:
        raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise IngestError(file, None, f"larger than {MAX_DOCUMENT_BYTES} bytes")
    text = _decode(raw, str(file))
    if not text.strip():
        return
    try:
        data = _parse(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # FileTransport with append=True writes JSON lines whatever the suffix
            _load_lines(file, loaded)
            return
        raise IngestError(f"{file}: line {exc.lineno}", None, _json_problem(exc)) from exc
    except (ValueError, RecursionError) as exc:
        raise IngestError(file, None, f"not valid JSON ({_why(exc)})") from exc
    if isinstance(data, list):
        for index, item in enumerate(data, 1):
            _add(loaded, f"{file}: item {index}", item, file)
    else:
        _add(loaded, str(file), data, file)


def _load_lines(file: Path, loaded: Loaded) -> None:
    with _open(file) as handle:
        number = 0
        while line := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            where = f"{file}: line {number}"
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise IngestError(where, None, f"longer than {MAX_LINE_BYTES} bytes")
            text = _decode(line, where)
            if not text.strip():
                continue
            try:
                data = _parse(text)
            except json.JSONDecodeError as exc:
                raise IngestError(where, None, _json_problem(exc)) from exc
            except (ValueError, RecursionError) as exc:
                raise IngestError(where, None, f"not valid JSON ({_why(exc)})") from exc
            _add(loaded, where, data, file)


def _open(file: Path) -> BufferedReader:
    """The file, if it is (still) a regular file: opened non-blocking, so a FIFO put in its place
    after the folder was listed is refused instead of waited on."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise IngestError(file, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IngestError(file, None, "not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _add(loaded: Loaded, where: str, data: object, file: Path) -> None:
    if len(loaded.events) >= MAX_EVENTS:
        raise IngestError(file, None, f"more than {MAX_EVENTS} events: ingest fewer at a time")
    loaded.events.append(RawEvent(where, len(loaded.events), data))


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(where, None, f"not UTF-8 text (byte {exc.start})") from exc


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _parse(text: str) -> object:
    return json.loads(text, parse_constant=_reject_constant)


def _json_problem(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"


def _why(exc: BaseException) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
