"""W&B's `Record` messages, by field number, read into a `RawRun`.

The numbers are those of wandb_internal.proto (W&B's `Record` and the messages under it) as
wandb 0.31 ships them; W&B keeps them stable, as protobuf requires of a format it reads back.
Only what a run record needs is read; requests, stats, telemetry beyond the versions, and
unknown fields are skipped. Strings must be UTF-8, as protobuf requires: anything else is an
error naming the field, since a reader that guessed would record what the run never logged.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import NamedTuple

from auditor.ingest.wandb.raw import Entry, HistoryRow, Json, Key, RawArtifact, RawRun
from auditor.ingest.wandb.wire import Fields, WireError, decode, double, signed

# Record
HISTORY, SUMMARY, OUTPUT, CONFIG, FILES, ARTIFACT, TELEMETRY, OUTPUT_RAW = 2, 3, 4, 5, 6, 8, 11, 13
RUN, EXIT, HEADER, PREEMPTING, USE_ARTIFACT, ENVIRONMENT = 17, 18, 21, 23, 25, 26
MAX_STDERR_LINES = 20


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


class RecordError(ValueError):
    """A record whose fields are not what W&B writes; the message names the field, and `offset`
    the record when it is not the one being read."""

    def __init__(self, problem: str, offset: int | None = None) -> None:
        super().__init__(problem)
        self.offset = offset


class Pending(NamedTuple):
    """A summary value not parsed yet: W&B rewrites the summary after every history row, and only
    the last value of each key matters (parsing them all took half the reading time)."""

    offset: int


def _message(value: int | bytes, name: str) -> Fields:
    if not isinstance(value, bytes):
        raise RecordError(f"{name}: expected a message, found a number")
    try:
        return decode(value)
    except WireError as exc:
        raise RecordError(f"{name}: {exc}") from exc


def _last(fields: Fields, number: int) -> int | bytes | None:
    values = fields.get(number)
    return values[-1] if values else None


def _text(fields: Fields, number: int, name: str) -> str:
    value = _last(fields, number)
    return "" if value is None else _string(value, name)


def _string(value: int | bytes, name: str) -> str:
    if not isinstance(value, bytes):
        raise RecordError(f"{name}: expected text, found a number")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{name}: not UTF-8 (byte {exc.start})") from exc


def _texts(fields: Fields, number: int, name: str) -> list[str]:
    return [_string(v, name) for v in fields.get(number, [])]


def _int(fields: Fields, number: int, name: str, bits: int = 64) -> int | None:
    value = _last(fields, number)
    if value is None:
        return None
    if not isinstance(value, int):
        raise RecordError(f"{name}: expected a number")
    return signed(value, bits)


def _sub(fields: Fields, number: int, name: str) -> Fields:
    value = _last(fields, number)
    return {} if value is None else _message(value, name)


def _time(fields: Fields, number: int, name: str) -> datetime | None:
    stamp = _sub(fields, number, name)
    seconds = _int(stamp, 1, f"{name}.seconds") or 0
    nanos = _int(stamp, 2, f"{name}.nanos", 32) or 0
    if not stamp or not 0 <= nanos < 1_000_000_000:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"{name}: {seconds} s is out of range") from None


def _key_text(data: int | bytes, name: str) -> tuple[Key, str]:
    """A config, summary or history item's key and JSON text."""
    quick = _quick_item(data) if isinstance(data, bytes) else None
    if quick is not None:
        nested, key_bytes, value = quick
        key = tuple(_string(k, f"{name}.nested_key") for k in nested) or (_string(key_bytes, f"{name}.key"),)
        return key, _string(value, f"{name}.value_json")
    fields = _message(data, name)
    texts = _texts(fields, 2, f"{name}.nested_key")
    key = tuple(texts) if texts else (_text(fields, 1, f"{name}.key"),)
    return key, _text(fields, 16, f"{name}.value_json") if 16 in fields else _typed(fields, name)


def _quick_item(data: bytes) -> tuple[list[bytes], bytes, bytes] | None:
    """An item as W&B writes nearly all of them (key or nested keys, then value_json, each shorter
    than 128 bytes), read without the general decoder: a third of the reading time. None for
    anything else, which the general decoder then reads (and reports)."""
    nested: list[bytes] = []
    key = value = None
    pos, end = 0, len(data)
    while pos < end:
        tag = data[pos]
        start = pos + 3 if tag == 0x82 else pos + 2  # 0x82 0x01: field 16, length-delimited
        if start > end or (tag == 0x82 and data[pos + 1] != 0x01) or tag not in (0x0A, 0x12, 0x82):
            return None
        size = data[start - 1]
        if size >= 0x80 or start + size > end:
            return None
        chunk, pos = data[start : start + size], start + size
        if tag == 0x12:
            nested.append(chunk)
        elif tag == 0x0A:
            key = chunk
        else:
            value = chunk
    if value is None or (key is None and not nested):
        return None
    return nested, key or b"", value


def _item(data: int | bytes, name: str) -> tuple[Key, Json]:
    """A config, summary or history item: its key, and its value as JSON text and parsed."""
    key, text = _key_text(data, name)
    return key, Json(text, parse(text, key, name))


def parse(text: str, key: Key, name: str, offset: int | None = None) -> object:
    """W&B's JSON text as a value: numbers without the JSON parser (most values are numbers)."""
    number = _NUMBER.fullmatch(text) if len(text) < 40 else None  # longer ones: json's own limits apply
    if number is not None:
        return float(text) if number.group(1) or number.group(2) else int(text)
    try:
        return json.loads(text)
    except RecursionError:
        raise RecordError(f"{name} {'.'.join(key)[:100]!r}: nested deeper than auditor reads", offset) from None
    except ValueError as exc:  # W&B writes JSON (NaN and Infinity included); anything else is not its
        raise RecordError(f"{name} {'.'.join(key)[:100]!r}: not JSON ({exc})", offset) from None


def finish(run: RawRun) -> None:
    """Parse the summary's last values (see Pending)."""
    for key, (text, value) in run.summary.items():
        if isinstance(value, Pending):
            run.summary[key] = Json(text, parse(text, key, "summary", value.offset))


def _typed(fields: Fields, name: str) -> str:
    if 4 in fields:
        return "true" if _int(fields, 4, name) else "false"
    if 5 in fields:
        raw = _last(fields, 5)  # sint64: zigzag-encoded
        return str((raw >> 1) ^ -(raw & 1)) if isinstance(raw, int) else "null"
    if 6 in fields:
        number = _last(fields, 6)
        return json.dumps(double(number)) if isinstance(number, int) else "null"
    if 7 in fields:
        return json.dumps(_text(fields, 7, f"{name}.text"), ensure_ascii=False)
    if 8 in fields:
        return _text(fields, 8, f"{name}.json")
    return "null"


def read_record(payload: bytes, run: RawRun, offset: int) -> None:
    """Fold one record into `run`; a RecordError names the field that is wrong. Call `finish`
    after the last record."""
    fields = _message(payload, "record")
    run.records += 1
    if HISTORY in fields:
        _history(_sub(fields, HISTORY, "history"), run)
    elif SUMMARY in fields:
        _updates(_sub(fields, SUMMARY, "summary"), run.summary, "summary", Pending(offset))
    elif CONFIG in fields:
        _updates(_sub(fields, CONFIG, "config"), run.config, "config")
    elif RUN in fields:
        _run(_sub(fields, RUN, "run"), run, offset)
    elif EXIT in fields:
        done = _sub(fields, EXIT, "exit")
        run.exited = True
        run.exit_code = _int(done, 1, "exit.exit_code", 32) or 0
        run.runtime_s = _int(done, 2, "exit.runtime", 32) or 0
    elif ENVIRONMENT in fields:
        _environment(_sub(fields, ENVIRONMENT, "environment"), run)
    elif ARTIFACT in fields:
        run.artifacts.append(_artifact(_sub(fields, ARTIFACT, "artifact"), used=False))
    elif USE_ARTIFACT in fields:
        used = _sub(fields, USE_ARTIFACT, "use_artifact")
        name, kind = _text(used, 3, "use_artifact.name"), _text(used, 2, "use_artifact.type")
        run.artifacts.append(RawArtifact(kind, name, "", "", "", [], [], [], None, used=True))
    elif OUTPUT_RAW in fields or OUTPUT in fields:
        _output(_sub(fields, OUTPUT_RAW if OUTPUT_RAW in fields else OUTPUT, "output"), run)
    elif FILES in fields:
        for item in _sub(fields, FILES, "files").get(1, []):
            run.files.append(_text(_message(item, "files.files"), 1, "files.files.path"))
    elif TELEMETRY in fields:
        _telemetry(_sub(fields, TELEMETRY, "telemetry"), run)
    elif HEADER in fields:
        version = _sub(_sub(fields, HEADER, "header"), 1, "header.version_info")
        run.producer = _text(version, 1, "header.version_info.producer") or None
    elif PREEMPTING in fields:
        run.preempting = True


def _updates(fields: Fields, into: dict[Key, Json], name: str, pending: Pending | None = None) -> None:
    for value in fields.get(1, []):
        if pending is None:
            key, parsed = _item(value, f"{name}.update")
            into[key] = parsed
        else:
            key, text = _key_text(value, f"{name}.update")
            into[key] = Json(text, pending)
    for value in fields.get(2, []):
        key, _ = _key_text(value, f"{name}.remove")
        into.pop(key, None)


def _history(fields: Fields, run: RawRun) -> None:
    values: dict[Key, Json] = {}
    for value in fields.get(1, []):
        key, item = _item(value, "history.item")
        values[key] = item
    step = _int(_sub(fields, 2, "history.step"), 1, "history.step.num")
    if step is None and 2 in fields:
        step = 0  # proto3 leaves a zero out: an empty step message is step 0
    run.history.append(HistoryRow(step, values))


def _run(fields: Fields, run: RawRun, offset: int) -> None:
    run.run_id = _text(fields, 1, "run.run_id") or run.run_id
    run.entity = _text(fields, 2, "run.entity") or run.entity
    run.project = _text(fields, 3, "run.project") or run.project
    if 4 in fields:
        _updates(_sub(fields, 4, "run.config"), run.config, "run.config")
    if 5 in fields:
        _updates(_sub(fields, 5, "run.summary"), run.summary, "run.summary", Pending(offset))
    run.group = _text(fields, 6, "run.run_group") or run.group
    run.job_type = _text(fields, 7, "run.job_type") or run.job_type
    run.name = _text(fields, 8, "run.display_name") or run.name
    run.notes = _text(fields, 9, "run.notes") or run.notes
    run.tags = _texts(fields, 10, "run.tags") or run.tags
    run.sweep_id = _text(fields, 12, "run.sweep_id") or run.sweep_id
    run.host = _text(fields, 13, "run.host") or run.host
    run.started_at = _time(fields, 17, "run.start_time") or run.started_at
    run.resumed = run.resumed or bool(_int(fields, 18, "run.resumed"))
    if 19 in fields:
        _telemetry(_sub(fields, 19, "run.telemetry"), run)
    if 21 in fields:
        _git(_sub(fields, 21, "run.git"), run, "run.git")


def _telemetry(fields: Fields, run: RawRun) -> None:
    run.python_version = _text(fields, 4, "telemetry.python_version") or run.python_version
    run.cli_version = _text(fields, 5, "telemetry.cli_version") or run.cli_version
    run.platform = _text(fields, 13, "telemetry.platform") or run.platform


def _git(fields: Fields, run: RawRun, name: str) -> None:
    run.git_remote = _text(fields, 1, f"{name}.remote_url") or run.git_remote
    run.git_commit = _text(fields, 2, f"{name}.commit") or run.git_commit


ENVIRONMENT_TEXT = {1: "os", 2: "python", 4: "docker", 6: "program", 7: "code_path", 11: "root", 12: "host"}
ENVIRONMENT_TEXT |= {13: "username", 14: "executable", 18: "gpu_type", 25: "cuda_version"}
ENVIRONMENT_COUNT = {16: "cpu_count", 17: "cpu_count_logical", 19: "gpu_count"}


def _environment(fields: Fields, run: RawRun) -> None:
    """W&B writes the environment in parts (the process's facts, then the system monitor's), so
    each part fills in what it holds."""
    env = run.environment
    for number, key in ENVIRONMENT_TEXT.items():
        if number in fields:
            env[key] = _text(fields, number, f"environment.{key}")
    for number, key in ENVIRONMENT_COUNT.items():
        if number in fields:
            env[key] = str(_int(fields, number, f"environment.{key}"))
    started = _time(fields, 3, "environment.started_at")
    if started is not None:
        env["started_at"] = started.isoformat()
    if 5 in fields:
        run.args = _texts(fields, 5, "environment.args")
    if 9 in fields:
        _git(_sub(fields, 9, "environment.git"), run, "environment.git")
    if 21 in fields:
        env["memory_bytes"] = str(_int(_sub(fields, 21, "environment.memory"), 1, "environment.memory.total") or 0)
    if 22 in fields:
        cpu = _sub(fields, 22, "environment.cpu")
        if 3 in cpu:
            env["cpu_model"] = _text(cpu, 3, "environment.cpu.model")
    for value in fields.get(24, []):
        gpu = _message(value, "environment.gpu_nvidia")
        memory = _int(gpu, 2, "environment.gpu_nvidia.memory_total")
        name = _text(gpu, 1, "environment.gpu_nvidia.name")
        run.gpus.append(f"{name} ({memory} bytes)" if memory else name)
    for value in fields.get(26, []):
        gpu = _message(value, "environment.gpu_amd")
        run.gpus.append(_text(gpu, 8, "environment.gpu_amd.series") or _text(gpu, 9, "environment.gpu_amd.model"))
    if 23 in fields:
        apple = _sub(fields, 23, "environment.apple")
        run.gpus.append(_text(apple, 1, "environment.apple.name"))


def _artifact(fields: Fields, *, used: bool) -> RawArtifact:
    manifest = _sub(fields, 12, "artifact.manifest")
    entries = []
    for value in manifest.get(4, []):
        entry = _message(value, "artifact.manifest.contents")
        size = _int(entry, 4, "artifact.manifest.contents.size")
        entries.append(
            Entry(
                path=_text(entry, 1, "artifact.manifest.contents.path"),
                digest=_text(entry, 2, "artifact.manifest.contents.digest"),
                size=size if size is not None and size >= 0 else None,
                ref=_text(entry, 3, "artifact.manifest.contents.ref") or None,
            )
        )
    return RawArtifact(
        type=_text(fields, 4, "artifact.type"),
        name=_text(fields, 5, "artifact.name"),
        digest=_text(fields, 6, "artifact.digest"),
        description=_text(fields, 7, "artifact.description"),
        metadata=_text(fields, 8, "artifact.metadata"),
        aliases=_texts(fields, 11, "artifact.aliases"),
        tags=_texts(fields, 19, "artifact.tags"),
        entries=entries,
        manifest_file=_text(manifest, 5, "artifact.manifest.manifest_file_path") or None,
        used=used,
    )


def _output(fields: Fields, run: RawRun) -> None:
    stream = "stdout" if _int(fields, 1, "output.output_type") == 1 else "stderr"
    line = _text(fields, 3, "output.line")
    if stream == "stderr" and line.strip():
        run.stderr_tail = [*run.stderr_tail[-(MAX_STDERR_LINES - 1) :], line]
