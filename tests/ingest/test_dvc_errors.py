"""Corrupt, partial and hostile DVC repositories: an IngestError naming the file and field, or a note."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.errors import IngestError
from auditor.ingest.dvc.reader import read
from tests.ingest.test_dvc import copy_of, only, pipeline


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline(tmp_path_factory)


def train_dep(lock: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = lock["stages"]["train"]["deps"][0]
    return entry


Edit = Callable[[dict[str, Any]], None]
CASES: list[tuple[str, Edit, str, str]] = [
    ("missing cmd", lambda lock: lock["stages"]["train"].pop("cmd"), "stages.train.cmd", "missing"),
    (
        "deps not a list",
        lambda lock: lock["stages"]["train"].update(deps="data/prepared"),
        "stages.train.deps",
        "expected a list",
    ),
    ("md5 not hex", lambda lock: train_dep(lock).update(md5="not-an-md5"), "stages.train.deps[0].md5", "is not an MD5"),
    ("unknown schema", lambda lock: lock.update(schema="3.0"), "schema", "unknown schema '3.0'"),
    ("unknown hash", lambda lock: train_dep(lock).update(hash="sha256"), "stages.train.deps[0].hash", "unknown hash"),
    ("negative size", lambda lock: train_dep(lock).update(size=-1), "stages.train.deps[0].size", "at least 0"),
    ("entry without path", lambda lock: train_dep(lock).pop("path"), "stages.train.deps[0].path", "missing"),
    ("stages not a mapping", lambda lock: lock.update(stages=["train"]), "stages", "expected a mapping"),
    (
        "stage not a mapping",
        lambda lock: lock["stages"].update(train="python src/train.py"),
        "stages.train",
        "expected a mapping",
    ),
    (
        "params not a mapping",
        lambda lock: lock["stages"]["train"].update(params=["train"]),
        "stages.train.params",
        "expected a mapping",
    ),
]


@pytest.mark.parametrize(("edit", "field", "problem"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_corrupt_lock_names_file_and_field(repo: Path, tmp_path: Path, edit: Edit, field: str, problem: str) -> None:
    work = copy_of(repo, tmp_path)
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    edit(lock)
    (work / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    with pytest.raises(IngestError) as caught:
        read(work)
    assert str(caught.value).startswith(f"{work / 'dvc.lock'}: {field}: "), str(caught.value)
    assert problem in str(caught.value)


def test_unparsable_lock(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    (work / "dvc.lock").write_text("schema: '2.0'\nstages:\n  train: [unclosed\n")
    with pytest.raises(IngestError, match=rf"^{work / 'dvc.lock'}: line \d+: not valid YAML"):
        read(work)


def test_truncated_lock(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    text = (work / "dvc.lock").read_text()
    (work / "dvc.lock").write_text(text[: text.index("md5:") + 10])  # cut inside an MD5
    with pytest.raises(IngestError, match=r"\.md5: '[0-9a-f]+' is not an MD5"):
        read(work)


def test_aliases_that_expand_without_bound_are_refused(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    lines = ["schema: '2.0'", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 8):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*{'a' if level == 1 else f'l{level - 1}'}"] * 10) + "]")
    (work / "dvc.lock").write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match="expands to more than"):
        read(work)


def test_corrupt_dvc_yaml_names_file_and_field(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    text = (work / "dvc.yaml").read_text().replace("    - data/prepared\n    - src/train.py\n", "      data/prepared\n")
    (work / "dvc.yaml").write_text(text)
    with pytest.raises(IngestError, match=rf"^{work / 'dvc.yaml'}: stages.train.deps: expected a list of paths"):
        read(work)


def test_not_a_dvc_repository(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"no dvc\.yaml"):
        read(tmp_path)
    with pytest.raises(IngestError, match="not a folder"):
        read(tmp_path / "absent")


def test_links_out_of_the_repository_are_not_read(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path / "work")
    secret = tmp_path / "outside.txt"
    secret.write_text("not yours\n")
    (work / "data" / "raw.csv").unlink()
    (work / "data" / "raw.csv").symlink_to(secret)
    os.symlink(secret, work / "data" / "prepared" / "nested" / "leak.txt")
    (work / "metrics.json").unlink()
    (work / "metrics.json").symlink_to(secret)
    run = only(read(work, rehash=True))
    notes = "\n".join(run.notes)
    assert "not re-hashed: data/raw.csv: leads outside the repository" in notes
    assert "not re-hashed: data/prepared: nested/leak.txt is a symlink leading outside the repository" in notes
    assert "metrics metrics.json: outside the repository: not read" in notes
    assert not run.metrics


def test_a_corrupt_metrics_file_is_a_note(repo: Path, tmp_path: Path) -> None:
    work = copy_of(repo, tmp_path)
    (work / "metrics.json").write_text('{"accuracy": ')
    run = only(read(work))
    assert not run.metrics
    assert any(n.startswith("metrics not read: metrics.json: not valid JSON") for n in run.notes)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_dvcignore_that_is_a_fifo_or_a_device_does_not_hang_a_rehash(repo: Path, tmp_path: Path, kind: str) -> None:
    """.dvcignore was read whole with no cap: a FIFO hung `ingest dvc --rehash`, /dev/zero filled memory."""
    import threading

    work = copy_of(repo, tmp_path)
    ignore = work / ".dvcignore"
    ignore.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(ignore)
    else:
        ignore.symlink_to("/dev/zero")
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.extend(read(work, rehash=True)), daemon=True)
    worker.start()
    worker.join(120)
    if worker.is_alive():
        os.close(os.open(ignore, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(".dvcignore was waited on")
    (run,) = found
    # unreadable: it may ignore anything, and the record says it was not applied
    assert any(note.startswith(".dvcignore") and "not read" in note for note in run.notes), run.notes
