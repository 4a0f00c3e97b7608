"""The project tree's snapshot taken from hashing's walks of the declared folders is the snapshot a
listing of its own takes: the same files, stats and skipped folders, links and odd entries included."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.capture.data import _real_files
from auditor.capture.hashing import Walk, hash_paths
from auditor.capture.observe import treediff
from auditor.capture.observe.realpaths import RealPaths
from auditor.capture.observe.treediff import changed, snapshot


def odd_project(root: Path) -> Path:
    """A project whose data folder holds what the snapshot leaves out or treats apart: links to files
    and to folders, a FIFO, version-control and cache folders, a virtualenv, a folder and a link named
    like a virtualenv's marker, and the run store itself."""
    data = root / "data"
    for folder in ("sub/deeper", ".git/objects", "nested/__pycache__", "venv/lib", "odd/pyvenv.cfg", "linkvenv"):
        (data / folder).mkdir(parents=True)
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "far.csv").write_text("far")
    files = {
        "a.csv": "a",
        "sub/b.csv": "b",
        "sub/deeper/c.csv": "c",
        ".git/objects/o": "o",
        "nested/n.csv": "n",
        "nested/__pycache__/m.pyc": "m",
        "venv/pyvenv.cfg": "home = /usr",
        "venv/lib/site.py": "s",
        "odd/o.csv": "o",
        "odd/pyvenv.cfg/x": "x",
        "linkvenv/l.csv": "l",
        "store/runs.txt": "r",
    }
    for name, text in files.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(text)
    (data / "inside.csv").symlink_to("sub/b.csv")
    (data / "far.csv").symlink_to(outside / "far.csv")
    (data / "folder-link").symlink_to(outside)
    (data / "linkvenv" / "pyvenv.cfg").symlink_to(outside / "far.csv")
    os.mkfifo(data / "pipe")
    (root / "train.py").write_text("pass")
    return data


def walks_of(*paths: Path) -> dict[str, Walk]:
    walks: dict[str, Walk] = {}
    hash_paths(list(paths), display_root=paths[0].parent, cache=None, now=datetime.now(UTC), walks=walks)
    return walks


def test_a_snapshot_from_walks_is_the_snapshot_of_a_listing(tmp_path: Path) -> None:
    root = tmp_path / "project"
    data = odd_project(root)
    store = data / "store"
    walks = walks_of(data, data / "sub")
    assert set(walks) == {str(data), str(data / "sub")}
    listed = snapshot(root, skip=(store,))
    assert snapshot(root, skip=(store,), walks=walks) == listed
    shown = {os.path.relpath(path, root) for path in listed}
    assert shown == {
        "train.py",
        "data/a.csv",
        "data/sub/b.csv",
        "data/sub/deeper/c.csv",
        "data/nested/n.csv",
    }  # odd/ and linkvenv/ count as virtualenvs: an entry of theirs, of any kind, is named pyvenv.cfg


def test_the_project_root_declared_whole(tmp_path: Path) -> None:
    root = tmp_path / "project"
    data = odd_project(root)
    walks = walks_of(root)
    assert snapshot(root, skip=(data / "store",), walks=walks) == snapshot(root, skip=(data / "store",))
    assert snapshot(root, walks=walks) == snapshot(root)
    (root / "pyvenv.cfg").write_text("home = /usr")  # the whole project is a virtualenv: nothing of it
    assert snapshot(root, walks=walks_of(root)) == snapshot(root) == {}


def test_changes_seen_through_walks(tmp_path: Path) -> None:
    """An edited file, one whose mtime was put back, and a new one: the tree diff sees each."""
    root = tmp_path / "project"
    data = odd_project(root)
    before = snapshot(root, walks=walks_of(data))
    edited, restored = data / "sub" / "b.csv", data / "a.csv"
    edited.write_text("edited")
    old = restored.stat()
    restored.write_text("A")
    os.utime(restored, ns=(old.st_atime_ns, old.st_mtime_ns))
    (data / "sub" / "new.csv").write_text("new")
    (restored.with_name("replaced.csv")).write_text("r")
    os.replace(restored.with_name("replaced.csv"), data / "nested" / "n.csv")  # a new inode
    after = snapshot(root, walks=walks_of(data))
    assert after == snapshot(root)
    assert changed(before, after) == sorted(str(data / p) for p in ("sub/b.csv", "sub/new.csv", "nested/n.csv"))


def test_real_paths_of_a_snapshot_s_files_are_those_realpaths_resolves(tmp_path: Path) -> None:
    """The files that existed before a run, by real path: from the root's real path alone, as RealPaths
    resolves each, whether the root is real, reached through a link, or written with "." and ".."."""
    root = tmp_path / "project"
    odd_project(root)
    (tmp_path / "via-link").symlink_to(root)
    for top in (root, tmp_path / "via-link", Path(f"{tmp_path}/./project/../project/"), Path(f"{tmp_path}//project")):
        tree = snapshot(Path(str(top)))
        assert tree
        assert _real_files(tree, Path(str(top))) == frozenset(map(RealPaths().of_file, tree))


def test_a_snapshot_stops_at_its_limit_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_ENTRIES files and no more, listed or taken from walks, whole folders or part of one."""
    root = tmp_path / "project"
    data = odd_project(root)
    walks = walks_of(data)
    every = snapshot(root)
    for limit in (1, 2, 3, 5, len(every) - 1, len(every)):
        monkeypatch.setattr(treediff, "MAX_ENTRIES", limit)
        for found in (snapshot(root), snapshot(root, walks=walks)):
            assert len(found) == limit
            assert found.items() <= every.items()
