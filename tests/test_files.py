"""Files the command's side wrote are read only if they are plain files, and logged paths only
inside the container's mounts (auditor.files and its users, without a container engine)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.capture.data import OUTSIDE_MOUNTS, DataCapture
from auditor.capture.execute.sharing import container_owner, give_tree
from auditor.capture.observe.session import ObservationSession
from auditor.errors import UsageError
from auditor.files import (
    UntrustedFileError,
    open_folder,
    read_regular_file,
    within,
)


def _clock() -> datetime:
    return datetime(2024, 1, 2, tzinfo=UTC)


def test_reads_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b'{"x": 1}')
    assert read_regular_file(tmp_path / "a.json", 100) == b'{"x": 1}'
    with open_folder(tmp_path) as folder:
        assert read_regular_file("a.json", 8, dir_fd=folder) == b'{"x": 1}'


def test_refuses_a_symbolic_link_even_to_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("host secret")
    (tmp_path / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UntrustedFileError, match="a symbolic link") as caught:
        read_regular_file(tmp_path / "link", 100)
    assert caught.value.why == "a symbolic link" and isinstance(caught.value, OSError)


def test_refuses_a_fifo_at_once_instead_of_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result: list[BaseException] = []

    def read() -> None:
        try:
            read_regular_file(tmp_path / "pipe", 100)
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "reading a FIFO hung"
    assert time.monotonic() - started < 5
    assert isinstance(result[0], UntrustedFileError) and result[0].why == "not a regular file"


def test_refuses_folders_oversized_files_and_says_when_absent(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(UntrustedFileError, match="not a regular file"):
        read_regular_file(tmp_path / "folder", 100)
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(UntrustedFileError, match="larger than 100 bytes"):
        read_regular_file(tmp_path / "big", 100)
    assert read_regular_file(tmp_path / "big", 101) == b"x" * 101
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "absent", 100)
    (tmp_path / "dirlink").symlink_to(tmp_path / "folder")
    with pytest.raises(UntrustedFileError, match="not a folder"), open_folder(tmp_path / "dirlink"):
        pass


def test_within_resolves_links_and_excludes_hidden_folders(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "store").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_text("s")
    (project / "data.csv").write_text("d")
    (project / "escape.csv").symlink_to(outside / "secret.csv")
    (project / "alias").symlink_to(project)  # a link inside that stays inside
    assert within(project / "data.csv", (project,))
    assert within(project / "alias" / "data.csv", (project,))
    assert not within(project / "escape.csv", (project,))
    assert not within("/etc/passwd", (project,))
    assert not within(project / "store" / "x", (project,), hidden=(project / "store",))
    assert within(project, (project,))
    assert not within(str(project) + "-sibling", (project,))


def test_container_owner() -> None:
    me = f"{os.getuid()}:{os.getgid()}"
    assert container_owner(None) is None
    assert container_owner(me) is None
    assert container_owner(str(os.getuid())) is None
    assert container_owner(f"{os.getuid() + 1000}:{os.getgid() + 1000}") == (os.getuid() + 1000, os.getgid() + 1000)
    assert container_owner(f"{os.getuid() + 1000}") == (os.getuid() + 1000, -1)
    for name in ("nobody", "1000:staff", "app:1000"):
        with pytest.raises(UsageError, match="numeric uid:gid"):
            container_owner(name)


@pytest.mark.skipif(os.getuid() != 0, reason="giving files away needs root")
def test_give_tree_changes_owners_but_never_follows_links(tmp_path: Path) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "f").write_text("x")
    (tmp_path / "target").write_text("host")
    (tmp_path / "tree" / "link").symlink_to(tmp_path / "target")
    give_tree(tmp_path / "tree", (1234, 5678))
    for path in (tmp_path / "tree", tmp_path / "tree" / "sub", tmp_path / "tree" / "sub" / "f"):
        assert (path.stat().st_uid, path.stat().st_gid) == (1234, 5678)
    assert (tmp_path / "tree" / "link").lstat().st_uid == 1234
    assert (tmp_path / "target").stat().st_uid == os.getuid()


def test_grant_that_is_not_allowed_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    session = ObservationSession()
    try:
        monkeypatch.setattr(os, "chown", refuse)
        with pytest.raises(UsageError, match="cannot give uid 1000 access to auditor's observation folder"):
            session.grant((1000, 1000))
    finally:
        session.close()


def _session_with(tmp_path: Path) -> ObservationSession:
    session = ObservationSession()
    access = session.root / "access"
    (tmp_path / "host-report.json").write_text(
        json.dumps({"pid": 1, "executable": "x", "prefixes": [], "reads": ["/host/leak"], "writes": []})
    )
    (access / "good.json").write_text(
        json.dumps({"pid": 2, "executable": "py", "prefixes": [], "reads": ["/data"], "writes": []})
    )
    (access / "link.json").symlink_to(tmp_path / "host-report.json")
    os.mkfifo(access / "pipe.json")
    (access / "folder.json").mkdir()
    return session


def test_collect_ignores_access_reports_that_are_not_regular_files(tmp_path: Path) -> None:
    session = _session_with(tmp_path)
    try:
        result = session.collect()
    finally:
        session.close()
    assert [p.pid for p in result.processes] == [2]
    assert "access report link.json is a symbolic link: ignored" in result.problems
    assert "access report pipe.json is not a regular file: ignored" in result.problems
    assert "access report folder.json is not a regular file: ignored" in result.problems


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_collect_ignores_an_events_file_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    (tmp_path / "host-events").write_text('{"kind": "metric", "name": "leak", "value": 1, "time": 0}\n')
    session = ObservationSession()
    try:
        if kind == "symlink":
            session.events_file.symlink_to(tmp_path / "host-events")
        elif kind == "fifo":
            os.mkfifo(session.events_file)
        else:
            session.events_file.mkdir()
        result = session.collect()
    finally:
        session.close()
    why = "a symbolic link" if kind == "symlink" else "not a regular file"
    assert result.events == [] and result.problems == [f"events file events.jsonl is {why}: ignored"]


def test_collect_ignores_an_access_folder_replaced_by_a_link(tmp_path: Path) -> None:
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "r.json").write_text(
        json.dumps({"pid": 1, "executable": "x", "prefixes": [], "reads": ["/host/leak"], "writes": []})
    )
    session = ObservationSession()
    try:
        (session.root / "access").rmdir()
        (session.root / "access").symlink_to(tmp_path / "host")
        result = session.collect()
    finally:
        session.close()
    assert result.processes == [] and result.problems == ["access reports folder: not a folder: ignored"]


def test_events_are_capped_by_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("auditor.capture.observe.session.MAX_EVENT_LINES", 2)
    session = ObservationSession()
    try:
        session.events_file.write_text("{}\nnot json\n{}\n{}\n")
        result = session.collect()
    finally:
        session.close()
    assert len(result.events) == 1
    assert result.problems == ["event line 2 is not JSON; ignored", "more than 2 logged events; the rest were ignored"]


def _events(session: ObservationSession, *events: dict[str, object]) -> None:
    session.events_file.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_container_runs_ignore_logged_paths_outside_the_mounts(tmp_path: Path) -> None:
    project, host = tmp_path / "project", tmp_path / "host"
    (project / "data").mkdir(parents=True)
    (project / ".auditor").mkdir()
    host.mkdir()
    (host / "secret.csv").write_text("label,pred,group\n1,1,a\n0,1,b\n")
    (project / "data" / "in.csv").write_text("a\n1\n")
    (project / "data" / "escape.csv").symlink_to(host / "secret.csv")
    (project / ".auditor" / "salt").write_text("s")
    events: list[dict[str, object]] = [
        {"kind": "dataset", "path": "/etc/passwd", "role": "input"},
        {"kind": "dataset", "path": str(host / "secret.csv"), "role": "input"},
        {"kind": "dataset", "path": str(project / "data" / "escape.csv"), "role": "input"},
        {"kind": "dataset", "path": str(project / ".auditor" / "salt"), "role": "input"},
        {"kind": "dataset", "path": str(project / "data" / "in.csv"), "role": "input"},
        {
            "kind": "predictions",
            "path": str(project / "data" / "escape.csv"),
            "label_column": "label",
            "prediction_column": "pred",
            "sensitive_columns": ["group"],
            "favourable_outcome": "1",
        },
    ]
    data = DataCapture(project, project / ".auditor", _clock, allowed_roots=(project,))
    data.prepare()
    assert data.session is not None
    _events(data.session, *events)
    evidence = data.finish("run-1", "p")
    lineage = evidence.lineage
    assert not hasattr(lineage, "reason"), lineage
    paths = [d.path for d in getattr(lineage, "datasets", ())]
    assert paths == ["data/in.csv"]
    notes = getattr(lineage, "notes", ())
    for raw in ("/etc/passwd", str(host / "secret.csv"), str(project / "data" / "escape.csv")):
        assert f"auditor.log_dataset({raw!r}): {OUTSIDE_MOUNTS}" in notes
    assert getattr(evidence.fairness, "reason", "") == f"{project / 'data' / 'escape.csv'}: {OUTSIDE_MOUNTS}"


def test_local_runs_keep_logged_paths_anywhere(tmp_path: Path) -> None:
    project, host = tmp_path / "project", tmp_path / "host"
    project.mkdir()
    host.mkdir()
    (host / "data.csv").write_text("a\n1\n")
    data = DataCapture(project, project / ".auditor", _clock)
    data.prepare()
    assert data.session is not None
    _events(data.session, {"kind": "dataset", "path": str(host / "data.csv"), "role": "input"})
    evidence = data.finish("run-1", "p")
    datasets = list(getattr(evidence.lineage, "datasets", ()))
    assert [d.path for d in datasets] == [str(host / "data.csv")]
    assert getattr(datasets[0].after, "state", None) == "hashed"


def test_container_runs_do_not_hash_outputs_the_command_linked_outside(tmp_path: Path) -> None:
    project, host = tmp_path / "project", tmp_path / "host"
    (project / "outputs" / "tree").mkdir(parents=True)
    (project / "auditor.yaml").write_text(
        "version: 1\nproject: {name: p}\ndatasets:\n"
        "  - {id: model, role: output, path: outputs/model.txt}\n"
        "  - {id: tree, role: output, path: outputs/tree}\n"
        "  - {id: fine, role: output, path: outputs/fine.txt}\n"
    )
    host.mkdir()
    (host / "secret").write_text("host secret")
    data = DataCapture(project, project / ".auditor", _clock, allowed_roots=(project, project / "outputs"))
    data.prepare()
    (project / "outputs" / "model.txt").symlink_to(host / "secret")  # what the command did
    (project / "outputs" / "tree" / "x").symlink_to(host / "secret")
    (project / "outputs" / "fine.txt").write_text("ok")
    evidence = data.finish("run-1", "p")
    datasets = {d.id: d for d in getattr(evidence.lineage, "datasets", ())}
    assert getattr(datasets["model"].after, "reason", "") == (
        "cannot hash outputs/model.txt: it is or holds a link outside the container's mounts"
    )
    assert getattr(datasets["tree"].after, "state", None) == "missing"
    assert getattr(datasets["fine"].after, "state", None) == "hashed"


def test_a_logged_dataframe_replaced_by_a_link_is_not_read(tmp_path: Path) -> None:
    project, host = tmp_path / "project", tmp_path / "host"
    project.mkdir()
    host.mkdir()
    (host / "secret.csv").write_text("secretcolumn,b\n1,2\n")
    data = DataCapture(project, project / ".auditor", _clock)
    data.prepare()
    assert data.session is not None
    artifact = data.session.root / "artifacts" / "predictions-1-1.csv"
    artifact.symlink_to(host / "secret.csv")
    _events(
        data.session,
        {
            "kind": "predictions",
            "path": str(artifact),
            "label_column": "label",
            "prediction_column": "pred",
            "sensitive_columns": ["group"],
            "favourable_outcome": "1",
        },
    )
    evidence = data.finish("run-1", "p")
    reason = getattr(evidence.fairness, "reason", "")
    assert reason == "(logged DataFrame) predictions-1-1.csv: a symbolic link"
    assert "secretcolumn" not in json.dumps(evidence.warnings)


# --- writing -------------------------------------------------------------------------------------------------


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_written_files_get_the_usual_permissions_and_leave_no_temp_file(tmp_path: Path) -> None:
    from auditor.files import write_atomic, write_output

    write_atomic(tmp_path / "record.json", b"{}")
    write_output(tmp_path / "dossier.pdf", b"%PDF-")
    write_atomic(tmp_path / "cache.json", b"[]", durable=False)
    for name in ("record.json", "dossier.pdf", "cache.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~_umask(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "dossier.pdf", "record.json"]


def test_a_private_file_asks_for_its_mode(tmp_path: Path) -> None:
    from auditor.files import write_atomic

    write_atomic(tmp_path / "key", b"k", mode=0o600)
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600 & ~_umask()


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    from auditor.files import write_atomic

    target = tmp_path / "folder"
    target.mkdir()  # the rename onto a folder fails after the temp file was written
    with pytest.raises(OSError):
        write_atomic(target, b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]
