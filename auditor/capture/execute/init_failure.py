"""Telling "the command is not in the image" from the command's own failure.

The container's init (podman's catatonit, Docker's tini) prints one line and exits when it cannot
exec the command; the command run and the image probe both map that to 127 or 126, as a shell
would, instead of the init's own exit 1.
"""

from __future__ import annotations

import re

from auditor.errors import EXIT_ENGINE, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND

_INIT_EXEC_FAILED = re.compile(
    rb"^\s*(?:(?:ERROR \(catatonit:\d+\): )?failed to exec pid1|\[FATAL tini \(\d+\)\] exec .* failed): "
    rb"(?P<why>[^\n]*)\s*$"
)


def init_exec_failure(code: int, tail: bytes) -> tuple[int, str] | None:
    match = _INIT_EXEC_FAILED.match(tail) if code in (1, 126, 127) else None
    if match is None:
        return None
    why = match.group("why").decode("utf-8", "replace").strip()
    return start_failure_code(why), why


def start_failure_code(message: str) -> int:
    lowered = message.lower()
    if "not found" in lowered or "no such file" in lowered:
        return EXIT_NOT_FOUND
    if "permission denied" in lowered or "is a directory" in lowered:
        return EXIT_NOT_EXECUTABLE
    return EXIT_ENGINE
