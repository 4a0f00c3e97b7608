"""dvc.lock: what each stage ran and the MD5 of every dependency and output when it last ran.

Two shapes exist. DVC 2 and 3 write `schema: '2.0'` with the stages under `stages:`; DVC 3
adds `hash: md5` to every entry it hashed itself. An entry without `hash:` was hashed by DVC 2
(or 1), whose MD5 of a text file is taken after turning CRLF into LF ("md5-dos2unix"); DVC 1
wrote no `schema` and put the stages at the top level. Both older forms are read and flagged
as legacy. Everything is checked on the way in; a malformed value is an IngestError naming the
file and the field as it is written (`stages.train.deps[0].md5`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import IngestError
from auditor.ingest.dvc.files import MAX_PIPELINE_BYTES, read_bytes
from auditor.ingest.safe_yaml import load_yaml

MD5 = re.compile(r"^[0-9a-f]{32}(\.dir)?$")
# what remote dependencies record instead of (or beside) an MD5
OTHER_DIGESTS = ("etag", "checksum", "version_id", "md5-dos2unix")
MAX_TEXT = 4096


@dataclass(frozen=True)
class Entry:
    """One dependency or output as dvc.lock recorded it."""

    path: str  # as written: relative to the stage's working directory, or a URL
    md5: str | None  # "<hex>" for a file, "<hex>.dir" for a directory
    legacy: bool  # hashed by DVC 1/2 (no `hash:` key): CRLF-normalised MD5 of text files
    size: int | None = None
    nfiles: int | None = None
    other: dict[str, str] = field(default_factory=dict)  # etag, checksum, version_id...

    @property
    def is_dir(self) -> bool:
        return self.md5 is not None and self.md5.endswith(".dir")


@dataclass(frozen=True)
class LockStage:
    name: str
    cmd: str
    deps: tuple[Entry, ...]
    outs: tuple[Entry, ...]
    params: dict[str, dict[str, Any]]  # params file -> key (as written in dvc.yaml) -> value


@dataclass(frozen=True)
class Lock:
    path: Path
    label: str  # repo-relative, for notes
    schema: str  # "2.0", or "1" for DVC 1's unversioned file
    stages: dict[str, LockStage]
    datasets: int  # `datasets:` entries (DVC's dataset dependencies), counted, not interpreted


def read_lock(path: Path, label: str) -> Lock:
    shown = str(path)  # errors name the file as the user can open it
    data = load_yaml(read_bytes(path, shown, MAX_PIPELINE_BYTES), shown)
    if data is None:
        return Lock(path, label, "2.0", {}, 0)  # DVC treats an empty lock as no stage locked
    if not isinstance(data, dict):
        raise IngestError(shown, None, f"expected a mapping, found {_kind(data)}")
    if "schema" in data:
        schema = data["schema"]
        if schema != "2.0":
            raise IngestError(shown, "schema", f"unknown schema {schema!r:.40} (DVC 2 and 3 write '2.0')")
        unknown = sorted(set(data) - {"schema", "stages", "datasets"})
        if unknown:
            raise IngestError(shown, str(unknown[0])[:80], "unknown key for a schema '2.0' dvc.lock")
        stages_data, prefix = data.get("stages") or {}, "stages."
        datasets = data.get("datasets") or []
        count = len(datasets) if isinstance(datasets, list) else 0
    else:
        schema, stages_data, prefix, count = "1", data, "", 0
    if not isinstance(stages_data, dict):
        raise IngestError(shown, "stages", f"expected a mapping of stage names, found {_kind(stages_data)}")
    stages = {}
    for name, stage in stages_data.items():
        if not isinstance(name, str) or not name:
            raise IngestError(shown, f"{prefix}{name!r:.80}", "a stage name must be text")
        stages[name] = _stage(name, stage, shown, f"{prefix}{name}", legacy_file=schema == "1")
    return Lock(path, label, str(schema), stages, count)


def _stage(name: str, data: Any, label: str, where: str, *, legacy_file: bool) -> LockStage:
    if not isinstance(data, dict):
        raise IngestError(label, where, f"expected a mapping, found {_kind(data)}")
    if "cmd" not in data:
        raise IngestError(label, f"{where}.cmd", "missing: every locked stage records its command")
    cmd = data["cmd"]
    if isinstance(cmd, list) and cmd and all(isinstance(part, str) for part in cmd):
        cmd = " && ".join(cmd)  # DVC runs a list's commands one after another, stopping at the first failure
    if not isinstance(cmd, str):
        raise IngestError(label, f"{where}.cmd", f"expected text or a list of text, found {_kind(cmd)}")
    deps = _entries(data.get("deps"), label, f"{where}.deps", legacy_file)
    outs = _entries(data.get("outs"), label, f"{where}.outs", legacy_file)
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise IngestError(label, f"{where}.params", f"expected a mapping of params files, found {_kind(params)}")
    for file, values in params.items():
        if not isinstance(file, str) or not isinstance(values, dict):
            raise IngestError(label, f"{where}.params.{file}", "expected a mapping of parameter names to values")
    return LockStage(name, cmd[: MAX_TEXT * 16], deps, outs, params)


def _entries(data: Any, label: str, where: str, legacy_file: bool) -> tuple[Entry, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise IngestError(label, where, f"expected a list, found {_kind(data)}")
    return tuple(_entry(item, label, f"{where}[{index}]", legacy_file) for index, item in enumerate(data))


def _entry(data: Any, label: str, where: str, legacy_file: bool) -> Entry:
    if not isinstance(data, dict):
        raise IngestError(label, where, f"expected a mapping with a path, found {_kind(data)}")
    path = data.get("path")
    if not isinstance(path, str) or not path or len(path) > MAX_TEXT or "\x00" in path:
        raise IngestError(label, f"{where}.path", "missing or not a path")
    algorithm = data.get("hash")
    if algorithm is not None and algorithm != "md5":
        raise IngestError(label, f"{where}.hash", f"unknown hash {algorithm!r:.40} (DVC 3 writes 'md5')")
    md5 = data.get("md5")
    if md5 is not None and (not isinstance(md5, str) or not MD5.match(md5)):
        raise IngestError(label, f"{where}.md5", f"{md5!r:.60} is not an MD5 (32 hex digits, '.dir' for a folder)")
    other = {}
    for key in OTHER_DIGESTS:
        value = data.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise IngestError(label, f"{where}.{key}", f"expected text, found {_kind(value)}")
            other[key] = str(value)[:MAX_TEXT]
    return Entry(
        path=path,
        md5=md5,
        legacy=legacy_file or algorithm is None,
        size=_count(data, "size", label, where),
        nfiles=_count(data, "nfiles", label, where),
        other=other,
    )


def _count(data: dict[str, Any], key: str, label: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IngestError(label, f"{where}.{key}", f"expected a whole number of at least 0, found {value!r:.40}")
    return value


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "text"}
    return names.get(type(value), type(value).__name__)
