"""Hostile and broken `.wandb` files: a cut-off tail is normal and read up to the cut; anything
else gives one line naming the file and the byte offset (exit 2 through the CLI), never a
traceback, a hang or unbounded memory. Files are the real ones wandb wrote, damaged, or built
here record by record with valid checksums so the damage reaches the protobuf decoder."""

from __future__ import annotations

import os
import random
import shutil
import zlib
from pathlib import Path

import pytest

from auditor.errors import IngestError
from auditor.ingest.wandb import reader as wandb
from auditor.ingest.wandb.logfile import BLOCK
from tests.conftest import CliRunner
from tests.ingest.test_wandb import Project, shared_project

HEADER = b":W&B\xe1\xbe\x00"


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return shared_project(tmp_path_factory)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def run_record(config_json: bytes = b"1", project: bytes = b"p") -> bytes:
    start = field(17, field(1, 1_780_000_000))
    config = field(4, field(1, field(1, b"x") + field(16, config_json)))
    return field(17, field(1, b"abc123") + field(3, project) + start + config)


def framed(*payloads: bytes, kinds: tuple[int, ...] = ()) -> bytes:
    """A .wandb file: W&B's header, then each payload as LevelDB log records (split at blocks)."""
    out = bytearray(HEADER)
    for n, payload in enumerate(payloads):
        forced = kinds[n] if n < len(kinds) else None
        first = True
        while True:
            room = BLOCK - len(out) % BLOCK
            if room < 7:
                out += bytes(room)
                continue
            chunk, payload = payload[: room - 7], payload[room - 7 :]
            kind = forced or (1 if first and not payload else 2 if first else 4 if not payload else 3)
            out += zlib.crc32(chunk, zlib.crc32(bytes([kind]))).to_bytes(4, "little")
            out += len(chunk).to_bytes(2, "little") + bytes([kind]) + chunk
            first = False
            if not payload:
                break
    return bytes(out)


def run_folder(base: Path, data: bytes, run_id: str = "abc123") -> Path:
    folder = base / "wandb" / f"offline-run-20260101_000000-{run_id}"
    folder.mkdir(parents=True)
    (folder / f"run-{run_id}.wandb").write_bytes(data)
    return folder


def copy_run(project: Project, scenario: str, base: Path) -> Path:
    folder = base / "wandb" / project.folders[scenario].name
    shutil.copytree(project.folders[scenario], folder)
    return next(folder.glob("*.wandb"))


def one_error(source: Path, *needles: str) -> str:
    with pytest.raises(IngestError) as caught:
        wandb.read(source)
    text = str(caught.value)
    assert "\n" not in text and all(n in text for n in needles), text
    return text


def test_a_built_file_reads(tmp_path: Path) -> None:
    """The helpers above write what the reader reads: the hostile cases below differ in one thing."""
    (run,) = wandb.read(run_folder(tmp_path, framed(run_record())))
    assert run.source_run_id == "abc123" and run.params == {"x": 1} and run.status == "unfinished"


def test_a_run_without_a_project_is_uncategorized_and_says_so(tmp_path: Path) -> None:
    (run,) = wandb.read(run_folder(tmp_path, framed(run_record(project=b""))))
    assert run.project == "uncategorized" and any("no project" in n for n in run.notes)


def test_a_record_split_across_blocks_reads(tmp_path: Path) -> None:
    big = "é" * 50_000  # about three blocks: FIRST, MIDDLE, LAST
    (run,) = wandb.read(run_folder(tmp_path, framed(run_record(f'"{big}"'.encode()))))
    assert run.params == {"x": big}


def test_a_cut_off_tail_is_read_up_to_the_cut(project: Project, tmp_path: Path) -> None:
    path = copy_run(project, "train", tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-3])  # inside the last record (the exit record)
    (run,) = wandb.read(tmp_path)
    assert run.status == "unfinished" and run.ended_at is None
    assert any("ends inside a record at offset" in n for n in run.notes)
    assert run.params == wandb.read(project.folders["train"])[0].params


def test_a_zero_filled_tail_is_a_cut(tmp_path: Path) -> None:
    data = framed(run_record())
    (run,) = wandb.read(run_folder(tmp_path, data + bytes(100)))
    assert any(f"offset {len(data)}" in n for n in run.notes)


def test_a_run_killed_before_its_first_block(project: Project, tmp_path: Path) -> None:
    only = run_folder(tmp_path / "a", HEADER)
    one_error(only, "holds no run record", str(next(only.glob("*.wandb"))))
    both = tmp_path / "b"
    run_folder(both, HEADER, "empty1")
    run_folder(both, framed(run_record()), "abc123")
    (run,) = wandb.read(both)
    assert any("not ingested, no run record" in n and "run-empty1.wandb" in n for n in run.notes)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        (b":W&", ("not a W&B run file",)),
        (b"PK\x03\x04" + bytes(100), ("offset 0", "not a W&B run file")),
        (b":W&B\xe1\xbe\x07", ("format version 7",)),
        (HEADER + b"\x00\x00\x00\x00\x05\x00\x09hello", ("offset 7", "record type 9")),
        (HEADER + b"\x00\x00\x00\x00\xff\xff\x01", ("offset 7", "runs past its 32 KiB block")),
        (HEADER + bytes(50) + b"x", ("offset 7", "zeros where a record should start")),
    ],
    ids=["cut-header", "not-wandb", "version", "type", "length", "zeros"],
)
def test_broken_framing(tmp_path: Path, data: bytes, needles: tuple[str, ...]) -> None:
    one_error(run_folder(tmp_path, data), *needles)


def test_a_corrupt_byte_is_a_checksum_mismatch(project: Project, tmp_path: Path) -> None:
    path = copy_run(project, "train", tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    one_error(tmp_path, str(path), "offset ", "checksum mismatch")


@pytest.mark.parametrize(
    ("payload", "needles"),
    [
        (field(17, b"\x0a\xff\xff\xff\xff\xff\xff\xff\x7f"), ("offset 7", "run:", "claims")),  # a huge length
        (field(17, b"\x08" + b"\xff" * 11), ("run:", "longer than ten bytes")),
        (field(17, b"\x0b\x0c"), ("run:", "wire type 3")),
        (run_record(b"[" * 100_000 + b"]" * 100_000), ("config", "'x'", "nested deeper")),
        (run_record(b"{not json"), ("config", "not JSON")),
        (run_record(project=b"caf\xe9"), ("run.project", "not UTF-8")),
        (field(17, field(1, 5)), ("run.run_id", "expected text")),
    ],
    ids=["huge-length", "long-varint", "group", "deep-nesting", "bad-json", "not-utf8", "number-for-text"],
)
def test_broken_records(tmp_path: Path, payload: bytes, needles: tuple[str, ...]) -> None:
    folder = run_folder(tmp_path, framed(payload))
    one_error(folder, str(next(folder.glob("*.wandb"))), *needles)


def test_fragments_out_of_order(tmp_path: Path) -> None:
    one_error(run_folder(tmp_path / "a", framed(run_record(), kinds=(3,))), "never began")
    one_error(run_folder(tmp_path / "b", framed(run_record(), run_record(), kinds=(2, 1))), "split record at 7")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_or_a_link_is_refused_without_waiting(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "fifo", b"")
    path = next(folder.glob("*.wandb"))
    path.unlink()
    os.mkfifo(path)
    one_error(folder, "not a regular file")
    folder = run_folder(tmp_path / "link", b"")
    path = next(folder.glob("*.wandb"))
    path.unlink()
    path.symlink_to("/etc/passwd")
    one_error(folder, "a symbolic link")


def test_random_damage_never_escapes_as_a_crash(project: Project, tmp_path: Path) -> None:
    """Flipped bytes anywhere in a real file: read, or one IngestError; nothing else."""
    original = project.folders["train"]
    rng = random.Random(15)  # noqa: S311 - reproducible damage, not secrets
    data = next(original.glob("*.wandb")).read_bytes()
    outcomes = set()
    for n in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        folder = run_folder(tmp_path / str(n), bytes(damaged))
        try:
            wandb.read(folder)
            outcomes.add("read")
        except IngestError as exc:
            assert "\n" not in str(exc) and str(folder) in str(exc)
            outcomes.add("error")
    assert outcomes == {"read", "error"}


def test_through_the_cli_nothing_is_written(cli: CliRunner, project: Project, tmp_path: Path) -> None:
    source = tmp_path / "project"
    for scenario in ("train", "broken"):
        copy_run(project, scenario, source)
    path = next((source / "wandb" / project.folders["broken"].name).glob("*.wandb"))
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    store = tmp_path / "store"
    done = cli("ingest", "wandb", str(source), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(path) in done.stderr and "checksum mismatch" in done.stderr
    assert not (store / "runs").exists() or not any((store / "runs").iterdir())
