"""Run ids: ULIDs (https://github.com/ulid/spec), sortable by creation time.

48 bits of milliseconds since the epoch and 80 random bits, in Crockford's base32:
26 characters, lexicographic order = time order, no coordination between writers.
Written here rather than imported: the spec is a dozen lines, and the library
cost auditor's start-up more than 30 ms, which every `auditor run` pays.
"""

from __future__ import annotations

import re
import secrets
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def new_ulid(now_ms: int | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for char in ulid[:10]:
        value = value * 32 + ALPHABET.index(char)
    return value
