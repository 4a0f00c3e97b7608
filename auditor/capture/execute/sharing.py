"""Sharing folders with a container's user: the folders auditor reads back (the probe's output,
the observation session) must be writable by the uid the command runs as, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.errors import UsageError


def container_owner(user: str | None) -> tuple[int, int] | None:
    """The uid and gid (-1: unchanged) that files shared with the container must belong to.

    None when the container runs as auditor's own uid (and gid): nothing to change. A user
    name is refused: only the image knows which uid it stands for.
    """
    if not user:
        return None
    uid_text, _, gid_text = user.partition(":")
    if not uid_text.isdigit() or (gid_text and not gid_text.isdigit()):
        raise UsageError(
            f"--user {user}: give a numeric uid:gid (e.g. 1000:1000); auditor must give that uid "
            "access to its observation folder and cannot tell which uid a name stands for in the image"
        )
    uid, gid = int(uid_text), int(gid_text) if gid_text else -1
    if uid == os.getuid() and gid in (-1, os.getgid()):
        return None
    return uid, gid


def give_tree(root: Path, owner: tuple[int, int]) -> None:
    """Make `root` and everything under it belong to `owner` (links themselves, never their targets)."""
    uid, gid = owner
    os.chown(root, uid, gid, follow_symlinks=False)
    for folder, folders, files in os.walk(root):
        for name in (*folders, *files):
            os.chown(Path(folder, name), uid, gid, follow_symlinks=False)
