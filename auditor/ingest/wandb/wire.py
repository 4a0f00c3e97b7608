"""A small, bounded decoder of the protocol-buffer wire format, enough to read W&B's records
without W&B's code or a protobuf dependency.

It knows no schema: `decode` splits one message into its fields (number -> values in order),
and the caller names the fields it wants (auditor.ingest.wandb.records holds W&B's field
numbers). Every length is checked against the bytes left, a varint is at most ten bytes, and
groups (wire types 3 and 4, unused by W&B) are refused, so hostile bytes end in a `WireError`,
never in a loop, a deep recursion or an allocation larger than the message itself.
"""

from __future__ import annotations

import struct

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_MAX_VARINT_BYTES = 10

Fields = dict[int, list[int | bytes]]


class WireError(ValueError):
    """Bytes that are not a protocol-buffer message; `offset` is within the message."""

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"byte {offset}: {problem}")
        self.offset = offset
        self.problem = problem


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for n in range(_MAX_VARINT_BYTES):
        if pos + n >= len(data):
            raise WireError(pos, "a number runs past the end of the message")
        byte = data[pos + n]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos + n + 1
        shift += 7
    raise WireError(pos, "a number longer than ten bytes")


def decode(data: bytes) -> Fields:
    """The fields of one message: varints and fixed-width values as unsigned ints, the rest as bytes."""
    out: Fields = {}
    pos, end = 0, len(data)
    while pos < end:
        start = pos
        tag = data[pos]
        if tag < 0x80:  # one-byte tags and lengths are nearly all of W&B's: read them inline (2x faster)
            pos += 1
        else:
            tag, pos = _varint(data, pos)
        number, kind = tag >> 3, tag & 7
        if number == 0:
            raise WireError(start, "field number 0")
        value: int | bytes
        if kind == VARINT:
            if pos < end and data[pos] < 0x80:
                value, pos = data[pos], pos + 1
            else:
                value, pos = _varint(data, pos)
        elif kind == LENGTH:
            if pos < end and data[pos] < 0x80:
                size, pos = data[pos], pos + 1
            else:
                size, pos = _varint(data, pos)
            if size > end - pos:
                raise WireError(start, f"field {number} claims {size} bytes; {end - pos} are left")
            value, pos = data[pos : pos + size], pos + size
        elif kind in (FIXED64, FIXED32):
            width = 8 if kind == FIXED64 else 4
            if width > end - pos:
                raise WireError(start, f"field {number} runs past the end of the message")
            value = int.from_bytes(data[pos : pos + width], "little")
            pos += width
        else:
            raise WireError(start, f"field {number} has wire type {kind}, which W&B never writes")
        out.setdefault(number, []).append(value)
    return out


def signed(value: int, bits: int = 64) -> int:
    """A varint read as the two's-complement int32/int64 it encodes."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def double(value: int) -> float:
    """A fixed64 field read as the double it encodes."""
    result: float = struct.unpack("<d", value.to_bytes(8, "little"))[0]
    return result
