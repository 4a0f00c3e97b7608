"""The container is an untrusted party: what it writes into folders auditor reads on the host
(the probe's output, the observation session) and the paths it logs must not make the host
leak, hash or hang on host files; and a container run as another uid still gets a whole record."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from auditor.capture.collect.image import INTERRUPTED, ImageEvidence, _wait, collect_image
from auditor.capture.collect.probe_runner import probe_source
from auditor.capture.execute.container_plan import ContainerPlan, ContainerSettings
from auditor.capture.execute.engine import connect, resolve_image
from auditor.record import load_record
from auditor.record.models import RunRecord
from tests.conftest import CliRunner
from tests.container.conftest import BASE_IMAGE, leftover_containers

INTERRUPTED_REASON = "interrupted before the image's environment was collected"


def _project(root: Path, probe_action: str | None = None) -> Path:
    """A small project; with probe_action, a `./python3` that runs it when auditor's probe calls it
    (`./python3 -c SOURCE OUT --system`) and is the image's python3 otherwise."""
    (root / "data").mkdir(parents=True)
    (root / "outputs").mkdir()
    (root / "data" / "in.csv").write_text("a,b\n1,2\n")
    if probe_action is not None:
        wrapper = root / "python3"
        wrapper.write_text(f'#!/bin/sh\nif [ "$4" = "--system" ]; then\n{probe_action}\nfi\nexec python3 "$@"\n')
        wrapper.chmod(0o755)
    return root


def _record(root: Path) -> tuple[RunRecord, str]:
    run = next((root / ".auditor" / "runs").iterdir())
    return load_record(run / "record.json"), (run / "record.json").read_text()


def _notes(record: RunRecord) -> tuple[str, ...]:
    return tuple(getattr(record.lineage, "notes", ()))


def _assert_image_facts(record: RunRecord) -> None:
    """OS and system packages come from the image's files whatever happened to the Python probe."""
    assert getattr(record.environment.os, "distribution_id", None) == "debian"
    assert getattr(record.environment.os, "pretty_name", "").startswith("Debian")
    assert record.container is not None
    assert getattr(record.container.system_packages, "manager", None) == "dpkg"
    assert len(getattr(record.container.system_packages, "packages", ())) > 50


def test_a_probe_output_linked_to_a_host_file_is_not_read(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    hostfile = host / "probe.json"  # a valid probe report: this machine's own Python
    subprocess.run([sys.executable, "-c", probe_source(), str(hostfile), "--system"], check=True, timeout=60)
    assert sys.executable in hostfile.read_text()
    root = _project(tmp_path / "proj", f'ln -s {hostfile} "$3"; exit 0')
    done = cli("run", "--image", BASE_IMAGE, "--", "./python3", "-c", "print('ran')", cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert "ran" in done.stdout
    record, text = _record(root)
    reason = getattr(record.environment.python, "reason", "")
    assert (
        reason
        == "environment probe in the image with ./python3 failed: its output probe.json is a symbolic link: ignored"
    )
    assert sys.executable not in text  # the host's interpreter never reaches the record
    _assert_image_facts(record)
    assert leftover_containers() == []


def test_a_probe_output_that_is_a_fifo_does_not_hang_auditor(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = _project(tmp_path / "proj", 'mkfifo "$3"; exit 0')
    started = time.monotonic()
    done = cli("run", "--image", BASE_IMAGE, "--", "./python3", "-c", "print('ran')", cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    record, _ = _record(root)
    reason = getattr(record.environment.python, "reason", "")
    assert reason.endswith("its output probe.json is not a regular file: ignored")
    _assert_image_facts(record)


def test_a_failed_probe_still_records_the_images_os_and_packages(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = _project(tmp_path / "proj", "echo 'probe broke' >&2; exit 3")
    done = cli("run", "--image", BASE_IMAGE, "--", "./python3", "-c", "print('ran')", cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    record, _ = _record(root)
    assert getattr(record.environment.python, "reason", "") == (
        "environment probe in the image with ./python3 failed: exit 3: probe broke"
    )
    _assert_image_facts(record)


SESSION_ATTACK = """\
import os, auditor
access, events, artifacts = (os.environ[k] for k in ("AUDITOR_ACCESS_DIR", "AUDITOR_EVENTS", "AUDITOR_ARTIFACTS"))
os.symlink({report!r}, os.path.join(access, "evil.json"))
os.mkfifo(os.path.join(access, "fifo.json"))
os.symlink({csv!r}, os.path.join(artifacts, "predictions-1-1.csv"))
auditor.log_predictions(os.path.join(artifacts, "predictions-1-1.csv"), label_column="label",
                        prediction_column="pred", sensitive_columns=["group"], favourable_outcome=1)
auditor.log_metric("real", 1.0)
os.remove(events)
{replace}
print("done", flush=True)
"""


@pytest.mark.parametrize("events_as", ["symlink", "fifo"])
def test_observation_files_that_are_links_or_fifos_are_ignored(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str], events_as: str
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "report.json").write_text(
        json.dumps({"pid": 1, "executable": "x", "prefixes": [], "reads": ["/host-marker-read"], "writes": []})
    )
    (host / "events.jsonl").write_text('{"kind": "metric", "name": "leak", "value": 1, "time": 0}\n')
    (host / "preds.csv").write_text("hostcolumn,label,pred,group\n1,1,1,a\n1,0,1,b\n")
    replace = f"os.symlink({str(host / 'events.jsonl')!r}, events)" if events_as == "symlink" else "os.mkfifo(events)"
    code = SESSION_ATTACK.format(report=str(host / "report.json"), csv=str(host / "preds.csv"), replace=replace)
    root = _project(tmp_path / "proj")
    started = time.monotonic()
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout
    assert time.monotonic() - started < 60
    record, text = _record(root)
    notes = _notes(record)
    assert "access report evil.json is a symbolic link: ignored" in notes
    assert "access report fifo.json is not a regular file: ignored" in notes
    why = "a symbolic link" if events_as == "symlink" else "not a regular file"
    assert f"events file events.jsonl is {why}: ignored" in notes
    assert record.metrics == ()  # neither the host's "leak" nor the lost "real"
    assert "/host-marker-read" not in text and "hostcolumn" not in text
    # The command's own access report (written at exit, a plain file) still counts.
    assert getattr(record.lineage, "observed", None) is not None
    assert getattr(record.lineage.observed, "method", None) == "audit-hook"  # type: ignore[union-attr]


LOG_HOST_PATHS = """\
import os, auditor
auditor.log_dataset("/etc/passwd")
auditor.log_dataset({secret!r})
auditor.log_dataset("data/escape.csv")
auditor.log_dataset("data/in.csv")
os.symlink("/etc/passwd", "outputs/model.txt")
print("logged", flush=True)
"""


def test_logged_paths_outside_the_containers_mounts_are_not_hashed(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.csv").write_text("a host secret\n")
    root = _project(tmp_path / "proj")
    (root / "data" / "escape.csv").symlink_to(host / "secret.csv")  # a link in the project pointing out of it
    (root / "auditor.yaml").write_text(
        "version: 1\nproject: {name: p}\ndatasets:\n  - {id: model, role: output, path: outputs/model.txt}\n"
    )
    code = LOG_HOST_PATHS.format(secret=str(host / "secret.csv"))
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=root, env=engine_env)
    assert done.returncode == 0, done.stderr
    record, text = _record(root)
    notes = _notes(record)
    outside = "logged path outside the container's mounts: ignored"
    for raw in ("/etc/passwd", str(host / "secret.csv"), str(root / "data" / "escape.csv")):
        assert f"auditor.log_dataset({raw!r}): {outside}" in notes
    for secret in (Path("/etc/passwd"), host / "secret.csv"):
        assert hashlib.sha256(secret.read_bytes()).hexdigest() not in text
    datasets = {d.id: d for d in getattr(record.lineage, "datasets", ())}
    assert datasets["logged-4"].path == "data/in.csv"
    assert getattr(datasets["logged-4"].after, "state", None) == "hashed"
    assert getattr(datasets["model"].after, "reason", "") == (
        "cannot hash outputs/model.txt: it is or holds a link outside the container's mounts"
    )


def test_another_uid_gets_a_whole_record_and_working_observation(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    if os.getuid() != 0:
        pytest.skip("giving auditor's folders to another uid needs root")
    root = _project(tmp_path / "proj")
    code = (
        "import os, auditor\nopen('data/in.csv').read()\nauditor.log_metric('accuracy', 0.5)\n"
        "auditor.log_dataset('data/in.csv')\nprint('uid', os.getuid(), os.getgid(), flush=True)\n"
    )
    done = cli(
        "run", "--image", BASE_IMAGE, "--user", "1000:1000", "--", "python3", "-c", code, cwd=root, env=engine_env
    )
    assert done.returncode == 0, done.stderr
    assert "uid 1000 1000" in done.stdout
    record, _ = _record(root)
    python = record.environment.python
    assert getattr(python, "executable", "") == "/usr/bin/python3", python
    _assert_image_facts(record)
    assert [m.value for m in record.metrics] == [0.5]
    observed = getattr(record.lineage, "observed", None)
    assert getattr(observed, "method", None) == "audit-hook"
    assert getattr(observed, "processes", 0) == 1
    assert [(f.path, f.read) for f in getattr(observed, "files", ())] == [("data/in.csv", True)]
    assert _notes(record) == ()
    assert record.container is not None and record.container.config is not None
    assert record.container.config.user == "1000:1000"


def test_a_user_name_is_refused_before_anything_runs(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = _project(tmp_path / "proj")
    done = cli(
        "run", "--image", BASE_IMAGE, "--user", "nobody", "--", "python3", "-c", "print(1)", cwd=root, env=engine_env
    )
    assert done.returncode == 2, done.stderr
    assert "numeric uid:gid" in done.stderr
    assert not (root / ".auditor" / "runs").exists() or not any((root / ".auditor" / "runs").iterdir())
    assert leftover_containers() == []


@pytest.fixture
def plan(docker_host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContainerPlan]:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    client, engine = connect()
    root = _project(tmp_path / "proj", "sleep 60")  # a probe that hangs
    yield ContainerPlan(
        client=client,
        engine=engine,
        image=resolve_image(client, BASE_IMAGE),
        settings=ContainerSettings(image=BASE_IMAGE, user=f"{os.getuid()}:{os.getgid()}"),
        project=root,
    )
    client.close()


def test_the_probe_wait_ends_and_removes_the_container_once_cancelled(plan: ContainerPlan) -> None:
    from docker.errors import NotFound

    container = plan.client.containers.create(
        plan.image.id, ["sleep", "60"], labels={"org.auditor.managed": "true"}, detach=True
    )
    container.start()
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(_wait, container, cancel, 60)
        time.sleep(1)
        assert not waiting.done()
        cancel.set()
        started = time.monotonic()
        assert waiting.result(timeout=10) == INTERRUPTED
        assert time.monotonic() - started < 2
    with pytest.raises(NotFound):
        plan.client.containers.get(str(container.id))


def test_collect_image_cancelled_mid_probe_says_interrupted(plan: ContainerPlan) -> None:
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        collecting = pool.submit(collect_image, plan, ["./python3", "-c", "pass"], {}, cancel)
        deadline = time.monotonic() + 30
        while not leftover_containers() and time.monotonic() < deadline:  # the probe's container is up
            time.sleep(0.2)
        time.sleep(0.5)
        assert not collecting.done()
        cancel.set()
        started = time.monotonic()
        evidence = collecting.result(timeout=10)
        assert time.monotonic() - started < 2
    assert isinstance(evidence, ImageEvidence)
    for fact in (evidence.python.python, evidence.python.packages, evidence.os, evidence.system_packages):
        assert getattr(fact, "reason", None) == INTERRUPTED_REASON
    assert leftover_containers() == []


def test_collect_image_cancelled_before_it_starts_runs_nothing(plan: ContainerPlan) -> None:
    cancel = threading.Event()
    cancel.set()
    evidence = collect_image(plan, ["./python3", "-c", "pass"], {}, cancel)
    assert getattr(evidence.os, "reason", None) == INTERRUPTED_REASON
    assert leftover_containers() == []
