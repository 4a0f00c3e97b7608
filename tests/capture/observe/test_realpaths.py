"""RealPaths answers as os.path.realpath does, links and all, while resolving each folder once."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.capture.observe.realpaths import RealPaths


def tree(root: Path) -> list[str]:
    """A folder with plain files, links to files inside and outside it, a linked folder, a dangling
    link, a loop, and names that os.path.realpath must walk itself ("..", ".", "//", relative)."""
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("x")
    data = root / "project" / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("a")
    (data / "sub" / "b.csv").write_text("b")
    (data / "escape.csv").symlink_to(outside / "secret.csv")
    (data / "inside.csv").symlink_to("sub/b.csv")
    (data / "linked").symlink_to(outside)
    (data / "dangling.csv").symlink_to(root / "nowhere.csv")
    (data / "loop").symlink_to("loop")
    (data / "up").symlink_to(outside / "..")
    d = str(data)
    return [
        f"{d}/a.csv",
        f"{d}/sub/b.csv",
        f"{d}/escape.csv",
        f"{d}/inside.csv",
        f"{d}/linked/secret.csv",
        f"{d}/linked",
        f"{d}/dangling.csv",
        f"{d}/loop",
        f"{d}/loop/x",
        f"{d}/up/outside/secret.csv",
        f"{d}/linked/../project/data/a.csv",
        f"{d}/./a.csv",
        f"{d}//a.csv",
        f"{d}/sub/",
        f"{d}/absent/x.csv",
        f"{d}/a.csv/x",
        "/",
        "/etc",
        "relative/name.csv",
    ]


def test_same_answers_as_os_path_realpath(tmp_path: Path) -> None:
    paths = tree(tmp_path)
    real = RealPaths()
    for _ in range(2):  # the second pass answers from the remembered folders
        assert [real(p) for p in paths] == [os.path.realpath(p) for p in paths]


def test_a_file_that_becomes_a_link_is_followed(tmp_path: Path) -> None:
    """The folder is remembered, never the file: a name replaced by a link escaping it is followed."""
    paths = tree(tmp_path)
    real = RealPaths()
    plain = paths[0]
    assert real(plain) == plain
    os.remove(plain)
    os.symlink(tmp_path / "outside" / "secret.csv", plain)
    assert real(plain) == str(tmp_path / "outside" / "secret.csv")


def test_regular_files_of_a_walk_resolve_through_their_folder(tmp_path: Path) -> None:
    tree(tmp_path)
    root = tmp_path / "project"
    (tmp_path / "elsewhere").symlink_to(root)
    files = [
        f"{folder}/{name}" for folder, _, names in os.walk(tmp_path / "elsewhere", followlinks=False) for name in names
    ]
    files += [f"{folder}/{name}" for folder, _, names in os.walk(root, followlinks=False) for name in names]
    regular = [f for f in files if os.path.isfile(f) and not os.path.islink(f)]
    assert regular
    real = RealPaths()
    assert [real.of_file(f) for f in regular] == [os.path.realpath(f) for f in regular]


def test_files_a_snapshot_found_regular_need_no_lstat_and_the_rest_still_do(tmp_path: Path) -> None:
    """`regular` (treediff's snapshot after the run) spares those files their lstat; every other path,
    links included, is answered as os.path.realpath answers it."""
    from auditor.capture.observe.treediff import snapshot

    paths = tree(tmp_path)
    (tmp_path / "elsewhere").symlink_to(tmp_path / "project")
    paths += [p.replace(str(tmp_path / "project"), str(tmp_path / "elsewhere"), 1) for p in paths[:6]]
    found = snapshot(tmp_path)
    assert f"{tmp_path}/project/data/a.csv" in found and f"{tmp_path}/project/data/escape.csv" not in found
    real = RealPaths(found)
    assert [real(p) for p in paths] == [os.path.realpath(p) for p in paths]
