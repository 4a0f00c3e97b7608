"""`read_input`: the one reader for files a user names. Links are fine, what they reach must be a
regular file of bounded size; a FIFO never hangs, a device never fills memory, a name too long
for the file system is a usage error (exit 2), never an internal one."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from auditor.errors import EXIT_USAGE
from auditor.files import InputFileError, exists, read_input, read_input_text


def _within(seconds: float, call: object) -> list[object]:
    """Run `call` in a thread; fail (without hanging the suite) when it does not return in time."""
    done: list[object] = []

    def run() -> None:
        try:
            done.append(call())  # type: ignore[operator]
        except BaseException as exc:  # handed to the test
            done.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still reading after {seconds} s")
    return done


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_bytes(b"a: 1\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    assert read_input(target, "a rule pack", 100) == read_input(link, "a rule pack", 100) == b"a: 1\n"


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "waivers.yaml"
    os.mkfifo(fifo)
    link = tmp_path / "via-link.yaml"
    link.symlink_to(fifo)
    for path in (fifo, link):
        (caught,) = _within(10, lambda p=path: read_input(p, "a waivers file", 1 << 20))
        assert isinstance(caught, InputFileError) and caught.exit_code == EXIT_USAGE
        assert str(caught) == f"{path}: a FIFO: a waivers file is read only from a regular file"


def test_a_device_is_refused_not_read_to_the_end_of_memory(tmp_path: Path) -> None:
    link = tmp_path / "auditor.yaml"
    link.symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), link):
        (caught,) = _within(10, lambda p=path: read_input(p, "auditor.yaml", 1 << 20))
        assert isinstance(caught, InputFileError)
        assert str(caught) == f"{path}: a character device: auditor.yaml is read only from a regular file"


def test_the_size_cap_is_named(tmp_path: Path) -> None:
    big = tmp_path / "record.json"
    big.write_bytes(b"x" * (2 << 20))
    with pytest.raises(InputFileError, match=r"record\.json: 2,097,152 bytes: a run record may be at most 1 MiB$"):
        read_input(big, "a run record", 1 << 20)
    assert len(read_input(big, "a run record", 2 << 20)) == 2 << 20  # exactly the cap is fine


@pytest.mark.parametrize(
    ("name", "problem"),
    [("a" * 300, "cannot read: file name too long"), ("missing.yaml", "cannot read: no such file")],
)
def test_names_that_reach_nothing(tmp_path: Path, name: str, problem: str) -> None:
    with pytest.raises(InputFileError) as caught:
        read_input(tmp_path / name, "a rule pack", 100)
    assert caught.value.problem == problem and caught.value.exit_code == EXIT_USAGE


def test_a_folder_and_text_that_is_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="a folder: a rule pack is read only from a regular file"):
        read_input(tmp_path, "a rule pack", 100)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputFileError, match=r"latin\.yaml: not UTF-8 text \(byte 9\)"):
        read_input_text(latin, "a rule pack", 100)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_input_text(bom, "a rule pack", 100).encode() == bom.read_bytes()  # the bytes, hashed as read


def test_exists_counts_a_dangling_link_and_refuses_a_name_too_long(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert exists(tmp_path / "dangling") and not exists(tmp_path / "nowhere")
    with pytest.raises(InputFileError, match="file name too long"):
        exists(tmp_path / ("a" * 300))
