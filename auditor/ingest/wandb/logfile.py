"""The framing of a W&B run's `.wandb` file: LevelDB's log format behind a W&B header.

The file starts with W&B's 7-byte header (":W&B", the magic 0xBEE1 little-endian, format
version 0). Then come LevelDB log records in 32 KiB blocks counted from the start of the file
(the header sits inside the first block): each has a 7-byte header (checksum, little-endian
16-bit length, type FULL, FIRST, MIDDLE or LAST) and never crosses a block; fewer than 7
bytes left in a block are zero padding. A record larger than a block is split FIRST,
MIDDLE..., LAST. W&B's checksum is the IEEE CRC-32 (zlib's) of the type byte then the payload,
unmasked, where LevelDB itself uses a masked CRC-32C: measured on files wandb 0.31 wrote.

W&B writes whole blocks while a run goes on and the last, partial block when it ends, so a
run that is still going or was killed ends at a block boundary, often inside a split record.
Such a cut-off tail is normal: the records before it are read, and `cut_at` says where the
tail began. Anything else that does not fit the format (a bad checksum, a length past its
block, an unknown type, fragments out of order) is an `IngestError` naming the file and the
byte offset. The file is read a block at a time; one record may hold at most MAX_RECORD bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from auditor.errors import IngestError
from auditor.files import size_text

MAGIC = b":W&B\xe1\xbe"
VERSION = 0
FILE_HEADER = len(MAGIC) + 1
BLOCK = 32 << 10
RECORD_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_RECORD = 64 << 20  # a history row or an artifact manifest of thousands of files is far smaller
_TYPE_CRC = {kind: zlib.crc32(bytes([kind])) for kind in (FULL, FIRST, MIDDLE, LAST)}


class LogReader:
    """The records of one `.wandb` file, in order, as (offset, payload); `cut_at` is set, once
    iterated, to the offset of a cut-off tail (None when the file ends cleanly)."""

    def __init__(self, handle: BinaryIO, where: Path) -> None:
        self._handle = handle
        self.where = where
        self.cut_at: int | None = None

    def _fail(self, offset: int, problem: str) -> IngestError:
        return IngestError(self.where, f"offset {offset}", problem)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        pending: bytearray | None = None
        pending_at = 0
        base = 0
        while True:
            block = self._handle.read(BLOCK)
            last = len(block) < BLOCK
            pos = self._check_header(block) if base == 0 else 0
            while pos < len(block):
                offset = base + pos
                if BLOCK - pos < RECORD_HEADER:
                    if any(block[pos:]):
                        raise self._fail(offset, "the padding at the end of a block is not zeros")
                    break
                if len(block) - pos < RECORD_HEADER:  # only in the file's last block: cut off
                    self.cut_at = offset if pending is None else pending_at
                    return
                crc = int.from_bytes(block[pos : pos + 4], "little")
                length = int.from_bytes(block[pos + 4 : pos + 6], "little")
                kind = block[pos + 6]
                if kind == 0 and length == 0 and crc == 0:
                    if not last or any(block[pos:]):
                        raise self._fail(offset, "zeros where a record should start")
                    self.cut_at = offset if pending is None else pending_at  # a zero-filled tail
                    return
                start, end = pos + RECORD_HEADER, pos + RECORD_HEADER + length
                if kind not in _TYPE_CRC:
                    raise self._fail(offset, f"record type {kind} is none of LevelDB's (1-4)")
                if end > BLOCK:
                    raise self._fail(offset, f"a record of {length} bytes runs past its 32 KiB block")
                if end > len(block):  # only in the file's last block: the writer had not finished
                    self.cut_at = offset if pending is None else pending_at
                    return
                payload = block[start:end]
                if zlib.crc32(payload, _TYPE_CRC[kind]) != crc:
                    raise self._fail(offset, "checksum mismatch: the file is corrupt")
                pos = end
                if kind == FULL:
                    if pending is not None:
                        raise self._fail(offset, f"a record starts before the split record at {pending_at} ended")
                    yield offset, payload
                elif kind == FIRST:
                    if pending is not None:
                        raise self._fail(offset, f"a record starts before the split record at {pending_at} ended")
                    pending, pending_at = bytearray(payload), offset
                else:
                    if pending is None:
                        raise self._fail(offset, "the continuation of a record that never began")
                    pending += payload
                    if len(pending) > MAX_RECORD:
                        raise self._fail(pending_at, f"a record larger than {size_text(MAX_RECORD)}")
                    if kind == LAST:
                        yield pending_at, bytes(pending)
                        pending = None
            if last:
                if pending is not None:
                    self.cut_at = pending_at
                return
            base += BLOCK

    def _check_header(self, block: bytes) -> int:
        if len(block) < FILE_HEADER or block[: len(MAGIC)] != MAGIC:
            raise self._fail(0, "not a W&B run file (no :W&B header)")
        if block[len(MAGIC)] != VERSION:
            raise self._fail(len(MAGIC), f"W&B file format version {block[len(MAGIC)]}; this reader knows {VERSION}")
        return FILE_HEADER
