"""`auditor run` through its real entry point: exit codes, logs, records, secrets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import CliRunner, base_env, git, store_snapshot

PY = sys.executable


def _record(store: Path) -> dict:  # type: ignore[type-arg]
    runs = sorted((store / "runs").iterdir())
    assert len(runs) == 1
    return json.loads((runs[0] / "record.json").read_text())  # type: ignore[no-any-return]


def test_success_is_recorded_and_streamed(cli: CliRunner, git_repo: Path) -> None:
    done = cli(
        "run",
        "--name",
        "smoke",
        "--",
        PY,
        "-c",
        "import sys; print('to stdout'); print('to stderr', file=sys.stderr)",
        cwd=git_repo,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "to stdout\n"  # streamed live, unchanged
    assert "to stderr" in done.stderr
    assert "auditor: run" in done.stderr and "succeeded (exit 0)" in done.stderr
    store = git_repo / ".auditor"
    record = _record(store)
    ident = record["identity"]
    assert ident["status"] == "succeeded" and ident["exit_code"] == 0 and ident["name"] == "smoke"
    assert ident["argv"][0] == PY and ident["project"] == "project"
    run_dir = store / "runs" / ident["run_id"]
    assert (run_dir / "stdout.log").read_text() == "to stdout\n"
    assert (run_dir / "stderr.log").read_text() == "to stderr\n"
    assert record["outputs"]["stdout"]["bytes"] == len("to stdout\n")
    assert record["source"]["state"] == "captured" and not record["source"]["dirty"]
    assert record["environment"]["python"]["executable"]
    assert record["hardware"]["gpus"]["state"] == "none_detected"
    assert record["resources"]["peak_rss_bytes"] > 1_000_000
    assert record["origin"] == {
        "kind": "executed",
        "executor": "local",
        "tool": None,
        "tool_version": None,
        "source_uri": None,
        "source_run_id": None,
        "not_captured": [],
    }


def test_the_commands_exit_code_is_auditors(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("run", "--", PY, "-c", "raise SystemExit(42)", cwd=tmp_path)
    assert done.returncode == 42
    record = _record(tmp_path / ".auditor")
    assert (record["identity"]["status"], record["identity"]["exit_code"]) == ("failed", 42)
    assert record["source"] == {"state": "not_a_repository", "path": str(tmp_path)}


def test_a_run_leaves_no_observation_folder_behind(cli: CliRunner, tmp_path: Path) -> None:
    """The observation folder is removed while the record is committed (see ObservationSession.close_soon),
    and gone once `run` returns, whether the command succeeded or failed."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    for code in (0, 3):
        done = cli("run", "--", PY, "-c", f"raise SystemExit({code})", cwd=tmp_path, env=base_env(TMPDIR=str(temp)))
        assert done.returncode == code, done.stderr
    assert list(temp.iterdir()) == []


def test_killed_by_a_signal(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("run", "--", PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", cwd=tmp_path)
    assert done.returncode == 137
    ident = _record(tmp_path / ".auditor")["identity"]
    assert (ident["status"], ident["exit_code"], ident["signal"]) == ("failed", 137, "SIGKILL")


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("no-such-command-anywhere", 127, "command not found: no-such-command-anywhere"),
        ("./not-executable.sh", 126, "not executable: ./not-executable.sh"),
    ],
)
def test_commands_that_cannot_start_are_recorded(
    cli: CliRunner, tmp_path: Path, command: str, code: int, message: str
) -> None:
    (tmp_path / "not-executable.sh").write_text("echo hi\n")
    done = cli("run", "--", command, cwd=tmp_path)
    assert done.returncode == code
    record = _record(tmp_path / ".auditor")
    assert record["identity"]["exit_code"] == code and record["identity"]["error"] == message
    log = (tmp_path / ".auditor" / "runs" / record["identity"]["run_id"] / "stderr.log").read_text()
    assert message in log


def test_store_option_and_environment_variable(cli: CliRunner, tmp_path: Path) -> None:
    cli("run", "--store", str(tmp_path / "a"), "--", "true", cwd=tmp_path)
    cli("run", "--", "true", cwd=tmp_path, env=base_env(AUDITOR_STORE=str(tmp_path / "b")))
    assert len(list((tmp_path / "a" / "runs").iterdir())) == 1
    assert len(list((tmp_path / "b" / "runs").iterdir())) == 1
    assert not (tmp_path / ".auditor").exists()


def test_unwritable_store_fails_before_running(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    marker = tmp_path / "ran"
    done = cli("run", "--store", str(tmp_path / "blocker" / "store"), "--", "touch", str(marker), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("auditor: error: ") and "cannot create the run store" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_options_after_the_command_belong_to_the_command(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("run", "--", PY, "-c", "import sys; print(sys.argv[1:])", "--name", "x", cwd=tmp_path)
    assert done.stdout.strip() == "['--name', 'x']"
    assert _record(tmp_path / ".auditor")["identity"]["name"] is None


def test_seeded_secrets_reach_no_file(cli: CliRunner, git_repo: Path) -> None:
    secrets = {
        "GITHUB_TOKEN": "ghp_" + "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t",
        "DB_PASSWORD": "correct-horse-battery-staple",
        "SERVICE_CONFIG": "opaque-credential-9f8e7d6c5b4a",  # no secret-looking name, not allow-listed
        "AWS_ACCESS_KEY_ID": "AKIA" + "Z7Y6X5W4V3U2T1S0",
    }
    remote_password = "remote-pa55-word-1234"
    git(git_repo, "remote", "add", "origin", f"https://bot:{remote_password}@git.example.invalid/model.git")
    env = base_env(**secrets, PYTHONPATH=f"/opt/lib:https://user:{remote_password}x@mirror.invalid/")
    script = (
        "import os, sys\n"
        "for k in ('GITHUB_TOKEN', 'DB_PASSWORD', 'SERVICE_CONFIG', 'AWS_ACCESS_KEY_ID'):\n"
        "    print(k, os.environ[k]); print(k, os.environ[k], file=sys.stderr)\n"
        "print('argv', sys.argv[1])\n"
    )
    done = cli("run", "--", PY, "-c", script, f"--token={secrets['GITHUB_TOKEN']}", cwd=git_repo, env=env)
    assert done.returncode == 0, done.stderr
    assert secrets["DB_PASSWORD"] in done.stdout  # the live terminal is the user's own
    store = git_repo / ".auditor"
    written = store_snapshot(store)
    assert any(name.endswith("stdout.log") for name in written)
    for name, content in written.items():
        for secret in [*secrets.values(), remote_password]:
            assert secret.encode() not in content, f"{secret!r} leaked into {name}"
    record = _record(store)
    variables = {v["name"]: v for v in record["environment"]["variables"]}
    assert all(variables[n]["disposition"] == "fingerprinted" for n in secrets)
    assert variables["PYTHONPATH"]["disposition"] == "masked"
    assert record["source"]["remote_url"] == "https://git.example.invalid/model.git"
    assert record["outputs"]["stdout"]["redactions"] >= 5


def test_invalid_utf8_output_is_kept_byte_for_byte(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("run", "--", PY, "-c", "import sys; sys.stdout.buffer.write(b'\\xff\\xfe ok\\n')", cwd=tmp_path)
    assert done.returncode == 0
    run_dir = next((tmp_path / ".auditor" / "runs").iterdir())
    assert (run_dir / "stdout.log").read_bytes() == b"\xff\xfe ok\n"
