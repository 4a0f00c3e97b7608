"""Source provenance from git: commit, branch, dirty state with a diff hash, remote.

git is read by gitread.py (the standard library alone, so `auditor run` can start the reading
early); this turns its reading into the record's source.
"""

from __future__ import annotations

from pathlib import Path

from auditor.capture.collect.gitread import NoRepository, Reading, read_git
from auditor.capture.redact import clean_url
from auditor.record.models import GitSource, Missing, NotARepository

MAX_UNTRACKED_LISTED = 200


def collect_git(cwd: Path, reading: Reading | None = None) -> GitSource | NotARepository | Missing:
    """`reading`: one taken of `cwd` earlier (gitread.take_early); None reads git now."""
    if reading is None:
        reading = read_git(cwd)
    if isinstance(reading, NoRepository):
        return NotARepository(path=str(cwd)) if reading.why is None else Missing(reason=reading.why)
    return GitSource(
        root=str(reading.root),
        commit=reading.commit,
        branch=reading.branch,
        dirty=reading.dirty,
        diff_sha256=reading.diff_sha256,
        untracked=reading.untracked[:MAX_UNTRACKED_LISTED],
        untracked_count=len(reading.untracked),
        remote_url=clean_url(reading.remote_url) if reading.remote_url is not None else None,
    )
