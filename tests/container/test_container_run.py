"""`auditor run --image`: a real command in a real container, and what its record proves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from auditor.record import load_record
from tests.conftest import AUDITOR, CliRunner
from tests.container.conftest import BASE_IMAGE, NOPYTHON_IMAGE, leftover_containers, podman

TRAIN = """\
import os, auditor
rows = open("data/in.csv").read()
noise = float(open("noise.txt").read()) if os.path.exists("noise.txt") else 0.0
os.makedirs("outputs", exist_ok=True)
accuracy = 0.75 + noise
open("outputs/model.txt", "w").write(rows.upper())
open("outputs/metrics.json", "w").write('{"accuracy": %r}' % accuracy)
auditor.log_metric("accuracy", accuracy)
print("trained", flush=True)
"""

SPEC = """\
version: 1
project: {name: tiny}
datasets:
  - {id: table, role: input, path: data/in.csv}
  - {id: model, role: output, path: outputs/model.txt}
  - {id: scores, role: output, path: outputs/metrics.json}
"""


def make_project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "data" / "in.csv").write_text("a,b\n1,2\n")
    (root / "train.py").write_text(TRAIN)
    (root / "auditor.yaml").write_text(SPEC)
    return root


def records(root: Path) -> list[dict[str, object]]:
    runs = root / ".auditor" / "runs"
    return [json.loads((p / "record.json").read_text()) for p in sorted(runs.iterdir())] if runs.exists() else []


def test_container_run_records_the_image_and_the_environment_inside_it(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    root = make_project(tmp_path / "proj")
    done = cli(
        "run",
        "--image",
        BASE_IMAGE,
        "--memory",
        "256m",
        "--cpus",
        "1",
        "--",
        "python3",
        "train.py",
        cwd=root,
        env=engine_env,
    )
    assert done.returncode == 0, done.stderr
    assert "trained" in done.stdout
    record = load_record(next((root / ".auditor" / "runs").iterdir()) / "record.json")
    inspect = json.loads(podman("image", "inspect", BASE_IMAGE))[0]
    c = record.container
    assert c is not None and record.origin.executor == "container"
    assert c.image_ref == BASE_IMAGE
    assert c.image_id == "sha256:" + inspect["Id"].removeprefix("sha256:")
    assert c.repo_digests and set(c.repo_digests) == set(inspect["RepoDigests"])
    assert c.engine == "Podman" and c.engine_version
    assert c.config is not None
    assert c.config.network == "none" and c.config.memory_bytes == 256 * 2**20 and c.config.cpus == 1
    mounts = {m.source: m.read_only for m in c.config.mounts}
    assert mounts[str(root)] is True and mounts[str(root / "outputs")] is False
    # The environment is the image's, not this machine's: Debian's own Python 3.11.2 at /usr/bin.
    python = record.environment.python
    assert not isinstance(python, type(None)) and getattr(python, "executable", "") == "/usr/bin/python3"
    assert getattr(python, "version", "") != ".".join(map(str, os.sys.version_info[:3]))  # type: ignore[attr-defined]
    os_info = record.environment.os
    assert (
        getattr(os_info, "distribution_id", None) == "debian" and getattr(os_info, "distribution_version", None) == "12"
    )
    packages = c.system_packages
    assert packages is not None and getattr(packages, "manager", None) == "dpkg"
    names = {p.name: p.version for p in getattr(packages, "packages", ())}
    dpkg = podman("run", "--rm", BASE_IMAGE, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n")
    assert names == dict(line.split(" ", 1) for line in dpkg.strip().splitlines())
    # Lineage and observed access work as in local runs.
    lineage = record.lineage
    datasets = {d.id: d for d in getattr(lineage, "datasets", ())}
    assert getattr(datasets["model"].after, "state", None) == "hashed"
    observed = getattr(lineage, "observed", None)
    assert getattr(observed, "method", None) == "audit-hook"
    assert [m.value for m in record.metrics] == [0.75]
    assert leftover_containers() == []


def test_exit_code_and_separate_streams_come_back(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    code = "import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(3)"
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=tmp_path, env=engine_env)
    assert done.returncode == 3
    run = next((tmp_path / ".auditor" / "runs").iterdir())
    assert (run / "stdout.log").read_text() == "to out\n"
    assert (run / "stderr.log").read_text() == "to err\n"
    assert records(tmp_path)[0]["identity"]["status"] == "failed"  # type: ignore[index]


def test_command_not_found_in_the_image_is_recorded_with_127(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    done = cli("run", "--image", BASE_IMAGE, "--", "no-such-command", cwd=tmp_path, env=engine_env)
    assert done.returncode == 127
    [record] = records(tmp_path)
    assert record["identity"]["exit_code"] == 127  # type: ignore[index]
    assert "no-such-command" in record["identity"]["error"]  # type: ignore[index]
    assert leftover_containers() == []


def test_timeout_stops_and_removes_the_container(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    started = time.monotonic()
    done = cli("run", "--image", BASE_IMAGE, "--timeout", "1", "--", "sleep", "60", cwd=tmp_path, env=engine_env)
    assert done.returncode == 124, done.stderr
    assert time.monotonic() - started < 30
    [record] = records(tmp_path)
    assert record["identity"]["status"] == "interrupted"  # type: ignore[index]
    assert record["identity"]["error"] == "timed out after 1 s"  # type: ignore[index]
    assert leftover_containers() == []


def test_ctrl_c_stops_the_container_and_records_an_interrupted_run(tmp_path: Path, engine_env: dict[str, str]) -> None:
    script = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--image", BASE_IMAGE, "--", "python3", "-c", script],
        cwd=tmp_path,
        env=engine_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 130
    [record] = records(tmp_path)
    assert record["identity"]["status"] == "interrupted"  # type: ignore[index]
    assert record["identity"]["error"] == "interrupted by SIGINT"  # type: ignore[index]
    assert leftover_containers() == []


def test_network_is_off_and_the_project_is_read_only(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    (tmp_path / "outputs").mkdir()
    code = (
        "import os, socket\n"
        "print(sorted(os.listdir('/sys/class/net')))\n"
        "try:\n    open('new.txt', 'w')\nexcept OSError as e:\n    print('project:', e.strerror)\n"
        "open('outputs/ok.txt', 'w').write('x')\n"
        "print('store:', os.listdir('.auditor'))\n"
    )
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=tmp_path, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['lo']", "project: Read-only file system", "store: []"]
    assert (tmp_path / "outputs" / "ok.txt").read_text() == "x"


def test_variables_are_redacted_like_local_runs(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    env = {**engine_env, "MY_API_TOKEN": "s3cr3t-value-123"}
    code = "import os; print(os.environ['MY_API_TOKEN'], os.environ['LANG'])"
    done = cli(
        "run",
        "--image",
        BASE_IMAGE,
        "-e",
        "MY_API_TOKEN",
        "-e",
        "LANG=C.UTF-8",
        "--",
        "python3",
        "-c",
        code,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0
    stored = next((tmp_path / ".auditor" / "runs").iterdir())
    assert "s3cr3t-value-123" not in (stored / "record.json").read_text()
    assert "s3cr3t-value-123" not in (stored / "stdout.log").read_text()
    variables = {v["name"]: v for v in records(tmp_path)[0]["container"]["config"]["variables"]}  # type: ignore[index]
    assert variables["MY_API_TOKEN"]["disposition"] == "fingerprinted"
    assert variables["LANG"] == {"name": "LANG", "disposition": "kept", "value": "C.UTF-8", "fingerprint": None}


def test_an_image_without_python_says_so(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    done = cli("run", "--image", NOPYTHON_IMAGE, "--", "/bin/busybox", "echo", "hello", cwd=tmp_path, env=engine_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello\n"
    record = records(tmp_path)[0]
    assert record["environment"]["python"]["reason"].startswith("no Python in image")  # type: ignore[index]
    assert record["environment"]["os"]["distribution_id"] == "alpine"  # type: ignore[index]
    packages = record["container"]["system_packages"]  # type: ignore[index]
    assert packages["manager"] == "apk"
    assert [(p["name"], p["version"]) for p in packages["packages"]] == [
        ("busybox", "1.36.1-r29"),
        ("musl", "1.2.5-r0"),
    ]


@pytest.mark.parametrize(
    ("args", "env_update", "code", "message"),
    [
        (["--image", "localhost/no-such-image:1"], {}, 3, "is not available in the container engine"),
        (["--image", BASE_IMAGE], {"DOCKER_HOST": "unix:///nonexistent/engine.sock"}, 3, "DOCKER_HOST"),
        (["--image", BASE_IMAGE, "--output", "data.csv/out"], {}, 2, "--output data.csv/out: cannot create"),
        (["--image", BASE_IMAGE, "--memory", "lots"], {}, 2, "--memory 'lots'"),
        (["--timeout", "5"], {}, 2, "only for container runs"),
    ],
)
def test_bad_input_is_one_line_and_records_nothing(
    cli: CliRunner,
    tmp_path: Path,
    engine_env: dict[str, str],
    args: list[str],
    env_update: dict[str, str],
    code: int,
    message: str,
) -> None:
    (tmp_path / "data.csv").write_text("x\n")
    done = cli("run", *args, "--", "python3", "-c", "pass", cwd=tmp_path, env={**engine_env, **env_update})
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert records(tmp_path) == []
    assert not any((tmp_path / ".auditor" / "staging").glob("*")) if (tmp_path / ".auditor").exists() else True


def test_every_line_of_a_long_output_is_kept(cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]) -> None:
    code = "import sys\nfor i in range(20000): print('line', i)\nprint('done', file=sys.stderr)"
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=tmp_path, env=engine_env)
    assert done.returncode == 0
    run = next((tmp_path / ".auditor" / "runs").iterdir())
    assert (run / "stdout.log").read_text().splitlines() == [f"line {i}" for i in range(20000)]
    assert done.stdout.splitlines()[-1] == "line 19999" and (run / "stderr.log").read_text() == "done\n"


def test_a_dropped_gpu_request_is_not_a_run_without_gpus(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    done = cli(
        "run", "--image", BASE_IMAGE, "--gpus", "all", "--", "python3", "-c", "pass", cwd=tmp_path, env=engine_env
    )
    assert done.returncode == 125
    assert "ignored --gpus all" in done.stderr
    assert records(tmp_path)[0]["identity"]["status"] == "failed"  # type: ignore[index]
    assert leftover_containers() == []


def test_an_init_message_printed_by_the_command_is_not_trusted(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    fake = "ERROR (catatonit:6): failed to exec pid1: No such file or directory"
    code = f"import sys; print('hi'); sys.stderr.write({fake!r} + '\\n'); sys.exit(1)"
    done = cli("run", "--image", BASE_IMAGE, "--", "python3", "-c", code, cwd=tmp_path, env=engine_env)
    assert done.returncode == 1
    assert records(tmp_path)[0]["identity"]["exit_code"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "spec", "message"),
    [
        (["--output", "../elsewhere"], None, "is not a folder inside the project"),
        (["--output", "outputs", "--store", "outputs/store"], None, "holds the run store"),
        (["--gpus", "lots"], None, "--gpus 'lots': expected all, a count"),
        ([], "version: 1\nproject: {name: x}\nmodels: [{id: m, path: model.pkl}]\n", "outputs at the project root"),
    ],
)
def test_output_folders_and_options_are_checked_first(
    cli: CliRunner, tmp_path: Path, engine_env: dict[str, str], args: list[str], spec: str | None, message: str
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    if spec:
        (project / "auditor.yaml").write_text(spec)
    done = cli("run", "--image", BASE_IMAGE, *args, "--", "python3", "-c", "pass", cwd=project, env=engine_env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "elsewhere").exists()


def test_ctrl_c_while_the_image_is_still_probed_records_the_run_at_once(
    tmp_path: Path, engine_env: dict[str, str]
) -> None:
    wrapper = tmp_path / "python3"  # the probe runs `./python3 -c SOURCE OUT --system`: make that one hang
    wrapper.write_text('#!/bin/sh\nif [ "$1" = "-c" ] && [ "$#" -ge 4 ]; then sleep 60; fi\nexec python3 "$@"\n')
    wrapper.chmod(0o755)
    proc = subprocess.Popen(
        [str(AUDITOR), "run", "--image", BASE_IMAGE, "--", "./python3", "-c", "print('ready', flush=True)"],
        cwd=tmp_path,
        env=engine_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(1)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130  # after the command ended, but before its record was made
    assert time.monotonic() - started < 15
    [record] = records(tmp_path)
    ident = record["identity"]
    assert (ident["status"], ident["exit_code"]) == ("interrupted", 0)  # type: ignore[index]  # the command's own
    assert record["environment"]["python"]["reason"] == "interrupted before the image's environment was collected"  # type: ignore[index]
    assert leftover_containers() == []
