"""Content hashes against the real tools (sha256sum, find, sort) on real files, and the stat cache's promises."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import auditor.capture.hashing
from auditor.capture.hashing import FILES, HashCache, hash_path, hash_paths
from auditor.record.base import Missing
from auditor.record.lineage import AbsentPath, ContentHash
from tests.conftest import REPO

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
HOUR_NS = 3600 * 10**9
FAKE = "f" * 64  # a hash no file here has: where a result shows it, the cache was trusted


def documented_recipe() -> str:
    """The shell line from the module docstring, so the documentation itself is what gets checked."""
    doc = auditor.capture.hashing.__doc__ or ""
    line = next(line for line in doc.splitlines() if "cd DIR && " in line)
    return line.strip().removeprefix("cd DIR && ")


def shell_tree_hash(folder: Path) -> str:
    done = subprocess.run(["bash", "-c", documented_recipe()], cwd=folder, capture_output=True, check=True)
    return done.stdout.split()[0].decode()


def sha256sum(path: Path) -> str:
    return subprocess.run(["sha256sum", path], capture_output=True, check=True).stdout.split()[0].decode()


def hashed(path: Path, root: Path, cache: HashCache | None = None, workers: int | None = None) -> ContentHash:
    result = hash_path(path, display_root=root, cache=cache, now=NOW, workers=workers, progress=False)
    assert isinstance(result, ContentHash), result
    return result


def write(path: Path, data: bytes, *, age_ns: int = HOUR_NS) -> Path:
    """A file whose mtime is age_ns in the past, so a cache entry for it is not racy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    mtime = time.time_ns() - age_ns
    os.utime(path, ns=(mtime, mtime))
    return path


def rewrite_in_place(path: Path, data: bytes) -> None:
    """New bytes with the same size, inode and mtime (touch -d): only the ctime tells."""
    before = path.stat()
    assert len(data) == before.st_size
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Nested folders, awkward names, C-locale sort traps, links, an empty folder, a multi-chunk file."""
    root = tmp_path / "data"
    write(root / "a.txt", b"alpha\n")
    write(root / "a-b", b"dash sorts before slash\n")
    write(root / "a" / "b", b"nested\n")
    write(root / "B.csv", b"upper case sorts first\n")
    write(root / "with space é.txt", b"space and non-ASCII\n")
    write(root / "deep" / "er" / "est.bin", os.urandom(3 * auditor.capture.hashing.CHUNK + 123))
    (root / "empty").mkdir()
    (root / "link-to-file").symlink_to("a.txt")
    (root / "link-to-folder").symlink_to("a")
    os.mkfifo(root / "a-fifo")  # not data: skipped, as by find -xtype f
    return root


def test_single_file_equals_hashlib_and_sha256sum(tmp_path: Path) -> None:
    data = os.urandom(2 * auditor.capture.hashing.CHUNK + 7)
    path = write(tmp_path / "model.bin", data)
    result = hashed(path, tmp_path)
    assert result.kind == "file"
    assert result.sha256 == hashlib.sha256(data).hexdigest() == sha256sum(path)
    assert result.size == len(data)
    assert [(f.path, f.sha256, f.size) for f in result.files] == [("", result.sha256, len(data))]
    assert result.hashed_at == NOW


def test_tree_hash_equals_the_documented_shell_recipe(tree: Path) -> None:
    result = hashed(tree, tree.parent)
    assert result.kind == "tree"
    assert result.sha256 == shell_tree_hash(tree)
    paths = [f.path for f in result.files]
    assert paths == ["B.csv", "a-b", "a.txt", "a/b", "deep/er/est.bin", "link-to-file", "with space é.txt"]
    for f in result.files:
        assert f.sha256 == sha256sum(tree / f.path)
        assert f.size == (tree / f.path).stat().st_size
    assert result.size == sum(f.size for f in result.files)


def test_tree_hash_is_sha256_of_sha256sum_lines(tree: Path) -> None:
    result = hashed(tree, tree.parent)
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in result.files)
    assert result.sha256 == hashlib.sha256(lines.encode()).hexdigest()


def test_empty_folder_hashes_the_empty_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = hashed(tmp_path / "empty", tmp_path)
    assert (result.kind, result.sha256, result.size, result.files) == ("tree", EMPTY_SHA256, 0, ())
    assert shell_tree_hash(tmp_path / "empty") == EMPTY_SHA256


def test_file_name_that_is_not_utf8_is_hashed_by_its_bytes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    raw = os.path.join(os.fsencode(root), b"caf\xe9.csv")
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 name\n")
    result = hashed(root, tmp_path)
    assert result.sha256 == shell_tree_hash(root)
    assert [f.path for f in result.files] == ["caf\\xe9.csv"]


def test_single_file_with_space_and_non_ascii_name(tmp_path: Path) -> None:
    path = write(tmp_path / "données d'entrée.csv", b"a,b\n1,2\n")
    result = hashed(path, tmp_path)
    assert result.sha256 == sha256sum(path)


def test_fifo_is_not_hashed(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = hash_path(tmp_path / "pipe", display_root=tmp_path, cache=None, now=NOW)
    assert result == Missing(reason="cannot hash pipe: not a regular file or folder")


def test_absent_path_is_named_relative_to_the_root_or_absolute(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    inside = hash_path(project / "data" / "train.csv", display_root=project, cache=None, now=NOW)
    outside = hash_path(tmp_path / "elsewhere.csv", display_root=project, cache=None, now=NOW)
    assert inside == AbsentPath(path="data/train.csv")
    assert outside == AbsentPath(path=str(tmp_path / "elsewhere.csv"))


def test_dangling_symlinks_are_missing_not_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "ok.csv", b"ok\n")
    (root / "gone.csv").symlink_to("deleted.csv")
    (tmp_path / "top").symlink_to("nowhere")
    in_tree, top = hash_paths([root, tmp_path / "top"], display_root=tmp_path, cache=None, now=NOW)
    assert in_tree == Missing(reason="cannot hash data/gone.csv: dangling symlink to deleted.csv")
    assert top == Missing(reason="cannot hash top: dangling symlink to nowhere")


def test_read_error_is_missing_naming_the_file() -> None:
    """Reading /proc/self/mem at offset 0 fails with EIO for every user, root included: a real I/O error."""
    result = hash_path(Path("/proc/self/mem"), display_root=Path("/work"), cache=None, now=NOW)
    assert result == Missing(reason="cannot read /proc/self/mem: Input/output error")


UNREADABLE = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from auditor.capture.hashing import hash_paths
root = Path(sys.argv[1])
paths = [root / "secret.csv", root / "data", root / "private", root / "sealed"]
results = hash_paths(paths, display_root=root, cache=None, now=datetime.now(UTC))
print(json.dumps([r.model_dump(mode="json") for r in results]))
"""


def test_permission_denied_is_missing_naming_the_file(tmp_path: Path) -> None:
    """Root reads mode-000 files through CAP_DAC_OVERRIDE, so as root the child runs without it: a real EACCES."""
    write(tmp_path / "secret.csv", b"secret\n").chmod(0)
    write(tmp_path / "data" / "ok.csv", b"ok\n")
    write(tmp_path / "data" / "locked" / "x.csv", b"x\n").chmod(0)
    write(tmp_path / "private" / "inner" / "y.csv", b"y\n")
    (tmp_path / "private" / "inner").chmod(0)
    write(tmp_path / "sealed" / "z.csv", b"z\n")
    (tmp_path / "sealed").chmod(0)
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    argv = [*drop, sys.executable, "-c", UNREADABLE, str(tmp_path)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [
        {"state": "missing", "reason": "cannot read secret.csv: Permission denied"},
        {"state": "missing", "reason": "cannot read data/locked/x.csv: Permission denied"},
        {"state": "missing", "reason": "cannot hash private/inner: Permission denied"},
        {"state": "missing", "reason": "cannot hash sealed: Permission denied"},
    ]


def plant(cache_file: Path, declared: Path, sha256: str) -> None:
    """Make the saved cache claim `sha256` for every file of `declared` (and as its result), sealed as
    the cache seals its entries: if a hash then shows it, the cache was trusted and no file was read."""
    cache = HashCache.load(cache_file)
    key = str(declared)
    meta = cache.get(key)
    listed = cache.raw(key + FILES)
    assert meta is not None and listed is not None
    files = [{**file, "sha256": sha256} for file in json.loads(listed)]
    line = json.dumps(files).encode()
    cache.put(key + FILES, line)
    cache.put(key, {**meta, "files": hashlib.sha256(line).hexdigest(), "tree": sha256})
    cache.save()


def saved(path: Path, tmp_path: Path) -> Path:
    """Hash `path` with a new cache file, saved."""
    cache_file = tmp_path / "store" / "hash-cache.json"
    cache = HashCache.load(cache_file)
    hashed(path, tmp_path, cache)
    cache.save()
    return cache_file


def header(cache_file: Path) -> dict[str, Any]:
    head: dict[str, Any] = json.loads(cache_file.read_bytes().split(b"\n")[0])
    return head


def declared_paths(cache_file: Path) -> int:
    return sum("\0" not in key for key, _, _ in header(cache_file)["entries"])


def test_cache_hit_does_not_read_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "train.csv", b"version 1\n")
    cache_file = saved(path, tmp_path)
    plant(cache_file, path, FAKE)
    again = hashed(path, tmp_path, HashCache.load(cache_file))
    assert (again.sha256, again.files[0].sha256) == (FAKE, FAKE)  # proof that the file was not opened
    assert hashed(path, tmp_path, None).sha256 == hashlib.sha256(b"version 1\n").hexdigest()


def test_cache_hit_on_a_tree_takes_the_result_whole(tree: Path, tmp_path: Path) -> None:
    first = hashed(tree, tmp_path)
    cache_file = saved(tree, tmp_path)
    assert hashed(tree, tmp_path, HashCache.load(cache_file)) == first
    plant(cache_file, tree, FAKE)
    again = hashed(tree, tmp_path, HashCache.load(cache_file))
    assert again.sha256 == FAKE
    assert {file.sha256 for file in again.files} == {FAKE}
    assert [file.path for file in again.files] == [file.path for file in first.files]


@pytest.mark.parametrize("change", ["size", "mtime", "inode", "ctime", "added", "removed", "renamed"])
def test_a_changed_file_is_read_again_and_only_it(tree: Path, tmp_path: Path, change: str) -> None:
    """Size, mtime, inode or ctime: any that differs. ctime changes with every write and every
    touch -d, so an edit whose mtime was put back is seen too (mtime alone would miss it)."""
    cache_file = saved(tree, tmp_path)
    plant(cache_file, tree, FAKE)
    path = tree / "a.txt"
    before = path.stat()
    if change == "size":
        write(path, b"alpha and more\n")
    elif change == "mtime":
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    elif change == "inode":
        write(tree / "new.txt", b"alpha\n").replace(path)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif change == "ctime":
        rewrite_in_place(path, b"ALPHA\n")
    elif change == "added":
        write(tree / "deep" / "new.txt", b"new\n")
    elif change == "removed":
        (tree / "a-b").unlink()
    else:
        (tree / "a-b").rename(tree / "deep" / "a-b")
    again, truth = hashed(tree, tmp_path, HashCache.load(cache_file)), hashed(tree, tmp_path)
    assert [file.path for file in again.files] == [file.path for file in truth.files]
    lines = "".join(f"{file.sha256}  {file.path}\n" for file in again.files)  # the planted ones too
    assert again.sha256 == hashlib.sha256(lines.encode()).hexdigest()
    read = {file.path for file in again.files if file.sha256 != FAKE}
    changed = {"a.txt", "link-to-file"}  # the link is hashed as the file it points to
    assert read == (changed if change in ("size", "mtime", "inode", "ctime") else set()) | (
        {"deep/new.txt"} if change == "added" else {"deep/a-b"} if change == "renamed" else set()
    )
    for file in again.files:
        if file.path in read:
            assert file.sha256 == sha256sum(tree / file.path)


@pytest.mark.parametrize(
    ("mtime_offset_s", "trusted"), [(-3600, True), (-3, True), (-1, False), (0, False), (60, False)]
)
def test_entries_recorded_within_two_seconds_of_the_mtime_are_not_trusted(
    tmp_path: Path, mtime_offset_s: int, trusted: bool
) -> None:
    """git's racy-clean problem: an edit in the same timestamp tick as the hash would keep the mtime."""
    path = write(tmp_path / "train.csv", b"version 1\n", age_ns=-mtime_offset_s * 10**9)
    cache_file = saved(path, tmp_path)
    plant(cache_file, path, FAKE)
    expected = FAKE if trusted else hashlib.sha256(b"version 1\n").hexdigest()
    assert hashed(path, tmp_path, HashCache.load(cache_file)).sha256 == expected


def test_a_racy_file_is_trusted_once_hashed_again_later(tree: Path, tmp_path: Path) -> None:
    """One racy file in a tree costs a read of that file, not of the tree; once its hash is old
    enough, the next run takes the whole result from the cache."""
    fresh = write(tree / "fresh.txt", b"just written\n", age_ns=0)
    cache_file = saved(tree, tmp_path)
    plant(cache_file, tree, FAKE)
    cache = HashCache.load(cache_file)
    again = hashed(tree, tmp_path, cache)
    assert [file.path for file in again.files if file.sha256 != FAKE] == ["fresh.txt"]
    os.utime(fresh, ns=(time.time_ns() - HOUR_NS,) * 2)
    cache.save()
    cache = HashCache.load(cache_file)
    hashed(tree, tmp_path, cache)
    cache.save()
    plant(cache_file, tree, FAKE)
    assert hashed(tree, tmp_path, HashCache.load(cache_file)).sha256 == FAKE


def test_cache_survives_save_and_load(tree: Path, tmp_path: Path) -> None:
    cache_file = saved(tree, tmp_path)
    assert header(cache_file)["format"] == "auditor-hash-cache"
    plant(cache_file, tree, FAKE)
    assert hashed(tree, tmp_path, HashCache.load(cache_file)).sha256 == FAKE


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    ["truncated", "cut to the header", "a flipped byte in a hash", "a flipped byte in the header", "an older version"],
)
def test_a_damaged_cache_file_is_never_trusted(tree: Path, tmp_path: Path, damage: str) -> None:
    cache_file = saved(tree, tmp_path)
    plant(cache_file, tree, FAKE)
    raw = cache_file.read_bytes()
    head = raw.index(b"\n")
    if damage == "truncated":
        raw = raw[: len(raw) - 100]
    elif damage == "cut to the header":
        raw = raw[: head + 1]
    elif damage == "a flipped byte in a hash":
        raw = raw.replace(FAKE.encode(), FAKE[:-1].encode() + b"1")  # a claim still, but not the sealed one
    elif damage == "a flipped byte in the header":
        raw = _flip(raw, raw.index(b'"', raw.index(b"entries") + 12) + 5)
    else:
        raw = raw.replace(b'"version":3', b'"version":2', 1)
    cache_file.write_bytes(raw)
    again = hashed(tree, tmp_path, HashCache.load(cache_file))
    assert again.sha256 == shell_tree_hash(tree)
    assert FAKE not in {file.sha256 for file in again.files} | {again.sha256}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff not json",
        b'{"format": "auditor-hash-cache", "version": 1, "entries"',
        b"[1, 2, 3]",
        b'{"format": "auditor-hash-cache", "version": 99, "entries": {}}',
        b'{"format": "auditor-hash-cache", "version": 2, "entries": []}',
        b'{"format": "auditor-hash-cache", "version": 1, "entries": {}}',
        b'{"format": "auditor-hash-cache", "version": 3, "entries": [["x", -5, "y"]]}\n',
        b'{"format": "auditor-hash-cache", "version": 3, "entries": [[1, 2]]}\n{}',
        b'{"entries": {}}',
        b'"a string"',
        b"[" * 100_000,
    ],
)
def test_corrupt_cache_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    cache_file = tmp_path / "hash-cache.json"
    cache_file.write_bytes(content)
    path = write(tmp_path / "train.csv", b"data\n")
    cache = HashCache.load(cache_file)
    assert hashed(path, tmp_path, cache).sha256 == hashlib.sha256(b"data\n").hexdigest()
    cache.save()
    assert declared_paths(cache_file) == 1


@pytest.mark.parametrize(
    "meta",
    [
        {"complete": True, "tree": 7},
        {"complete": True, "tree": "not hex", "size": 1},
        {"complete": True, "size": "1"},
        {"walk": None, "untrusted": "all"},
        {"walk_line": "0" * 64, "files": "0" * 64},
    ],
)
def test_malformed_entries_are_misses_and_good_ones_still_hit(tmp_path: Path, meta: dict[str, Any]) -> None:
    """Sealed but wrong (a bug, or a hand edit): read as a miss, never as a crash or a hit."""
    path = write(tmp_path / "train.csv", b"version 1\n")
    other = write(tmp_path / "test.csv", b"other\n")
    cache_file = tmp_path / "hash-cache.json"
    cache = HashCache(cache_file)
    hash_paths([path, other], display_root=tmp_path, cache=cache, now=NOW, progress=False)
    cache.save()
    plant(cache_file, path, FAKE)
    cache = HashCache.load(cache_file)
    good = cache.get(str(other))
    assert good is not None
    cache.put(str(other), {**good, **meta})
    cache.save()
    loaded = HashCache.load(cache_file)
    assert hashed(path, tmp_path, loaded).sha256 == FAKE
    assert hashed(other, tmp_path, loaded).sha256 == hashlib.sha256(b"other\n").hexdigest()


def test_missing_cache_file_loads_empty_and_save_creates_it(tmp_path: Path) -> None:
    cache_file = tmp_path / "store" / "hash-cache.json"
    cache = HashCache.load(cache_file)
    cache.save()
    assert not cache_file.exists()  # nothing learnt, nothing written
    hashed(write(tmp_path / "x.csv", b"x\n"), tmp_path, cache)
    cache.save()
    assert declared_paths(cache_file) == 1


def test_a_hit_learns_nothing_and_writes_nothing(tree: Path, tmp_path: Path) -> None:
    cache_file = saved(tree, tmp_path)
    before = cache_file.stat()
    cache = HashCache.load(cache_file)
    hashed(tree, tmp_path, cache)
    cache.save()
    assert cache_file.stat().st_ino == before.st_ino  # not replaced


def test_concurrent_saves_leave_a_valid_file(tmp_path: Path) -> None:
    cache_file = tmp_path / "store" / "hash-cache.json"
    files = [write(tmp_path / "data" / f"{i}.csv", f"row {i}\n".encode() * (i + 1)) for i in range(40)]
    stop = threading.Event()
    bad_reads: list[Exception] = []

    def writer(k: int) -> None:
        for round_ in range(8):
            cache = HashCache(cache_file)
            hash_paths(files[k::4][: round_ + 1], display_root=tmp_path, cache=cache, now=NOW, progress=False)
            cache.save()

    def reader() -> None:
        while not stop.is_set():
            try:
                if cache_file.exists():
                    assert header(cache_file)["format"] == "auditor-hash-cache"
            except Exception as error:  # a torn or half-written file
                bad_reads.append(error)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    assert bad_reads == []
    assert declared_paths(cache_file) == 8  # exactly one writer's last save: last writer wins, nothing merged or torn
    assert sorted(p.name for p in cache_file.parent.iterdir()) == ["hash-cache.json"]


def test_hash_paths_hashes_several_declared_paths_in_order(tree: Path, tmp_path: Path) -> None:
    single = write(tmp_path / "labels.csv", b"label\n1\n")
    results = hash_paths(
        [tree, single, tmp_path / "absent", tree / "a.txt"], display_root=tmp_path, cache=None, now=NOW, progress=False
    )
    assert [type(r) for r in results] == [ContentHash, ContentHash, AbsentPath, ContentHash]
    assert results[0] == hashed(tree, tmp_path)
    assert results[1] == hashed(single, tmp_path)
    assert results[2] == AbsentPath(path="absent")
    assert isinstance(results[3], ContentHash)
    assert results[3].sha256 == hashlib.sha256(b"alpha\n").hexdigest()


def test_many_files_give_the_same_result_with_any_number_of_workers(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for i in range(700):
        write(root / f"d{i % 7}" / f"f{i:04d}.txt", os.urandom(i * 37))
    write(root / "big.bin", os.urandom(5 * auditor.capture.hashing.CHUNK))
    results = {workers: hashed(root, tmp_path, workers=workers) for workers in (1, 2, 8)}
    assert results[1] == results[2] == results[8]
    assert results[1].sha256 == shell_tree_hash(root)


def test_progress_bar_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "x.bin", os.urandom(1000))
    hash_path(path, display_root=tmp_path, cache=None, now=NOW, progress=False)
    hash_path(path, display_root=tmp_path, cache=None, now=NOW)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    hash_path(path, display_root=tmp_path, cache=None, now=NOW, progress=True)
    err = capsys.readouterr().err
    assert "hashing" in err
    assert "1/1 files" in err


def test_progress_bar_on_a_terminal_once_hashing_is_slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """progress=None: a terminal and PROGRESS_AFTER_S (0 here, so the test need not be slow) bring the bar."""
    path = write(tmp_path / "x.bin", os.urandom(4 * auditor.capture.hashing.CHUNK))
    leader, follower = os.openpty()
    os.set_blocking(leader, False)
    with os.fdopen(follower, "w") as terminal, os.fdopen(leader, "rb", buffering=0) as screen:
        monkeypatch.setattr(sys, "stderr", terminal)
        monkeypatch.setattr(auditor.capture.hashing, "PROGRESS_AFTER_S", 0.0)
        hashed_now = hash_path(path, display_root=tmp_path, cache=None, now=NOW)
        terminal.flush()
        shown = screen.read(1 << 20) or b""  # None: nothing was written
    assert isinstance(hashed_now, ContentHash)
    assert b"hashing" in shown
    assert b"1/1 files" in shown


def test_importing_the_module_does_not_import_rich() -> None:
    code = "import sys, auditor.capture.hashing; print(any(m.split('.')[0] == 'rich' for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_cancelled_hashing_names_what_was_not_hashed_and_caches_nothing(tree: Path, tmp_path: Path) -> None:
    """A second Ctrl-C after the command ended: the hashes still to come are given up, and said to be."""
    single = write(tmp_path / "model.bin", b"weights\n")
    cache = HashCache(tmp_path / "hash-cache.json")
    cancel = threading.Event()
    cancel.set()
    results = hash_paths([tree, single], display_root=tmp_path, cache=cache, now=NOW, progress=False, cancel=cancel)
    assert results == [
        Missing(reason="data was not hashed: hashing was cancelled (auditor was interrupted)"),
        Missing(reason="model.bin was not hashed: hashing was cancelled (auditor was interrupted)"),
    ]
    cache.save()
    assert not cache.path.exists()  # nothing was hashed, so nothing is remembered
    assert hash_paths([single], display_root=tmp_path, cache=cache, now=NOW, cancel=threading.Event()) == [
        hashed(single, tmp_path)
    ]


def test_a_name_that_is_not_utf8_is_matched_by_the_cache_too(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "plain.csv", b"plain\n")
    raw = os.path.join(os.fsencode(root), b"caf\xe9.csv")
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 name\n")
    os.utime(raw, ns=(time.time_ns() - HOUR_NS,) * 2)
    cache_file = saved(root, tmp_path)
    assert hashed(root, tmp_path, HashCache.load(cache_file)) == hashed(root, tmp_path)
    plant(cache_file, root, FAKE)
    write(root / "plain.csv", b"changed\n")  # a miss for the folder: matched file by file
    again = hashed(root, tmp_path, HashCache.load(cache_file))
    assert [(f.path, f.sha256 == FAKE) for f in again.files] == [("caf\\xe9.csv", True), ("plain.csv", False)]


@pytest.mark.parametrize("enabled", [True, False])
def test_hashing_leaves_the_garbage_collector_as_it_found_it(tree: Path, tmp_path: Path, enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        cache = HashCache(tmp_path / "hash-cache.json")
        hashed(tree, tmp_path, cache)
        hashed(tree, tmp_path, cache)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
