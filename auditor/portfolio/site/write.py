"""Writing a portfolio folder: a new site built beside the old one, then swapped in.

DIR is refused unless it is absent, empty, or a portfolio auditor wrote (it holds MARKER): a
mistyped -o must not replace someone's folder. The new site is written into a hidden folder
beside DIR; only when every file is there is DIR renamed away, the new folder renamed to DIR, and
the old one removed. A failure before the swap leaves DIR as it was.

Rendered dossiers are cached in the site: MARKER maps each dossier's run to the key it was
rendered for (record SHA-256, findings digest, sign-offs and notes seen, auditor version), so a
regeneration copies the ones whose key is unchanged instead of rendering them again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

from auditor.errors import StoreWriteError, UsageError
from auditor.files import UntrustedFileError, read_regular_file

MARKER = ".auditor-portfolio.json"
SAFE_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")  # run ids name pages: never a climb out
MARKER_KIND = "auditor.portfolio"
MAX_MARKER_BYTES = 64 << 20
MAX_DOSSIER_BYTES = 256 << 20


def previous_keys(out: Path) -> dict[str, str]:
    """The dossier keys of the portfolio in `out` ({} when `out` is absent or empty); a UsageError
    when `out` is something else: a file, a link, or a folder with other content."""
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{out}: cannot read the output folder: {exc.strerror}") from exc
    if not stat.S_ISDIR(mode):
        raise UsageError(f"{out}: not a folder (a file or a link): choose another -o")
    try:
        names = [entry.name for entry in out.iterdir()]
    except OSError as exc:
        raise UsageError(f"{out}: cannot read the output folder: {exc.strerror}") from exc
    if not names:
        return {}
    refusal = f"{out}: not empty and not a portfolio auditor wrote (no {MARKER}): choose another -o"
    if MARKER not in names:
        raise UsageError(refusal)
    try:
        data = json.loads(read_regular_file(out / MARKER, MAX_MARKER_BYTES))
    except (OSError, UntrustedFileError, ValueError) as exc:
        raise UsageError(f"{out / MARKER}: unreadable, so {out} may not be a portfolio: choose another -o") from exc
    if not isinstance(data, dict) or data.get("kind") != MARKER_KIND or not isinstance(data.get("dossiers"), dict):
        raise UsageError(refusal)
    return {str(k): str(v) for k, v in data["dossiers"].items()}


def cached_dossier(out: Path, path: str) -> bytes | None:
    try:
        return read_regular_file(out / path, MAX_DOSSIER_BYTES)
    except (OSError, UntrustedFileError):
        return None


def marker(keys: dict[str, str]) -> bytes:
    return (json.dumps({"kind": MARKER_KIND, "version": 1, "dossiers": keys}, sort_keys=True) + "\n").encode()


def write_site(out: Path, files: Iterable[tuple[str, bytes]]) -> int:
    """Write every (relative path, bytes) into a fresh folder, then swap it in for `out`; the count."""
    parent = out.absolute().parent
    tag = uuid.uuid4().hex[:12]
    staging = parent / f".{out.name}.new-{tag}"
    count = 0
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        made: set[Path] = {staging}
        for rel, data in files:
            if not SAFE_PATH.fullmatch(rel) or ".." in rel.split("/"):
                raise UsageError(f"{out}: refused to write {rel!r}: not a plain path inside the site")
            target = staging / rel
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            with target.open("xb") as handle:
                handle.write(data)
            count += 1
        _swap(out, staging, parent / f".{out.name}.old-{tag}")
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise StoreWriteError(f"{out}: the portfolio could not be written ({exc.strerror or exc})") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _swap(out: Path, staging: Path, old: Path) -> None:
    if os.path.lexists(out):
        out.rename(old)
        try:
            staging.rename(out)
        except OSError:
            old.rename(out)  # put the old site back
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)
